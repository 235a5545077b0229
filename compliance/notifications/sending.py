"""Sending the outbox: claim, check again, send, record.

A row is claimed by a conditional ``UPDATE … WHERE state = 'pending'`` (as
healthchecks' ``sendalerts`` does), so two senders never send it twice. A
learner email is checked again just before it goes: one for a learner who has
since become Compliant, left the scope or been deactivated (or whose
requirement is gone or no longer notifies) is dropped with the reason. A
failed send is retried after 1, 2, 4 and 8 minutes; the fifth failure leaves
the row ``failed``, with its last error, for the admin and the portal log.

Each row's claim is renewed (``claimed_at``) just before it is sent, and only
while the claim is still this sender's, so a sender whose claim was released
as stale skips the row rather than sending it a second time. The sending
tasks' time limits are below ``STALE_CLAIM``. A claim that goes stale counts
as an attempt: the row whose sender keeps dying ends ``failed`` too.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from celery.exceptions import SoftTimeLimitExceeded
from django.core.mail import get_connection
from django.db.models import F
from django.utils import timezone

from compliance.dates import org_today
from compliance.models import Learner, Notification, Requirement
from compliance.notifications.decisions import LEARNER_KINDS
from compliance.notifications.emails import LearnerFacts, digest_message, learner_message
from compliance.rules import learner_statuses
from compliance.statuses import Status

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
#: Minutes to wait after the n-th failed attempt (the fifth is final).
BACKOFF_MINUTES = (1, 2, 4, 8)
#: A claim older than this is taken to belong to a sender that died mid-batch;
#: kept above the sending tasks' hard time limit (``compliance.tasks``).
STALE_CLAIM = dt.timedelta(minutes=15)
STALE_CLAIM_ERROR = "The sender stopped while sending."
SEND_BATCH = 100
ERROR_MAX = 1000

State = Notification.State

DROP_COMPLIANT = "The learner became Compliant before it was sent."
DROP_OUT_OF_SCOPE = "The learner left the requirement's scope before it was sent."
DROP_DEACTIVATED = "The learner was deactivated before it was sent."
DROP_REQUIREMENT_GONE = "The requirement was deleted before it was sent."
DROP_NOTIFY_OFF = "Learner notifications were turned off for the requirement before it was sent."


@dataclass
class SendResult:
    sent: int = 0
    dropped: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: SendResult) -> None:
        self.sent += other.sent
        self.dropped += other.dropped
        self.retrying += other.retrying
        self.failed += other.failed
        self.errors += other.errors


def due_notification_ids(now: dt.datetime | None = None) -> list[int]:
    now = now or timezone.now()
    due = Notification.objects.filter(state=State.PENDING, next_attempt_at__lte=now)
    return list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True))


def release_stale_claims(now: dt.datetime | None = None) -> int:
    """Rows claimed by a sender that never finished go back to pending, or are
    left ``failed`` once their claims used up the attempts. (Such a row may have
    been sent just before the sender died: at least once, then.)"""
    now = now or timezone.now()
    stale = Notification.objects.filter(state=State.SENDING, claimed_at__lt=now - STALE_CLAIM)
    failed = stale.filter(attempts__gte=MAX_ATTEMPTS).update(
        state=State.FAILED, claim_token="", last_error=STALE_CLAIM_ERROR
    )
    return failed + stale.update(state=State.PENDING, claim_token="")


def notifications_send(ids: list[int]) -> SendResult:
    """Send the due pending rows among ``ids``, in batches over one mail connection each."""
    result = SendResult()
    for start in range(0, len(ids), SEND_BATCH):
        result.add(_send_batch(ids[start : start + SEND_BATCH]))
    return result


def send_due_notifications() -> SendResult:
    release_stale_claims()
    return notifications_send(due_notification_ids())


def _claim(ids: list[int]) -> list[Notification]:
    now = timezone.now()
    token = uuid.uuid4().hex
    Notification.objects.filter(pk__in=ids, state=State.PENDING, next_attempt_at__lte=now).update(
        state=State.SENDING, claim_token=token, claimed_at=now, attempts=F("attempts") + 1
    )
    return list(Notification.objects.filter(claim_token=token, state=State.SENDING).order_by("pk"))


def _send_batch(ids: list[int]) -> SendResult:
    result = SendResult()
    rows = _claim(ids)
    if not rows:
        return result
    facts, drops = _check_again([row for row in rows if row.kind in LEARNER_KINDS])
    for row in rows:
        if row.pk in drops:
            _drop(row, drops[row.pk])
            result.dropped += 1
    to_send = [row for row in rows if row.pk not in drops]
    if not to_send:
        return result
    connection = get_connection()
    try:
        connection.open()
    except Exception as error:  # any backend's failure to connect is a failed attempt
        for row in to_send:
            _record_failure(row, error, result)
        return result
    try:
        for row in to_send:
            if not _renew_claim(row):
                continue
            try:
                if row.pk in facts:
                    message = learner_message(row, facts[row.pk], connection)
                else:
                    message = digest_message(row, connection)
                message.send()
            except SoftTimeLimitExceeded:
                raise  # the task is out of time: the row's claim goes stale and is retried
            except Exception as error:  # recorded on the row and retried
                _record_failure(row, error, result)
            else:
                _record_sent(row, message.subject)
                result.sent += 1
    finally:
        _close_quietly(connection)
    return result


def _renew_claim(row: Notification) -> bool:
    """Whether the row is still this sender's to send (its claim renewed now)."""
    renewed = Notification.objects.filter(pk=row.pk, claim_token=row.claim_token, state=State.SENDING).update(
        claimed_at=timezone.now()
    )
    if not renewed:
        logger.warning("notification %s is no longer this sender's claim; not sent", row.pk)
    return bool(renewed)


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except Exception:
        logger.warning("closing the mail connection failed", exc_info=True)


