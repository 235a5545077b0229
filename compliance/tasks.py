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
