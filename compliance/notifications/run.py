"""The notification run (notifications.md, "Runs"): decide every email due as
of today, insert them into the outbox (the uniqueness key drops what an
earlier or a concurrent run decided already), then send what is due once the
insert commits. The nightly job and ``send_notifications`` run it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from compliance.dates import org_today
from compliance.models import Notification, Requirement
from compliance.notifications.decisions import enrolled_emails, learner_emails_due
from compliance.notifications.digests import admin_digests_due, digest_requirements, manager_digests_due
from compliance.notifications.sending import due_notification_ids

INSERT_BATCH = 1000


@dataclass
class RunResult:
    today: dt.date
    decided: list[Notification] = field(default_factory=list)
    inserted: int = 0
    due: int = 0


def notifications_decide(*, today: dt.date, dry_run: bool = False) -> list[Notification]:
    """Every email due today that no earlier run decided (unsaved rows)."""
    requirements = list(
        Requirement.objects.filter(notify_learners=True).select_related("course").prefetch_related("course_history")
    )
    decided = []
    for requirement in requirements:
        decided += learner_emails_due(requirement, today=today)
    with_digests = digest_requirements()
    decided += manager_digests_due(with_digests, today=today, dry_run=dry_run)
    decided += admin_digests_due(with_digests, today=today, dry_run=dry_run)
    return decided


def notification_run(*, dry_run: bool = False, send: Callable[[list[int]], None] | None = None) -> RunResult:
    """Decide and insert; then ``send`` (by default: queue the sending tasks)
    the ids of every due pending row once the insert has committed. A dry run
    writes nothing and only reports what it would do."""
    today = org_today()
    result = RunResult(today=today)
    if dry_run:
        result.decided = notifications_decide(today=today, dry_run=True)
        result.due = len(due_notification_ids())
        return result
    with transaction.atomic():
        result.decided = notifications_decide(today=today)
        result.inserted = outbox_insert(result.decided)
    due = due_notification_ids()
    result.due = len(due)
    if due:
        (send or queue_sends)(due)
    return result


def outbox_insert(rows: list[Notification]) -> int:
    """Insert, skipping every row whose key is taken; returns how many are new.

    ``ignore_conflicts`` reports no primary keys, so the rows share one
    ``decided_at`` and the new ones are counted by it (an index lookup)."""
    if not rows:
        return 0
    moment = timezone.now()
    for row in rows:
        row.decided_at = row.next_attempt_at = moment
    Notification.objects.bulk_create(rows, batch_size=INSERT_BATCH, ignore_conflicts=True)
    return Notification.objects.filter(decided_at=moment).count()


def notify_enrolled(*, requirement_id: int, enrollment_ids: list[int]) -> int:
    """The ``enrolled`` emails of an admin's Enroll or Remediate All, decided and
    queued at once; how many were new."""
    requirement = (
        Requirement.objects.select_related("course")
        .prefetch_related("course_history")
        .filter(pk=requirement_id)
        .first()
    )
    if requirement is None:
        return 0
    with transaction.atomic():
        inserted = outbox_insert(enrolled_emails(requirement, enrollment_ids, today=org_today()))
    if inserted:
        queue_sends(due_notification_ids())
    return inserted


def queue_sends(ids: list[int]) -> None:
    """One sending task per batch, queued once the current transaction (if any) commits."""
    from compliance.tasks import SEND_TASK_BATCH, send_notifications_task

    for start in range(0, len(ids), SEND_TASK_BATCH):
        batch = ids[start : start + SEND_TASK_BATCH]
        transaction.on_commit(lambda batch=batch: send_notifications_task.delay(batch), robust=True)
