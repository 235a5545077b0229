"""Celery tasks: thin wrappers that take ids and call a service.

Queue them with ``queue_recompute`` (after the transaction commits), never
from inside a transaction that may still roll back.
"""

import logging

from celery import shared_task
from django.db import transaction

from compliance.recompute import RecomputeAlreadyRunning, recompute

logger = logging.getLogger(__name__)


@shared_task
def recompute_all_task(trigger: str = "beat") -> str:
    """The nightly full run. A second one while the first holds the lock is dropped."""
    try:
        result = recompute(trigger=trigger)
    except RecomputeAlreadyRunning as exc:
        logger.warning("%s", exc)
        return "already running"
    return f"{len(result.requirements)} requirements, {result.changes} changes"


@shared_task
def recompute_requirement_task(requirement_id: int, trigger: str = "event") -> str:
    """One requirement; workers run several of these in parallel. Waits for the
    requirement's lock rather than being dropped, so no update is lost."""
    result = recompute(requirement_ids=[requirement_id], trigger=trigger)
    return f"requirement {requirement_id}: {result.changes} changes"


def queue_recompute(requirement_ids, *, trigger: str) -> None:
    """Queue one task per requirement once the current transaction commits."""
    for requirement_id in sorted(set(requirement_ids)):
        # robust: a broker that is down must not turn a committed change into an
        # error page; the change is saved and the nightly run catches up.
        transaction.on_commit(
            lambda rid=requirement_id: recompute_requirement_task.delay(rid, trigger=trigger), robust=True
        )


# --- Notifications ------------------------------------------------------------------

#: Outbox rows per sending task: one mail connection each.
SEND_TASK_BATCH = 100
#: The sending tasks' hard time limit (seconds), below ``STALE_CLAIM`` so that a
#: claim goes stale only once its sender is gone; the soft limit is 30 s earlier.
SEND_TIME_LIMIT = 10 * 60


@shared_task
def nightly_task(trigger: str = "beat") -> str:
    """The nightly job at ``NOTIFY_HOUR``: the recompute, then the notification run
    (which decides from the rules as of today, so it runs even when the recompute
    was skipped because another one held the lock)."""
    from compliance.notifications.run import notification_run

    recomputed = recompute_all_task(trigger=trigger)
    result = notification_run()
    return f"{recomputed}; {result.inserted} emails decided, {result.due} due"


@shared_task(time_limit=SEND_TIME_LIMIT, soft_time_limit=SEND_TIME_LIMIT - 30)
def send_notifications_task(notification_ids: list[int]) -> str:
    from compliance.notifications.sending import notifications_send

    result = notifications_send(notification_ids)
    return f"{result.sent} sent, {result.dropped} dropped, {result.retrying} to retry, {result.failed} failed"


@shared_task(time_limit=SEND_TIME_LIMIT, soft_time_limit=SEND_TIME_LIMIT - 30)
def send_due_notifications_task() -> str:
    """Every minute: retries that fell due, and rows whose sending task was lost."""
    from compliance.notifications.sending import send_due_notifications

    result = send_due_notifications()
    return f"{result.sent} sent, {result.dropped} dropped, {result.retrying} to retry, {result.failed} failed"


@shared_task
def notify_enrolled_task(requirement_id: int, enrollment_ids: list[int]) -> int:
    from compliance.notifications.run import notify_enrolled

    return notify_enrolled(requirement_id=requirement_id, enrollment_ids=enrollment_ids)
