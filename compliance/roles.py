"""The portal's roles (interfaces.md, "Roles"). Both groups are created by a migration."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

ADMINS_GROUP = "Compliance Admins"
AUDITORS_GROUP = "Auditors"


def _group_names(user) -> set[str]:
    if not hasattr(user, "_compliance_group_names"):
        user._compliance_group_names = set(user.groups.values_list("name", flat=True))
    return user._compliance_group_names


def is_compliance_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or ADMINS_GROUP in _group_names(user)


def can_view_portal(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Admins and auditors see every page; anyone else signed in gets 403."""
    return is_compliance_admin(user) or (user.is_authenticated and AUDITORS_GROUP in _group_names(user))
