"""The audit log's filter form: a GET form whose choices are what the log holds."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import dateformat

from compliance.audit_log import AuditFilters, FilterOptions

DATE_FORMAT_HELP = "Enter the day as YYYY-MM-DD, e.g. 2026-11-28."
#: How much of a value the user typed an error message repeats.
ECHO_MAX = 60


def _echo(value: str) -> str:
    return value if len(value) <= ECHO_MAX else value[: ECHO_MAX - 1] + "…"


def _day_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label, required=False, input_formats=["%Y-%m-%d"], error_messages={"invalid": DATE_FORMAT_HELP}
    )


class AuditLogFilter(forms.Form):
    """``action``, ``actor``, ``requirement`` (the global log only), ``from`` and ``to`` (org days, inclusive).

    A value that is not among the choices (a stale link, a typo in the URL) is an
    error with a message, not silently ignored: an auditor must never read an
    unfiltered log as a filtered one."""

    action = forms.CharField(required=False)
    actor = forms.CharField(required=False, strip=False)
    requirement = forms.CharField(required=False)

    def __init__(self, data, *, options: FilterOptions):
        super().__init__(data)
        self.options = options
        # "from" is a Python keyword, so these two are added here rather than declared above.
        self.fields["from"] = _day_field("From")
        self.fields["to"] = _day_field("To")
        if options.requirements is None:
            del self.fields["requirement"]

    def clean_action(self) -> str:
        action = self.cleaned_data["action"]
        if action and action not in {code for code, _ in self.options.actions}:
            raise ValidationError(f"No event in this log has the action “{_echo(action)}”. Choose one from the list.")
        return action

    def clean_actor(self) -> str:
        actor = self.cleaned_data["actor"]
        if actor and actor not in set(self.options.actors):
            raise ValidationError(f"No event in this log was made by “{_echo(actor)}”. Choose one from the list.")
        return actor

    def clean_requirement(self) -> int | None:
        value = self.cleaned_data["requirement"].strip()
        if not value:
            return None
        known = {option.id for option in self.options.requirements or []}
        if not (value.isascii() and value.isdigit()) or int(value) not in known:
            raise ValidationError(
                f"There is no requirement “{_echo(value)}” in the audit log, present or deleted. "
                "Choose one from the list."
            )
        return int(value)

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("from"), cleaned.get("to")
        if date_from and date_to and date_from > date_to:
            raise ValidationError(
                f"“From” ({dateformat.format(date_from, 'j M Y')}) is after “To” "
                f"({dateformat.format(date_to, 'j M Y')}): no day is in that range. Swap them or widen the range.",
                code="empty_range",
            )
        return cleaned

    def filters(self) -> AuditFilters | None:
        """The chosen filters, or ``None`` when any value is invalid (the errors say which)."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        return AuditFilters(
            action=data["action"],
            actor=data["actor"],
            requirement_id=data.get("requirement"),
            date_from=data["from"],
            date_to=data["to"],
        )

    def error_list(self) -> list[tuple[str, str, str]]:
        """Every error as ``(field name or "", field label or "", message)``, in the form's order."""
        errors = [("", "", message) for message in self.non_field_errors()]
        for name, form_field in self.fields.items():
            errors += [(name, form_field.label or name.capitalize(), message) for message in self.errors.get(name, [])]
        return errors