def _check_again(rows: list[Notification]) -> tuple[dict[int, LearnerFacts], dict[int, str]]:
    """The facts each learner email is sent with, or why it is dropped: one
    query for the learners, one for the requirements, and one per requirement."""
    if not rows:
        return {}, {}
    today = org_today()
    learners = Learner.objects.in_bulk({row.learner_id for row in rows})
    requirements = (
        Requirement.objects.select_related("course")
        .prefetch_related("course_history")
        .in_bulk({row.requirement_id for row in rows})
    )
    by_requirement: dict[int, list[Notification]] = defaultdict(list)
    for row in rows:
        by_requirement[row.requirement_id].append(row)
    facts, drops = {}, {}
    for requirement_id, group in by_requirement.items():
        requirement = requirements.get(requirement_id)
        if requirement is None or not requirement.notify_learners:
            drops |= dict.fromkeys(
                (row.pk for row in group), DROP_REQUIREMENT_GONE if requirement is None else DROP_NOTIFY_OFF
            )
            continue
        now = {
            pk: (Status(status), expires_on)
            for pk, status, expires_on in learner_statuses(requirement, today)
            .filter(pk__in=[row.learner_id for row in group])
            .values_list("pk", "status", "expires_on")
        }
        for row in group:
            learner = learners.get(row.learner_id)
            reason = _drop_reason(learner, now.get(row.learner_id))
            if reason:
                drops[row.pk] = reason
            else:
                status, expires_on = now[row.learner_id]
                facts[row.pk] = LearnerFacts(learner, requirement, status, expires_on)
    return facts, drops


def _drop_reason(learner: Learner | None, status_now) -> str:
    if learner is None or not learner.active:
        return DROP_DEACTIVATED
    if status_now is None:
        return DROP_OUT_OF_SCOPE
    if status_now[0] == Status.COMPLIANT:
        return DROP_COMPLIANT
    return ""


def _drop(row: Notification, reason: str) -> None:
    Notification.objects.filter(pk=row.pk, claim_token=row.claim_token).update(
        state=State.DROPPED, drop_reason=reason, claim_token=""
    )


def _record_sent(row: Notification, subject: str) -> None:
    Notification.objects.filter(pk=row.pk, claim_token=row.claim_token).update(
        state=State.SENT, sent_at=timezone.now(), subject=subject[:300], claim_token="", last_error=""
    )


def _record_failure(row: Notification, error: Exception, result: SendResult) -> None:
    """Back to pending after the backoff, or ``failed`` after the last attempt."""
    message = f"{type(error).__name__}: {error}"[:ERROR_MAX]
    result.errors.append(f"{row.recipient}: {message}")
    if row.attempts >= MAX_ATTEMPTS:
        changes = {"state": State.FAILED}
        result.failed += 1
    else:
        wait = dt.timedelta(minutes=BACKOFF_MINUTES[row.attempts - 1])
        changes = {"state": State.PENDING, "next_attempt_at": timezone.now() + wait}
        result.retrying += 1
    Notification.objects.filter(pk=row.pk, claim_token=row.claim_token).update(
        **changes, last_error=message, claim_token=""
    )
    logger.warning("sending notification %s failed (attempt %s): %s", row.pk, row.attempts, message)
