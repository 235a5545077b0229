"""The notifications outbox, read-only: what was decided, sent, dropped or
failed, with the last error of a failing send in the list."""

from __future__ import annotations

from django.contrib import admin

from compliance.admin.auditing import ReadOnlyAdmin
from compliance.models import DigestSnapshot, Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["decided_at", "kind", "recipient", "requirement_name", "state", "attempts", "sent_at", "problem"]
    list_filter = ["state", "kind"]
    search_fields = ["recipient", "requirement_name"]
    date_hierarchy = "decided_at"
    show_full_result_count = False

    @admin.display(description="error or drop reason")
    def problem(self, notification: Notification) -> str:
        return notification.last_error or notification.drop_reason or "—"


@admin.register(DigestSnapshot)
class DigestSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["requirement", "week", "counts", "taken_at"]
    list_select_related = ["requirement"]
