"""The status engine: compliance-rules.md, and nothing else.

Given a requirement and a date (``today``), it builds one SQL query that yields
every learner in scope with their status and the facts behind it, on
PostgreSQL and SQLite alike. Counts and the compliance rate are one more
aggregate over that query. Nothing here reads stored statuses, so the answer is
right as of ``today`` whether or not the recompute has run.

The three pieces later rules plug into are kept apart: ``scope_learners``
(who is measured), ``qualifying_completions`` (what counts) and
``expiry_dates`` (when a completion stops counting).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    Exists,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from compliance.dates import org_date_of
from compliance.models import Completion, Learner, Membership, Requirement
from compliance.sql import AddDays
from compliance.statuses import VALID_STATUSES, Status

# --- The three pieces ---------------------------------------------------------------


def scope_learners(requirement: Requirement) -> QuerySet[Learner]:
    """Every active learner (All Learners), or every active member of the target group."""
    learners = Learner.objects.filter(active=True)
    if requirement.target_group_id is not None:
        learners = learners.filter(
            Exists(Membership.objects.filter(learner=OuterRef("pk"), group_id=requirement.target_group_id))
        )
    return learners


def qualifying_completions(requirement: Requirement) -> QuerySet[Completion]:
    """Completions of the current course (any time) or of a swapped-out course
    made before the moment it was swapped out.

    The swapped-out courses are read from ``requirement.course_history`` (one
    small query, or none when prefetched), so that the usual case is a plain
    ``course_id = X`` that the completions index answers directly.
    """
    qualifies = Q(course_id=requirement.course_id)
    for past in requirement.course_history.all():
        qualifies |= Q(course_id=past.course_id, completed_at__lt=past.swapped_out_at)
    return Completion.objects.filter(qualifies)


def expiry_dates(requirement: Requirement, last_completed_on):
    """``(warn_on, expires_on)`` from the latest qualifying completion's day.

    Works on a date (Python) or an expression (SQL), so the rule exists once.
    """
    if isinstance(last_completed_on, dt.date):
        expires_on = last_completed_on + dt.timedelta(days=requirement.valid_days)
        return expires_on - dt.timedelta(days=requirement.warning_days), expires_on
    return (
        AddDays(last_completed_on, Value(requirement.valid_days - requirement.warning_days)),
        AddDays(last_completed_on, Value(requirement.valid_days)),
    )


# --- The statuses ---------------------------------------------------------------------


def status_case(today: dt.date) -> Case:
    """The rules table, first match wins, over the annotations of ``with_statuses``."""
    return Case(
        When(warn_on__gt=today, then=Value(Status.COMPLIANT.value)),
        When(expires_on__gt=today, then=Value(Status.EXPIRING_SOON.value)),
        When(open_started_at__isnull=False, then=Value(Status.IN_PROGRESS.value)),
        When(last_completed_on__isnull=False, then=Value(Status.EXPIRED.value)),
        default=Value(Status.NOT_STARTED.value),
        output_field=CharField(),
    )


def learner_facts(requirement: Requirement) -> QuerySet[Learner]:
    """Every learner in scope with the facts the status is derived from:
    ``last_completed_on`` (C) and the open enrollment in the current course
    (``open_enrolled_at``, ``open_started_at``, ``open_progress``)."""
    latest_completion_day = (
        qualifying_completions(requirement)
        .filter(learner_id=OuterRef("pk"))
        .order_by("-completed_on")
        .values("completed_on")[:1]
    )
    return (
        scope_learners(requirement)
        .annotate(
            open_enrollment=FilteredRelation(
                "enrollments",
                condition=Q(enrollments__course_id=requirement.course_id, enrollments__completed_at__isnull=True),
            ),
        )
        .annotate(
            last_completed_on=Subquery(latest_completion_day, output_field=DateField()),
            open_enrolled_at=F("open_enrollment__enrolled_at"),
            open_started_at=F("open_enrollment__started_at"),
            open_progress=F("open_enrollment__progress"),
        )
    )


def with_statuses(facts: QuerySet, requirement: Requirement, today: dt.date) -> QuerySet:
    """Add ``warn_on``, ``expires_on`` and ``status`` to any queryset that has
    ``last_completed_on`` and ``open_started_at`` (``learner_facts``, or facts
    stored by the recompute)."""
    warn_on, expires_on = expiry_dates(requirement, F("last_completed_on"))
    return facts.annotate(warn_on=warn_on, expires_on=expires_on).annotate(status=status_case(today))


def learner_statuses(requirement: Requirement, today: dt.date) -> QuerySet[Learner]:
    """Every learner in scope, annotated with the facts (``learner_facts``),
    ``warn_on``, ``expires_on`` and ``status``; one SQL query."""
    return with_statuses(learner_facts(requirement), requirement, today)


def filter_status(learners: QuerySet[Learner], status: Status | str) -> QuerySet[Learner]:
    return learners.filter(status=Status(status).value)


# --- Rows, counts and the rate ----------------------------------------------------------


@dataclass(frozen=True)
class LearnerStatusRow:
    learner_id: int
    email: str
    first_name: str
    last_name: str
    status: Status
    last_completed_on: dt.date | None
    warn_on: dt.date | None
    expires_on: dt.date | None
    days_left: int | None
    enrolled_on: dt.date | None
    started: bool
    progress: int | None


ROW_FIELDS = (
    "pk",
    "email",
    "first_name",
    "last_name",
    "status",
    "last_completed_on",
    "warn_on",
    "expires_on",
    "enrolled_on",
    "open_started_at",
    "open_progress",
)


def status_rows(learners: QuerySet[Learner], today: dt.date):
    """Iterate ``LearnerStatusRow`` for a queryset made by ``learner_statuses``."""
    values = learners.annotate(enrolled_on=org_date_of("open_enrolled_at")).values_list(*ROW_FIELDS)
    for pk, email, first, last, status, completed, warn_on, expires_on, enrolled_on, started_at, progress in values:
        yield LearnerStatusRow(
            learner_id=pk,
            email=email,
            first_name=first,
            last_name=last,
            status=Status(status),
            last_completed_on=completed,
            warn_on=warn_on,
            expires_on=expires_on,
            days_left=(expires_on - today).days if expires_on else None,
            enrolled_on=enrolled_on,
            started=started_at is not None,
            progress=progress,
        )


@dataclass(frozen=True)
class StatusCounts:
    by_status: dict[Status, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def valid(self) -> int:
        return sum(self.by_status[s] for s in VALID_STATUSES)

    @property
    def rate(self) -> int | None:
        """Whole percent, rounded down; ``None`` (shown as "—") with nobody in scope."""
        return compliance_rate(self.valid, self.total)

    def __getitem__(self, status: Status | str) -> int:
        return self.by_status[Status(status)]


def compliance_rate(valid: int, total: int) -> int | None:
    return None if total == 0 else (100 * valid) // total


def count_statuses(learners: QuerySet[Learner]) -> StatusCounts:
    """Counts per status of a queryset made by ``learner_statuses``; one SQL query."""
    found = dict(learners.order_by().values_list("status").annotate(n=Count("pk", output_field=IntegerField())))
    return StatusCounts({status: found.get(status.value, 0) for status in Status})


def requirement_status_counts(requirement: Requirement, today: dt.date) -> StatusCounts:
    return count_statuses(learner_statuses(requirement, today))


def learner_status(requirement: Requirement, learner_id: int, today: dt.date) -> LearnerStatusRow | None:
    """One learner's row, or ``None`` when they are not in scope."""
    return next(status_rows(learner_statuses(requirement, today).filter(pk=learner_id), today), None)
