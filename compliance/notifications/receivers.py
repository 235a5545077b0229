"""Hooks into the rest of the app."""

from django.db import transaction
from django.dispatch import receiver

from compliance.signals import enrollments_opened


@receiver(enrollments_opened, dispatch_uid="notifications.enrolled")
def queue_enrolled_emails(sender, *, requirement_id: int, enrollment_ids: list[int], **kwargs) -> None:
    """The signal comes after the enrollments committed; the task is queued once
    any transaction around the receiver commits too (at once when there is none)."""
    from compliance.tasks import notify_enrolled_task

    transaction.on_commit(lambda: notify_enrolled_task.delay(requirement_id, list(enrollment_ids)), robust=True)
