"""Courses, requirement types, enrollments and completions. Enrollments and
completions are added and corrected here, never deleted: they are the evidence."""

from __future__ import annotations

from django.contrib import admin

from compliance.admin.auditing import AuditedAdmin, StatePair
from compliance.admin.forms import CompletionAdminForm, CourseAdminForm, EnrollmentAdminForm
from compliance.models import Completion, Course, Enrollment, EnrollmentSource, RequirementType
from compliance.records import (
    affected_requirement_ids,
    close_enrollments_by_completions,
    completion_correct,
    completion_record,
)


def _course_ids(states: list[StatePair]) -> set[int]:
    return {state["course"] for pair in states for state in pair if state is not None}


@admin.register(Course)
class CourseAdmin(AuditedAdmin):
    form = CourseAdminForm
    list_display = ["code", "title", "url"]
    search_fields = ["code", "title"]
    readonly_fields = ["created_at"]


@admin.register(RequirementType)
class RequirementTypeAdmin(AuditedAdmin):
    list_display = ["name", "colour", "position"]
    search_fields = ["name"]


class OpenEnrollmentFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("closed", "Closed")]

    def queryset(self, request, queryset):
        if self.value() in ("open", "closed"):
            return queryset.filter(completed_at__isnull=self.value() == "open")
        return queryset


@admin.register(Enrollment)
class EnrollmentAdmin(AuditedAdmin):
    form = EnrollmentAdminForm
    list_display = ["learner", "course", "enrolled_at", "started_at", "progress", "completed_at", "source"]
    list_filter = [OpenEnrollmentFilter, "source", "course"]
    search_fields = ["learner__email", "learner__first_name", "learner__last_name", "course__code"]
    autocomplete_fields = ["learner", "course"]
    list_select_related = ["learner", "course"]
    readonly_fields = ["source", "enrolled_by"]
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None):
        return False

    def write(self, request, obj: Enrollment, form, change: bool) -> bool:
        if not change:
            obj.source = EnrollmentSource.ADMIN_ENROLL
            obj.enrolled_by = request.user
        obj.save()
        # As with imports: enrolled before a completion of the course, it is stored closed by it.
        if close_enrollments_by_completions(Enrollment.objects.filter(pk=obj.pk)):
            obj.refresh_from_db()
        return True

    def requirements_to_recompute(self, states: list[StatePair]) -> set[int]:
        return affected_requirement_ids(_course_ids(states))


@admin.register(Completion)
class CompletionAdmin(AuditedAdmin):
    form = CompletionAdminForm
    list_display = ["learner", "course", "completed_at", "completed_on", "source", "recorded_by"]
    list_filter = ["source", "course"]
    search_fields = ["learner__email", "learner__first_name", "learner__last_name", "course__code"]
    autocomplete_fields = ["learner", "course"]
    list_select_related = ["learner", "course", "recorded_by"]
    readonly_fields = ["completed_on", "source", "recorded_by", "created_at"]
    date_hierarchy = "completed_on"
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None):
        return False

    def write(self, request, obj: Completion, form, change: bool) -> bool:
        if change:
            completion_correct(completion=obj)
            return True
        completion, created = completion_record(
            learner=obj.learner,
            course=obj.course,
            completed_at=obj.completed_at,
            source=EnrollmentSource.ADMIN_ENROLL,
            recorded_by=request.user,
        )
        # The admin goes on with ``obj`` (messages, redirect, its own log):
        # make it the row the service wrote.
        for field in Completion._meta.concrete_fields:
            setattr(obj, field.attname, getattr(completion, field.attname))
        obj._state.adding, obj._state.db = False, completion._state.db
        return created

    def requirements_to_recompute(self, states: list[StatePair]) -> set[int]:
        return affected_requirement_ids(_course_ids(states))
