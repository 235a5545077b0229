"""Which learner emails are due (notifications.md, "Kinds"), decided set-based
from the state as of a run: one query per kind and requirement, never one per
learner. The functions return unsaved outbox rows; the run inserts them, and
the outbox's uniqueness key makes a repeated or concurrent run add nothing.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import CharField, Count, Exists, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from compliance.dates import org_timezone
from compliance.models import Enrollment, Notification, NotificationKind, Requirement
from compliance.rules import filter_status, learner_statuses
from compliance.statuses import Status

#: The cycle of a learner who never completed a qualifying course.
NEVER = "never"
#: The kinds sent to a learner about one requirement: "the last email of this requirement".
LEARNER_KINDS = (
    NotificationKind.ENROLLED,
    NotificationKind.EXPIRING_SOON,
    NotificationKind.EXPIRED,
    NotificationKind.REMINDER,
)
#: Reminders go to learners with nothing valid who have not begun.
REMINDED_STATUSES = (Status.NOT_STARTED.value, Status.EXPIRED.value)
#: The once-per-cycle kinds and the status that makes each due.
CYCLE_KINDS = ((NotificationKind.EXPIRING_SOON, Status.EXPIRING_SOON), (NotificationKind.EXPIRED, Status.EXPIRED))


def cycle_of(last_completed_on: dt.date | None) -> str:
    """A certification cycle is named by the latest qualifying completion's day."""
    return last_completed_on.isoformat() if last_completed_on else NEVER


def with_cycle(learners: QuerySet) -> QuerySet:
    """SQL: ``cycle`` as ``cycle_of`` spells it (ISO dates on PostgreSQL and SQLite alike)."""
    return learners.annotate(cycle=Coalesce(Cast("last_completed_on", CharField()), Value(NEVER)))


def learner_emails_due(requirement: Requirement, *, today: dt.date) -> list[Notification]:
    """The Expiring Soon, Expired and reminder emails the requirement's learners
    are due today (none while ``notify_learners`` is off). At most one email
    per learner and run: a learner told they expired today is not reminded too."""
    if not requirement.notify_learners:
        return []
    learners = with_cycle(learner_statuses(requirement, today))
    decided = []
    for kind, status in CYCLE_KINDS:
        decided += _once_per_cycle(requirement, learners, kind, status, today)
    already = {row.learner_id for row in decided}
    decided += [row for row in _reminders(requirement, learners, today) if row.learner_id not in already]
    return decided


def _once_per_cycle(requirement, learners, kind, status, today) -> list[Notification]:
    told = Notification.objects.filter(
        kind=kind, requirement_id=requirement.pk, learner_id=OuterRef("pk"), cycle=OuterRef("cycle")
    )
    rows = filter_status(learners, status).filter(~Exists(told)).values_list("pk", "email", "cycle")
    return [_learner_row(requirement, kind, pk, email, cycle, today) for pk, email, cycle in rows]


def _reminders(requirement: Requirement, learners: QuerySet, today: dt.date) -> list[Notification]:
    """Not Started or Expired learners whose last email of this requirement (sent,
    pending or failed; a dropped one never left) is ``reminder_every_days`` old
    or more, or who had none, and who have had fewer than ``reminder_max``
    reminders in this cycle. The ordinal counts every reminder of the cycle."""
    if requirement.reminder_every_days == 0 or requirement.reminder_max == 0:
        return []
    mine = Notification.objects.filter(requirement_id=requirement.pk, learner_id=OuterRef("pk")).order_by()
    last_email_on = (
        mine.filter(kind__in=LEARNER_KINDS)
        .exclude(state=Notification.State.DROPPED)
        .values("learner_id")
        .annotate(last=Max("decided_on"))
        .values("last")
    )
    reminders_so_far = (
        mine.filter(kind=NotificationKind.REMINDER, cycle=OuterRef("cycle"))
        .values("learner_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    due_before = today - dt.timedelta(days=requirement.reminder_every_days)
    rows = (
        learners.filter(status__in=REMINDED_STATUSES)
        .annotate(last_email_on=Subquery(last_email_on), reminders=Coalesce(Subquery(reminders_so_far), 0))
        .filter(Q(last_email_on__isnull=True) | Q(last_email_on__lte=due_before))
        .filter(reminders__lt=requirement.reminder_max)
        .values_list("pk", "email", "cycle", "reminders")
    )
    return [
        _learner_row(requirement, NotificationKind.REMINDER, pk, email, cycle, today, ordinal=reminders + 1)
        for pk, email, cycle, reminders in rows
    ]


def enrolled_emails(requirement: Requirement, enrollment_ids: list[int], *, today: dt.date) -> list[Notification]:
    """The ``enrolled`` email of each enrollment that is still open in the
    requirement's course, for learners in scope; two queries."""
    if not requirement.notify_learners:
        return []
    enrollment_of = dict(
        Enrollment.objects.filter(
            pk__in=enrollment_ids, course_id=requirement.course_id, completed_at__isnull=True
        ).values_list("learner_id", "pk")
    )
    rows = learner_statuses(requirement, today).filter(pk__in=list(enrollment_of)).values_list("pk", "email")
    return [
        _learner_row(requirement, NotificationKind.ENROLLED, pk, email, f"enrollment-{enrollment_of[pk]}", today)
        for pk, email in rows
    ]


def _learner_row(requirement, kind, learner_id, email, cycle, today, ordinal=0) -> Notification:
    return Notification(
        recipient=email,
        kind=kind,
        requirement_id=requirement.pk,
        requirement_name=requirement.name,
        learner_id=learner_id,
        cycle=cycle,
        ordinal=ordinal,
        decided_at=timezone.now(),
        decided_on=today,
        next_attempt_at=timezone.now(),
    )


def next_run_day(now: dt.datetime | None = None) -> dt.date:
    """The org day of the next nightly run: today until ``NOTIFY_HOUR``, then tomorrow."""
    local = timezone.localtime(now or timezone.now(), org_timezone())
    return local.date() + dt.timedelta(days=1 if local.hour >= settings.NOTIFY_HOUR else 0)


def learners_to_email_now(requirement: Requirement, *, today: dt.date, changes: dict | None = None) -> int:
    """How many learners the run on ``today`` would email if ``notify_learners``
    were on, with the other settings in ``changes`` (as posted) applied ("This
    will email N learners now"); nothing is written. Three queries."""
    proposed = Requirement(
        **{f.attname: getattr(requirement, f.attname) for f in Requirement._meta.concrete_fields},
    )
    for name, value in (changes or {}).items():
        setattr(proposed, name, value)
    proposed.notify_learners = True
    proposed._prefetched_objects_cache = getattr(requirement, "_prefetched_objects_cache", {})
    return len({row.learner_id for row in learner_emails_due(proposed, today=today)})
