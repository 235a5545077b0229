"""Portal accounts and their roles (Django users and groups), audited like
everything else: who was made a Compliance Admin or Auditor, and by whom, is
the first thing an auditor asks. Password hashes are never written to the log."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.hashers import is_password_usable
from django.contrib.auth.models import Group, User
from django.db import transaction

from compliance.admin.auditing import AuditedAdmin
from compliance.audit import audit_log
from compliance.roles import ADMINS_GROUP, AUDITORS_GROUP

ROLE_GROUPS = (ADMINS_GROUP, AUDITORS_GROUP)


def _names(manager, field: str = "name") -> list[str]:
    return sorted(getattr(item, field) for item in manager.all())


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class AuditedUserAdmin(AuditedAdmin, UserAdmin):
    audit_prefetch = ("groups", "user_permissions")

    def audit_fields(self) -> list[str]:
        return ["username", "first_name", "last_name", "email", "is_active", "is_staff", "is_superuser"]

    def audit_state(self, obj: User) -> dict:
        return {
            **super().audit_state(obj),
            "groups": _names(obj.groups),
            "user_permissions": _names(obj.user_permissions, "codename"),
        }

    def user_change_password(self, request, id, form_url=""):
        """Audit a password set or removed here (whether it is usable, never the hash)."""
        with transaction.atomic():
            user = self.get_object(request, unquote(id))
            before = user.password if user is not None else None
            response = super().user_change_password(request, id, form_url)
            if user is not None:
                user.refresh_from_db(fields=["password"])
                if user.password != before:
                    audit_log(
                        actor=request.user,
                        action="admin.password",
                        obj=user,
                        before={"usable_password": is_password_usable(before)},
                        after={"usable_password": user.has_usable_password()},
                    )
        return response


@admin.register(Group)
class AuditedGroupAdmin(AuditedAdmin, GroupAdmin):
    """The two role groups, which a migration creates and the portal looks up
    by name, can be neither renamed nor deleted here."""

    audit_prefetch = ("permissions",)

    def audit_state(self, obj: Group) -> dict:
        return {**super().audit_state(obj), "permissions": _names(obj.permissions, "codename")}

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "name"] if obj is not None and obj.name in ROLE_GROUPS else readonly

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.name in ROLE_GROUPS:
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset.exclude(name__in=ROLE_GROUPS))
