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
    ExpressionWrapper,
    F,
    FilteredRelation,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncMonth

from compliance.dates import org_date_of
from compliance.models import Completion, Enrollment, Learner, Membership, Requirement
from compliance.sql import AddDays
from compliance.statuses import VALID_STATUSES, Status

# --- The three pieces ---------------------------------------------------------------


def in_scope(requirement: Requirement) -> Q:
    """The condition on a learner for being in scope (see ``scope_learners``)."""
    condition = Q(active=True)
    if requirement.target_group_id is not None:
        condition &= Q(Exists(Membership.objects.filter(learner=OuterRef("pk"), group_id=requirement.target_group_id)))
    return condition


def scope_learners(requirement: Requirement) -> QuerySet[Learner]:
    """Every active learner (All Learners), or every active member of the target group."""
    return Learner.objects.filter(in_scope(requirement))


@dataclass(frozen=True)
class CourseSwap:
    """A course swapped out of a requirement: its completions before ``swapped_out_at`` count."""

    course_id: int
    swapped_out_at: dt.datetime


def course_swaps(requirement: Requirement) -> list[CourseSwap]:
    """The requirement's swapped-out courses, read from ``requirement.course_history``
    (one small query, or none when prefetched)."""
    return [CourseSwap(past.course_id, past.swapped_out_at) for past in requirement.course_history.all()]


def qualifying_completions(requirement: Requirement, swaps: list[CourseSwap] | None = None) -> QuerySet[Completion]:
    """Completions of the current course (any time) or of a swapped-out course
    made before the moment it was swapped out.

    ``swaps`` defaults to the requirement's own history; a preview of a change
    passes the history the change would make. The usual case stays a plain
    ``course_id = X`` that the completions index answers directly.
    """
    qualifies = Q(course_id=requirement.course_id)
    for swap in course_swaps(requirement) if swaps is None else swaps:
        qualifies |= Q(course_id=swap.course_id, completed_at__lt=swap.swapped_out_at)
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


def status_case(today: dt.date, prefix: str = "") -> Case:
    """The rules table, first match wins, over the annotations of ``with_statuses``
    (named with ``prefix`` when one query holds two sets of facts)."""
    return Case(
        When(**{f"{prefix}warn_on__gt": today}, then=Value(Status.COMPLIANT.value)),
        When(**{f"{prefix}expires_on__gt": today}, then=Value(Status.EXPIRING_SOON.value)),
        When(**{f"{prefix}open_started_at__isnull": False}, then=Value(Status.IN_PROGRESS.value)),
        When(**{f"{prefix}last_completed_on__isnull": False}, then=Value(Status.EXPIRED.value)),
        default=Value(Status.NOT_STARTED.value),
        output_field=CharField(),
    )


def latest_completion_day(requirement: Requirement, swaps: list[CourseSwap] | None = None) -> Subquery:
    """SQL, per learner (``OuterRef("pk")``): C, the day of their latest qualifying completion."""
    latest = (
        qualifying_completions(requirement, swaps)
        .filter(learner_id=OuterRef("pk"))
        .order_by("-completed_on")
        .values("completed_on")[:1]
    )
    return Subquery(latest, output_field=DateField())


