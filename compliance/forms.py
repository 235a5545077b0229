"""The portal's forms. Field names are a contract (interfaces.md): ``type``,
``name``, ``description``, ``valid_days``, ``warning_days``, ``course``,
``target_group`` (empty = All Learners)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from compliance.models import REQUIREMENT_NAME_TAKEN, Course, LearnerGroup, Requirement, RequirementType

MAX_VALID_DAYS = 36_500  # a hundred years: anything longer is a typo
MAX_DESCRIPTION = 5_000


class CourseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, course: Course) -> str:
        return course.title


class RequirementForm(forms.Form):
    """Create and Settings: validation next to each field, and the same rules as the model."""

    type = forms.ModelChoiceField(
        queryset=RequirementType.objects.all(),
        empty_label="Choose a type…",
        error_messages={"required": "Choose a type.", "invalid_choice": "Choose one of the listed types."},
    )
    name = forms.CharField(
        max_length=Requirement._meta.get_field("name").max_length,
        error_messages={"required": "Give the requirement a name."},
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=MAX_DESCRIPTION)
    valid_days = forms.IntegerField(
        label="Valid for (days)",
        min_value=1,
        max_value=MAX_VALID_DAYS,
        initial=365,
        error_messages={
            "required": "Say how many days a completion stays valid.",
            "min_value": "Valid for must be at least 1 day.",
            "max_value": f"Valid for can be at most {MAX_VALID_DAYS:,} days.",
            "invalid": "Enter a whole number of days.",
        },
    )
    warning_days = forms.IntegerField(
        label="Warning (days before expiry)",
        min_value=0,
        max_value=MAX_VALID_DAYS,
        initial=30,
        error_messages={
            "required": "Say how many days before expiry the warning starts (0 for none).",
            "min_value": "The warning cannot be negative; use 0 for no warning.",
            "max_value": f"The warning can be at most {MAX_VALID_DAYS:,} days.",
            "invalid": "Enter a whole number of days.",
        },
    )
    course = CourseChoiceField(
        queryset=Course.objects.order_by("title", "code"),
        empty_label="Choose a course…",
        error_messages={
            "required": "Choose the course that fulfils this requirement.",
            "invalid_choice": "Choose one of the listed courses.",
        },
    )
    target_group = forms.ModelChoiceField(
        queryset=LearnerGroup.objects.all(),
        required=False,
        empty_label="All Learners",
        label="Target",
        error_messages={"invalid_choice": "Choose All Learners or one of the listed groups."},
    )

    #: Fields whose change can move learners between statuses: editing them refreshes the preview.
    STATUS_FIELDS = ("valid_days", "warning_days", "course", "target_group")

    def __init__(self, *args, instance: Requirement | None = None, **kwargs):
        self.instance = instance
        if instance is not None and "initial" not in kwargs and not args and "data" not in kwargs:
            kwargs["initial"] = {
                "type": instance.type_id,
                "name": instance.name,
                "description": instance.description,
                "valid_days": instance.valid_days,
                "warning_days": instance.warning_days,
                "course": instance.course_id,
                "target_group": instance.target_group_id,
            }
        super().__init__(*args, **kwargs)
        for name in self.STATUS_FIELDS:
            self.fields[name].widget.attrs["class"] = "affects-status"

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        others = Requirement.objects.filter(name__iexact=name)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise ValidationError(REQUIREMENT_NAME_TAKEN, code="name_taken")
        return name

    def clean(self):
        cleaned = super().clean()
        valid_days, warning_days = cleaned.get("valid_days"), cleaned.get("warning_days")
        if valid_days is not None and warning_days is not None and warning_days >= valid_days:
            self.add_error(
                "warning_days",
                f"The warning must be fewer days than the validity ({valid_days} days): at most {valid_days - 1}.",
            )
        return cleaned

    def settings(self) -> dict:
        """The cleaned values under the service's argument names."""
        return {name: self.cleaned_data[name] for name in self.fields}


class DeleteRequirementForm(forms.Form):
    """The Danger Zone: the admin types the requirement's name to confirm."""

    confirm_name = forms.CharField(label="Type the requirement's name to confirm", strip=False)

    def __init__(self, *args, requirement: Requirement, **kwargs):
        self.requirement = requirement
        super().__init__(*args, **kwargs)

    def clean_confirm_name(self) -> str:
        typed = self.cleaned_data["confirm_name"]
        if typed.strip() != self.requirement.name:
            raise ValidationError("The name you typed does not match this requirement's name.")
        return typed


class DashboardFilter(forms.Form):
    type = forms.ModelChoiceField(queryset=RequirementType.objects.all(), required=False, empty_label="All types")
    q = forms.CharField(required=False, label="Search by name", max_length=200)

    def filters(self) -> dict:
        """Valid filters only: a stale or tampered type id shows every type rather than an error."""
        self.is_valid()
        chosen = self.cleaned_data.get("type")
        return {"type_id": chosen.pk if chosen else None, "name": self.cleaned_data.get("q") or ""}
