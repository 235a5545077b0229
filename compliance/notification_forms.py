"""The Notifications section of a requirement's Settings."""

from __future__ import annotations

from django import forms

from compliance.models import Notification, NotificationKind, Requirement
from compliance.notifications.log import NotificationFilters

MAX_REMINDER_EVERY_DAYS = 365
MAX_REMINDERS = 52


class NotificationSettingsForm(forms.Form):
    notify_learners = forms.BooleanField(label="Email learners", required=False)
    reminder_every_days = forms.IntegerField(
        label="Remind every (days)",
        min_value=0,
        max_value=MAX_REMINDER_EVERY_DAYS,
        help_text="0 means no reminders.",
        error_messages={
            "required": "Say how many days apart reminders go (0 for none).",
            "min_value": "Reminders cannot be a negative number of days apart; use 0 for none.",
            "max_value": f"Reminders can be at most {MAX_REMINDER_EVERY_DAYS} days apart.",
            "invalid": "Enter a whole number of days.",
        },
    )
    reminder_max = forms.IntegerField(
        label="Reminders per cycle",
        min_value=0,
        max_value=MAX_REMINDERS,
        error_messages={
            "required": "Say how many reminders a learner may get per cycle.",
            "min_value": "The number of reminders cannot be negative.",
            "max_value": f"At most {MAX_REMINDERS} reminders per cycle.",
            "invalid": "Enter a whole number.",
        },
    )
    digests = forms.BooleanField(label="Include in the weekly digests", required=False)

    @classmethod
    def for_requirement(cls, requirement: Requirement) -> NotificationSettingsForm:
        return cls(initial={name: getattr(requirement, name) for name in cls.base_fields})

    def settings(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.fields}


class NotificationLogFilter(forms.Form):
    """The log's filters; an invalid one is shown with its message and no rows."""

    state = forms.ChoiceField(
        required=False,
        choices=[("", "Any state"), *Notification.State.choices],
        error_messages={"invalid_choice": "Choose one of the listed states."},
    )
    kind = forms.ChoiceField(
        required=False,
        choices=[("", "Any kind"), *NotificationKind.choices],
        error_messages={"invalid_choice": "Choose one of the listed kinds."},
    )
    recipient = forms.CharField(required=False, max_length=254, label="Recipient contains")
    requirement = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": "Choose one of the listed requirements."},
    )

    def __init__(self, data, *, requirements: list[tuple[int, str]] | None):
        super().__init__(data)
        if requirements is None:
            del self.fields["requirement"]
        else:
            self.fields["requirement"].choices = [
                ("", "All requirements"),
                *((str(pk), name) for pk, name in requirements),
            ]

    def filters(self) -> NotificationFilters | None:
        if not self.is_valid():
            return None
        data = self.cleaned_data
        return NotificationFilters(
            state=data["state"],
            kind=data["kind"],
            requirement_id=data.get("requirement"),
            recipient=" ".join(data["recipient"].split()),
        )

    def error_list(self) -> list[str]:
        return [
            f"{self.fields[name].label or name.title()}: {error}"
            for name, errors in self.errors.items()
            for error in errors
        ]
