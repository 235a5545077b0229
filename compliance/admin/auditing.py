"""The admin's audit trail: every add, change and delete made in the admin is
written to the audit log in the same transaction, with before/after of the
fields it changed, and queues a recompute of the requirements it can affect."""

from __future__ import annotations

from django.contrib import admin
from django.db import models, transaction

from compliance.audit import audit_log, audit_log_many, changed_only, snapshot
from compliance.roles import is_compliance_admin
from compliance.tasks import queue_recompute

RECOMPUTE_TRIGGER = "admin"
ADD, CHANGE, DELETE = "admin.add", "admin.change", "admin.delete"

#: (state before, state after) of one object; ``None`` before an add or after a delete.
StatePair = tuple[dict | None, dict | None]


class ComplianceAdminsMayUse:
    """Members of "Compliance Admins" may use the admin pages of this app's
    models without Django model permissions; a subclass's stricter rule (e.g.
    read-only) still applies, because it overrides these. Users and groups stay
    under Django's own permissions, so the role cannot grant itself more."""

    def _is_compliance_admin(self, request) -> bool:
        return self.model._meta.app_label == "compliance" and is_compliance_admin(request.user)

    def has_module_permission(self, request):
        return self._is_compliance_admin(request) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._is_compliance_admin(request) or super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return self._is_compliance_admin(request) or super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self._is_compliance_admin(request) or super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._is_compliance_admin(request) or super().has_delete_permission(request, obj)


class AuditedAdmin(ComplianceAdminsMayUse, admin.ModelAdmin):
    """A ModelAdmin whose every write is audited (``admin.add``/``admin.change``/
    ``admin.delete``) and followed, after commit, by a recompute of the
    requirements it can affect.

    The state before a change is read from the database in ``save_model`` (before
    the write), and the event is written in ``save_related``, once inlines and
    many-to-many fields are saved too, so one event holds the whole change. The
    admin already wraps the add/change/delete views in a transaction; bulk
    deletes get one here.
    """

    #: Passed to ``prefetch_related`` when snapshotting many objects for a bulk delete.
    audit_prefetch: tuple[str, ...] = ()

    def audit_fields(self) -> list[str]:
        """The audited fields: every concrete field but the id and the automatic timestamps."""
        return [
            f.name
            for f in self.model._meta.concrete_fields
            if not f.primary_key and not getattr(f, "auto_now", False) and not getattr(f, "auto_now_add", False)
        ]

    def audit_state(self, obj: models.Model) -> dict:
        """What the audit log records of ``obj``; extend it for many-to-many fields."""
        return snapshot(obj, self.audit_fields())

    def requirements_to_recompute(self, states: list[StatePair]) -> set[int]:
        """The requirements whose statuses these writes can change (none by default)."""
        return set()

    def write(self, request, obj: models.Model, form, change: bool) -> bool:
        """Save ``obj``; overridden where a service does the write. Returns
        whether anything was written (an add that found its row already there
        writes nothing and is not audited)."""
        obj.save()
        return True

    # --- ModelAdmin hooks ---------------------------------------------------

    def save_model(self, request, obj, form, change):
        form.audit_before = self.audit_state(self.model._default_manager.get(pk=obj.pk)) if change else None
        form.audit_written = self.write(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not getattr(form, "audit_written", True):
            return
        obj = form.instance
        before, after = getattr(form, "audit_before", None), self.audit_state(obj)
        if change:
            changed_before, changed_after = changed_only(before, after)
            if not changed_after:
                return  # a save that changed nothing is not a change
            audit_log(actor=request.user, action=CHANGE, obj=obj, before=changed_before, after=changed_after)
        else:
            audit_log(actor=request.user, action=ADD, obj=obj, after=after)
        self._queue_recompute([(before, after)])

    def delete_model(self, request, obj):
        before = self.audit_state(obj)
        audit_log(actor=request.user, action=DELETE, obj=obj, before=before)
        super().delete_model(request, obj)
        self._queue_recompute([(before, None)])

    def delete_queryset(self, request, queryset):
        with transaction.atomic(using=queryset.db):
            objects = list(queryset.prefetch_related(*self.audit_prefetch))
            states = [(obj, self.audit_state(obj)) for obj in objects]
            audit_log_many(actor=request.user, action=DELETE, entries=[(obj, state, None) for obj, state in states])
            super().delete_queryset(request, queryset)
            self._queue_recompute([(state, None) for _, state in states])

    def _queue_recompute(self, states: list[StatePair]) -> None:
        requirement_ids = self.requirements_to_recompute(states)
        if requirement_ids:
            queue_recompute(requirement_ids, trigger=RECOMPUTE_TRIGGER)


class NoWrites:
    """No add, change or delete, whoever asks."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(NoWrites, ComplianceAdminsMayUse, admin.ModelAdmin):
    """For inspection only: the change view shows the fields read-only, without
    a Save button; a POST answers 403."""


class ReadOnlyInline(NoWrites, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False