def learner_facts(requirement: Requirement, swaps: list[CourseSwap] | None = None) -> QuerySet[Learner]:
    """Every learner in scope with the facts the status is derived from:
    ``last_completed_on`` (C) and the open enrollment in the current course
    (``open_enrolled_at``, ``open_started_at``, ``open_progress``)."""
    return (
        scope_learners(requirement)
        .annotate(
            open_enrollment=FilteredRelation(
                "enrollments",
                condition=Q(enrollments__course_id=requirement.course_id, enrollments__completed_at__isnull=True),
            ),
        )
        .annotate(
            last_completed_on=latest_completion_day(requirement, swaps),
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
    ``warn_on``, ``expires_on`` and ``status``; one SQL query.

    The status is ``status_case``'s table computed from one evaluation of the
    latest-completion subquery per learner (``single_scan_status``), where
    ``status_case`` over the facts would repeat it in each rule it reaches.
    """
    swaps = course_swaps(requirement)
    warn_on, expires_on = expiry_dates(requirement, F("last_completed_on"))
    return (
        learner_facts(requirement, swaps)
        .annotate(warn_on=warn_on, expires_on=expires_on)
        .annotate(status=single_scan_status(requirement, today, swaps))
    )


def band_thresholds(requirement: Requirement, today: dt.date) -> tuple[dt.date, dt.date]:
    """``(valid_after, warned_after)``: a completion day C is still valid today
    when ``C > valid_after`` (``today < expires_on``) and not yet warned about
    when ``C > warned_after`` (``today < warn_on``). Plain dates, so that SQL
    compares a column with a constant (an index range, a known estimate)."""
    valid_after = today - dt.timedelta(days=requirement.valid_days)
    return valid_after, valid_after + dt.timedelta(days=requirement.warning_days)


def latest_completion_band(requirement: Requirement, today: dt.date, swaps: list[CourseSwap]) -> Subquery:
    """SQL, per learner (``OuterRef("pk")``): where their latest qualifying
    completion C stands today: 2 while ``warn_on`` (C + valid - warning) is
    after today, 1 while ``expires_on`` (C + valid) is, else 0; NULL without one.

    The same comparisons as ``status_case``, turned around to compare C with
    dates computed once in Python (C + n > today ⇔ C > today - n)."""
    valid_after, warned_after = band_thresholds(requirement, today)
    band = Case(
        When(completed_on__gt=warned_after, then=Value(2)),
        When(completed_on__gt=valid_after, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    latest = (
        qualifying_completions(requirement, swaps)
        .filter(learner_id=OuterRef("pk"))
        .order_by("-completed_on")
        .annotate(band=band)
        .values("band")[:1]
    )
    return Subquery(latest, output_field=IntegerField())


#: ``status_case``'s table keyed by ``band * 2 + begun``, where ``band`` is
#: ``latest_completion_band`` (-1 without a completion) and ``begun`` is 1 when
#: the open enrollment in the current course has started: first match wins, so
#: a valid band decides before a begun retake, and a begun retake before Expired.
STATUS_BY_KEY = {
    5: Status.COMPLIANT,
    4: Status.COMPLIANT,
    3: Status.EXPIRING_SOON,
    2: Status.EXPIRING_SOON,
    1: Status.IN_PROGRESS,
    -1: Status.IN_PROGRESS,
    0: Status.EXPIRED,
    -2: Status.NOT_STARTED,
}


class StatusOfKey(Func):
    """A "simple" ``CASE key WHEN … END``: SQL evaluates ``key`` once, where a
    searched CASE evaluates its conditions (and their subqueries) one by one."""

    arity = 1
    template = (
        "CASE %(expressions)s "
        + " ".join(f"WHEN {key} THEN '{status.value}'" for key, status in STATUS_BY_KEY.items())
        + " END"
    )
    output_field = CharField()


def single_scan_status(requirement: Requirement, today: dt.date, swaps: list[CourseSwap]) -> StatusOfKey:
    """The status as of ``today`` over ``learner_facts``' annotations, with the
    latest-completion subquery evaluated once per learner."""
    begun = Case(When(open_started_at__isnull=False, then=Value(1)), default=Value(0), output_field=IntegerField())
    band = Coalesce(latest_completion_band(requirement, today, swaps), Value(-1), output_field=IntegerField())
    return StatusOfKey(ExpressionWrapper(band * Value(2) + begun, output_field=IntegerField()))


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

    @property
    def retaking(self) -> bool:
        """Holds a valid certificate and has begun the course again."""
        return self.started and self.status in VALID_STATUSES


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


def status_rows(learners: QuerySet[Learner], today: dt.date, window: slice | None = None):
    """Iterate ``LearnerStatusRow`` for a queryset made by ``learner_statuses``,
    optionally only the ``window`` (a slice: one page) of it."""
    values = learners.annotate(enrolled_on=org_date_of("open_enrolled_at")).values_list(*ROW_FIELDS)
    if window is not None:
        values = values[window]
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


def status_counts_by_requirement(requirements: list[Requirement], today: dt.date) -> dict[int, StatusCounts]:
    """``requirement_status_counts`` of many requirements in one SQL query per
    ``COUNTS_PER_QUERY`` requirements (a ``UNION ALL`` of their aggregates), so
    a page of cards runs the same number of queries for 3 or 30 of them."""
    found: dict[int, dict[str, int]] = {requirement.pk: {} for requirement in requirements}
    for start in range(0, len(requirements), COUNTS_PER_QUERY):
        parts = [
            learner_statuses(requirement, today)
            .order_by()
            .values("status")
            .annotate(n=Count("pk", output_field=IntegerField()), requirement_id=Value(requirement.pk))
            .values_list("requirement_id", "status", "n")
            for requirement in requirements[start : start + COUNTS_PER_QUERY]
        ]
        combined = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        for requirement_id, status, n in combined:
            found[requirement_id][status] = n
    return {pk: StatusCounts({s: counts.get(s.value, 0) for s in Status}) for pk, counts in found.items()}


#: Well below SQLite's limit of 500 terms in one compound SELECT.
COUNTS_PER_QUERY = 100


# --- Monthly completions (the Overview chart) -------------------------------------------


def month_starts(today: dt.date, months: int = 12) -> list[dt.date]:
    """The first days of the ``months`` calendar months ending with today's, oldest first."""
    year, month = today.year, today.month
    starts = []
    for _ in range(months):
        starts.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def completions_in_scope(requirement: Requirement) -> QuerySet[Completion]:
    """Qualifying completions by learners now in scope. All Learners' scope is
    every active learner, so it leaves out the completions of the inactive ones
    (a hash of the few), where testing the scope would hash every learner."""
    completions = qualifying_completions(requirement)
    if requirement.target_group_id is None:
        return completions.exclude(Exists(Learner.objects.filter(pk=OuterRef("learner_id"), active=False)))
    return completions.filter(Exists(scope_learners(requirement).filter(pk=OuterRef("learner_id"))))


def monthly_completions(requirement: Requirement, today: dt.date) -> list[tuple[dt.date, int]]:
    """Qualifying completions (not distinct learners) by learners now in scope,
    per calendar month, for the 12 months ending with the current org month;
    a month without any is 0. One SQL query."""
    months = month_starts(today)
    per_month = dict(
        completions_in_scope(requirement)
        .filter(completed_on__gte=months[0], completed_on__lte=today)
        .annotate(month=TruncMonth("completed_on", output_field=DateField()))
        .order_by()
        .values_list("month")
        .annotate(n=Count("*", output_field=IntegerField()))  # "*": the index answers, no row is read
    )
    return [(month, per_month.get(month, 0)) for month in months]


# --- What a change of settings would do (the Settings preview) --------------------------


@dataclass(frozen=True)
class Transition:
    """``count`` learners would go from ``before`` to ``after``; ``None`` is out of scope."""

    before: Status | None
    after: Status | None
    count: int


def _prefixed_facts(learners: QuerySet, requirement: Requirement, swaps: list[CourseSwap], prefix: str) -> QuerySet:
    """``learner_facts`` and ``with_statuses`` under names starting with ``prefix``,
    so that two versions of a requirement can be compared in one query."""
    open_started_at = Enrollment.objects.filter(
        learner_id=OuterRef("pk"), course_id=requirement.course_id, completed_at__isnull=True
    ).values("started_at")[:1]
    last_completed_on = f"{prefix}last_completed_on"
    learners = learners.annotate(
        **{
            f"{prefix}in_scope": Case(When(in_scope(requirement), then=Value(True)), default=Value(False)),
            last_completed_on: latest_completion_day(requirement, swaps),
            f"{prefix}open_started_at": Subquery(open_started_at),
        }
    )
    warn_on, expires_on = expiry_dates(requirement, F(last_completed_on))
    return learners.annotate(**{f"{prefix}warn_on": warn_on, f"{prefix}expires_on": expires_on})


def status_transitions(
    current: Requirement, proposed: Requirement, proposed_swaps: list[CourseSwap], today: dt.date
) -> list[Transition]:
    """How many learners would move from each status to each other status (or
    into or out of scope) if ``current`` became ``proposed``; learners whose
    status stays are left out. One SQL query over the learners in either scope."""
    learners = Learner.objects.filter(in_scope(current) | in_scope(proposed))
    learners = _prefixed_facts(learners, current, course_swaps(current), "before_")
    learners = _prefixed_facts(learners, proposed, proposed_swaps, "after_")
    rows = (
        learners.annotate(
            before_status=Case(When(before_in_scope=True, then=status_case(today, "before_")), default=Value("")),
            after_status=Case(When(after_in_scope=True, then=status_case(today, "after_")), default=Value("")),
        )
        .order_by()
        .values_list("before_status", "after_status")
        .annotate(n=Count("*", output_field=IntegerField()))  # "*": the index answers, no row is read
    )
    return sorted(
        (
            Transition(Status(before) if before else None, Status(after) if after else None, n)
            for before, after, n in rows
            if before != after
        ),
        key=lambda t: (-t.count, str(t.after), str(t.before)),
    )
