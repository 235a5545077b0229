"""A requirement's notification settings (notifications.md): who is emailed,
how often reminders go, and whether digests include it. Changed under the
row's lock and audited in the same transaction."""

from __future__ import annotations

from django.db import transaction

from compliance.audit import audit_log, changed_only, snapshot
from compliance.models import Requirement

NOTIFICATION_FIELDS = ["notify_learners", "reminder_every_days", "reminder_max", "digests"]


def requirement_notifications_update(*, actor, requirement: Requirement, **changes) -> list[str]:
    """Apply ``changes`` (any of ``NOTIFICATION_FIELDS``); returns the names of the fields that changed."""
    unknown = set(changes) - set(NOTIFICATION_FIELDS)
    if unknown:
        raise TypeError(f"not a notification setting: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        current = Requirement.objects.select_for_update().get(pk=requirement.pk)
        before = snapshot(current, NOTIFICATION_FIELDS)
        for name, value in changes.items():
            setattr(current, name, value)
        before, after = changed_only(before, snapshot(current, NOTIFICATION_FIELDS))
        if after:
            current.save(update_fields=[*after, "updated_at"])
            audit_log(actor=actor, action="requirement.notifications", obj=current, before=before, after=after)
    for name in NOTIFICATION_FIELDS:
        setattr(requirement, name, getattr(current, name))
    return list(after)


def turns_notifications_on(requirement: Requirement, changes: dict) -> bool:
    return bool(changes.get("notify_learners")) and not requirement.notify_learners
