"""Admin forms: every rule the database also enforces is checked here first, so
a bad value is a form error on the field, never a 500 from an IntegrityError."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Value
from django.db.models.functions import Lower
from django.utils import timezone

from compliance.dates import org_date
from compliance.models import Completion, Course, Enrollment, Learner, LearnerGroup


def _taken_case_insensitively(form: forms.ModelForm, field: str, value: str) -> bool:
    """Whether another row has ``value`` by the database's own ``LOWER()``, as its unique constraint does."""
    others = form._meta.model._default_manager.exclude(pk=form.instance.pk)
    return others.alias(key=Lower(field)).filter(key=Lower(Value(value))).exists()


def _not_in_future(value):
    if value is not None and value > timezone.now():
        raise ValidationError("This cannot be later than now.")
    return value


class LearnerAdminForm(forms.ModelForm):
    class Meta:
        model = Learner
        fields = ["email", "first_name", "last_name", "active", "manager_email"]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if _taken_case_insensitively(self, "email", email):
            raise ValidationError("A learner with this email already exists.")
        return email

    def clean_manager_email(self) -> str:
        return self.cleaned_data["manager_email"].strip().lower()


class LearnerGroupAdminForm(forms.ModelForm):
    class Meta:
        model = LearnerGroup
        fields = ["name", "description"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if _taken_case_insensitively(self, "name", name):
            raise ValidationError("A group with this name already exists.")
        return name


class HttpsURLField(forms.URLField):
    """A URL typed without a scheme is taken as https (Django 6's default, without its warning)."""

    def __init__(self, *, assume_scheme: str = "https", **kwargs):
        super().__init__(assume_scheme=assume_scheme, **kwargs)


class CourseAdminForm(forms.ModelForm):
    class Meta:
        model = Course
        fields = ["code", "title", "url"]
        field_classes = {"url": HttpsURLField}

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if _taken_case_insensitively(self, "code", code):
            raise ValidationError("A course with this code already exists.")
        return code


class EnrollmentAdminForm(forms.ModelForm):
    progress = forms.IntegerField(min_value=0, max_value=100, initial=0, help_text="Percent, 0 to 100.")

    class Meta:
        model = Enrollment
        fields = ["learner", "course", "enrolled_at", "started_at", "progress", "completed_at"]

    def clean_enrolled_at(self):
        return _not_in_future(self.cleaned_data["enrolled_at"])

    def clean_started_at(self):
        return _not_in_future(self.cleaned_data["started_at"])

    def clean_completed_at(self):
        return _not_in_future(self.cleaned_data["completed_at"])

    def clean(self):
        cleaned = super().clean()
        learner, course = cleaned.get("learner"), cleaned.get("course")
        if learner and course and "completed_at" in cleaned and cleaned["completed_at"] is None:
            other = Enrollment.objects.filter(learner=learner, course=course, completed_at__isnull=True)
            if other.exclude(pk=self.instance.pk).exists():
                # On the field, so Django's own check of the constraint (with its
                # terse message) is skipped.
                self.add_error(
                    "course",
                    "This learner already has an open enrollment in this course; "
                    "change that one, or close it first by setting its completion time.",
                )
        return cleaned


class CompletionAdminForm(forms.ModelForm):
    class Meta:
        model = Completion
        fields = ["learner", "course", "completed_at"]

    def clean_completed_at(self):
        completed_at = self.cleaned_data["completed_at"]
        if completed_at > timezone.now():
            raise ValidationError("A completion cannot be later than now.")
        return completed_at

    def clean(self):
        cleaned = super().clean()
        learner, course, completed_at = cleaned.get("learner"), cleaned.get("course"), cleaned.get("completed_at")
        if learner and course and completed_at:
            day = org_date(completed_at)
            same_day = Completion.objects.filter(learner=learner, course=course, completed_on=day)
            if same_day.exclude(pk=self.instance.pk).exists():
                self.add_error(
                    "completed_at", f"This learner already has a completion of this course on {day:%Y-%m-%d}."
                )
        return cleaned
