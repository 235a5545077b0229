"""Read-only views: requirements (they change only through the portal, where
each change is previewed and audited), their course history, the recompute's
history and runs, and the audit log itself. (The recompute's per-learner state
has a composite key, which the admin cannot show; the Report shows it.)"""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from compliance.admin.auditing import ReadOnlyAdmin, ReadOnlyInline
from compliance.models import (
    AuditEvent,
    RecomputeRun,
    Requirement,
    RequirementCourseHistory,
    StatusChange,
)


class CourseHistoryInline(ReadOnlyInline):
    model = RequirementCourseHistory
    fields = ["course", "mapped_at", "swapped_out_at"]
    readonly_fields = fields


@admin.register(Requirement)
class RequirementAdmin(ReadOnlyAdmin):
    list_display = ["name", "type", "course", "target", "valid_days", "warning_days", "updated_at"]
    list_filter = ["type"]
    search_fields = ["name", "course__code"]
    list_select_related = ["type", "course", "target_group"]
    inlines = [CourseHistoryInline]

    @admin.display(description="target", ordering="target_group__name")
    def target(self, requirement: Requirement) -> str:
        return requirement.target_label


@admin.register(RequirementCourseHistory)
class RequirementCourseHistoryAdmin(ReadOnlyAdmin):
    list_display = ["requirement", "course", "mapped_at", "swapped_out_at"]
    list_filter = ["requirement"]
    list_select_related = ["requirement", "course"]


@admin.register(StatusChange)
class StatusChangeAdmin(ReadOnlyAdmin):
    list_display = ["learner", "requirement", "from_status", "to_status", "changed_on", "recorded_at"]
    list_filter = ["to_status", "requirement"]
    search_fields = ["learner__email", "learner__first_name", "learner__last_name"]
    list_select_related = ["learner", "requirement"]
    show_full_result_count = False


@admin.register(RecomputeRun)
class RecomputeRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "finished_at", "full", "requirement_id", "trigger", "state", "as_of", "changes"]
    list_filter = ["state", "trigger", "full"]


def _pretty_json(value) -> str:
    if value is None:
        return "—"
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True))


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_label", "action", "object_type", "object_repr"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "object_repr", "=object_id"]
    fields = [
        "at",
        "actor_label",
        "actor_id",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "requirement_id",
        "before_pretty",
        "after_pretty",
    ]
    readonly_fields = ["before_pretty", "after_pretty"]
    show_full_result_count = False

    @admin.display(description="before")
    def before_pretty(self, event: AuditEvent) -> str:
        return _pretty_json(event.before)

    @admin.display(description="after")
    def after_pretty(self, event: AuditEvent) -> str:
        return _pretty_json(event.after)
