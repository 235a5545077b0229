"""Counts per status read from the recompute's tallies while they are exact.

A status is a function of two facts and of today: the latest qualifying
completion day C and whether the open enrollment in the current course has
begun (``rules.STATUS_BY_KEY``). Facts change only through writes, never
through time, so the recompute stores, per requirement, how many learners in
scope share each (C, begun) (``RequirementTally``), beside the sum of the
facts clock it read before gathering the facts (``TallyStamp``). Database
triggers bump the clock of every source a write touches (migration 0008). A
page then reads the counts of a requirement from its tallies, as of today,
only when the requirement's clock sum still equals its stamp: the facts have
not changed since, so the counts are what the live rules give. Otherwise the
page counts live, as before. A stale count is never shown; a write only makes
the next pages slower until the requirement's recompute (queued after the
write commits, or the nightly run) tallies it again.
"""

from __future__ import annotations

import datetime as dt
import operator
from functools import reduce

from django.db import connection
from django.db.models import BooleanField, Case, DateField, F, FilteredRelation, Q, QuerySet, When
from django.db.models.expressions import RawSQL
from django.utils import timezone

from compliance.models import Enrollment, Learner, LearnerRequirementState, Requirement
from compliance.rules import (
    STATUS_BY_KEY,
    StatusCounts,
    band_thresholds,
    in_scope,
    latest_completion_day,
    learner_statuses,
    status_counts_by_requirement,
    with_statuses,
)
from compliance.statuses import Status

LEARNERS_KEY = "learners"


def _clock_sql(requirement: str, course: str, target_group: str) -> str:
    """SQL: two columns, the version of the requirement's own key (it moves
    whenever its course, target or course history, and so the set of its
    sources, changes) and the clock summed over all its sources (a sum of
    counters that only grow, which moves with any of them while the set is the
    same), given SQL for its id, current course id and target group id. The
    same text serves the recompute (parameters) and the pages (columns)."""
    return (
        "(SELECT COALESCE(MAX(c.version), 0) FROM compliance_factsclock c "
        f"WHERE c.key = 'requirement:' || {requirement}), "
        "(SELECT COALESCE(SUM(c.version), 0) FROM compliance_factsclock c "
        f"WHERE c.key = '{LEARNERS_KEY}' "
        f"OR c.key = 'requirement:' || {requirement} "
        f"OR c.key = 'course:' || {course} "
        f"OR c.key = 'group:' || {target_group} "
        "OR c.key IN (SELECT 'course:' || h.course_id FROM compliance_requirementcoursehistory h "
        f"WHERE h.requirement_id = {requirement}))"
    )


_PAGE_CLOCK = _clock_sql(
    "compliance_requirement.id", "compliance_requirement.course_id", "compliance_requirement.target_group_id"
)


def tally_is_fresh() -> RawSQL:
    """Annotation for a ``Requirement`` queryset: its tallies are exact now."""
    return RawSQL(  # noqa: S611 (constant SQL, no parameters)
        "EXISTS (SELECT 1 FROM compliance_tallystamp s "
        "WHERE s.requirement_id = compliance_requirement.id "
        f"AND (s.requirement_version, s.clock_sum) = ({_PAGE_CLOCK}))",
        [],
        output_field=BooleanField(),
    )


def read_clock(cursor, requirement_id: int) -> tuple[int, int]:
    """The requirement's clock now. The recompute reads it before the facts:
    a write committed in between then shows as a change (a needless live count),
    never the other way round (a stale one)."""
    cursor.execute(
        f"SELECT {_clock_sql('r.id', 'r.course_id', 'r.target_group_id')} "
        "FROM compliance_requirement r WHERE r.id = %s",
        [requirement_id],
    )
    row = cursor.fetchone()
    return (row[0], row[1]) if row else (0, 0)


def store_tally(cursor, requirement_id: int, clock: tuple[int, int], facts_table: str) -> bool:
    """Tally the recompute's facts (``facts_table``: learner_id,
    last_completed_on, open_started_at of every learner in scope) and stamp
    them with ``clock`` (``read_clock``); nothing is written when the stamp is
    already that clock (nothing changed). Whether anything was written."""
    cursor.execute(
        "SELECT requirement_version, clock_sum FROM compliance_tallystamp WHERE requirement_id = %s", [requirement_id]
    )
    stamp = cursor.fetchone()
    if stamp is not None and tuple(stamp) == tuple(clock):
        return False
    cursor.execute("DELETE FROM compliance_requirementtally WHERE requirement_id = %s", [requirement_id])
    cursor.execute(
        "INSERT INTO compliance_requirementtally (requirement_id, last_completed_on, begun, learners) "
        "SELECT %s, f.last_completed_on, CASE WHEN f.open_started_at IS NULL THEN 0 ELSE 1 END, COUNT(*) "
        f"FROM {facts_table} f GROUP BY f.last_completed_on, CASE WHEN f.open_started_at IS NULL THEN 0 ELSE 1 END",
        [requirement_id],
    )
    cursor.execute(
        "INSERT INTO compliance_tallystamp (requirement_id, requirement_version, clock_sum, tallied_at) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (requirement_id) DO UPDATE SET "
        "requirement_version = excluded.requirement_version, clock_sum = excluded.clock_sum, "
        "tallied_at = excluded.tallied_at",
        [requirement_id, *clock, timezone.now()],
    )
    return True


def _band_case(requirements: list[Requirement], today: dt.date) -> tuple[str, list]:
    """SQL for ``rules.latest_completion_band`` over tally rows ``t``, each
    requirement with its own thresholds (the same ``C > today - n`` comparisons)."""
    whens, params = [], []
    for requirement in requirements:
        valid_after, warned_after = band_thresholds(requirement, today)
        whens.append("WHEN t.requirement_id = %s AND t.last_completed_on > %s THEN 2 ")
        whens.append("WHEN t.requirement_id = %s AND t.last_completed_on > %s THEN 1 ")
        params += [requirement.pk, warned_after, requirement.pk, valid_after]
    return "CASE WHEN t.last_completed_on IS NULL THEN -1 " + "".join(whens) + "ELSE 0 END", params


_FRESH = (
    "EXISTS (SELECT 1 FROM compliance_tallystamp s WHERE s.requirement_id = compliance_requirement.id "
    f"AND (s.requirement_version, s.clock_sum) = ({_PAGE_CLOCK}))"
)


def tallied_counts(requirements: list[Requirement], today: dt.date) -> dict[int, StatusCounts]:
    """Counts per status as of ``today`` from the tallies of those of
    ``requirements`` whose tallies are exact when this one SQL query runs (it
    tests the stamps itself, in its own snapshot); the others are left out,
    for the caller to count live."""
    if not requirements:
        return {}
    band, params = _band_case(requirements, today)
    ids = [requirement.pk for requirement in requirements]
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH fresh AS (SELECT compliance_requirement.id FROM compliance_requirement "
            f"WHERE compliance_requirement.id IN ({placeholders}) AND {_FRESH}) "
            f"SELECT t.requirement_id, ({band}) * 2 + t.begun AS status_key, SUM(t.learners) "
            "FROM compliance_requirementtally t WHERE t.requirement_id IN (SELECT id FROM fresh) "
            "GROUP BY t.requirement_id, status_key "
            "UNION ALL SELECT id, NULL, 0 FROM fresh",
            [*ids, *params],
        )
        rows = cursor.fetchall()
    found: dict[int, dict[Status, int]] = {}
    for requirement_id, key, learners in rows:
        counts = found.setdefault(requirement_id, {})
        if key is not None:
            status = STATUS_BY_KEY[key]
            counts[status] = counts.get(status, 0) + int(learners)
    return {pk: StatusCounts({s: counts.get(s, 0) for s in Status}) for pk, counts in found.items()}


def status_counts(requirements: list[Requirement], today: dt.date) -> dict[int, StatusCounts]:
    """Counts per status of each requirement as of ``today``: from its tallies
    when they are exact (a queryset annotated ``tally_fresh=tally_is_fresh()``),
    from the live rules otherwise. One query for the tallied ones, and the live
    rules' queries for the rest."""
    fresh = [requirement for requirement in requirements if getattr(requirement, "tally_fresh", False)]
    counts = tallied_counts(fresh, today)
    live = [requirement for requirement in requirements if requirement.pk not in counts]
    if live:  # stale, or changed since the page read its requirements
        counts |= status_counts_by_requirement(live, today)
    return counts


def tallied_now(requirement: Requirement) -> RawSQL:
    """SQL, independent of the row: the requirement's tallies are exact in this
    statement's snapshot."""
    return RawSQL(  # noqa: S611 (constant SQL, the id as a parameter)
        "EXISTS (SELECT 1 FROM compliance_tallystamp s JOIN compliance_requirement r ON r.id = s.requirement_id "
        "WHERE s.requirement_id = %s AND (s.requirement_version, s.clock_sum) = "
        f"({_clock_sql('r.id', 'r.course_id', 'r.target_group_id')}))",
        [requirement.pk],
        output_field=BooleanField(),
    )


def stored_learner_statuses(requirement: Requirement, today: dt.date) -> QuerySet[Learner]:
    """``rules.learner_statuses`` with the latest qualifying completion day read
    from the recompute's stored state, where the completions would be probed
    per learner. The query itself tests that the stored facts are exact (the
    same recompute wrote them and the tallies) in its own snapshot, and falls
    back to the live facts and scope when they are not: its rows are the live
    rules' rows either way, however the data changed since the page began."""
    tallied = tallied_now(requirement)
    facts = (
        Learner.objects.annotate(
            stored=FilteredRelation(
                "requirement_states", condition=Q(requirement_states__requirement_id=requirement.pk)
            ),
            open_enrollment=FilteredRelation(
                "enrollments",
                condition=Q(enrollments__course_id=requirement.course_id, enrollments__completed_at__isnull=True),
            ),
        )
        .filter(Q(tallied, stored__learner_id__isnull=False) | (~Q(tallied) & in_scope(requirement)))
        .annotate(
            last_completed_on=Case(
                When(tallied, then=F("stored__last_completed_on")),
                default=latest_completion_day(requirement),
                output_field=DateField(),
            ),
            open_enrolled_at=F("open_enrollment__enrolled_at"),
            open_started_at=F("open_enrollment__started_at"),
            open_progress=F("open_enrollment__progress"),
        )
    )
    return with_statuses(facts, requirement, today)


def learner_statuses_for_pages(requirement: Requirement, today: dt.date) -> QuerySet[Learner]:
    """Every learner in scope with their facts and status as of ``today``: from
    the stored state when the requirement (annotated ``tally_fresh``) is
    tallied exactly, by the live rules otherwise. Same annotations either way."""
    if getattr(requirement, "tally_fresh", False):
        return stored_learner_statuses(requirement, today)
    return learner_statuses(requirement, today)


# --- One Report tab from the stored facts -------------------------------------------------


def begun_learner_ids(requirement: Requirement) -> QuerySet[Enrollment]:
    """The learners whose open enrollment in the current course has begun (live:
    enrollments are read, never stored)."""
    return Enrollment.objects.filter(
        course_id=requirement.course_id, completed_at__isnull=True, started_at__isnull=False
    ).values("learner_id")


def _band_condition(band: int, valid_after: dt.date, warned_after: dt.date) -> Q:
    """On a stored state row: its C lies in ``band`` (``rules.latest_completion_band``)."""
    return {
        2: Q(last_completed_on__gt=warned_after),
        1: Q(last_completed_on__gt=valid_after, last_completed_on__lte=warned_after),
        0: Q(last_completed_on__lte=valid_after),
        -1: Q(last_completed_on__isnull=True),
    }[band]


def stored_tab_condition(requirement: Requirement, today: dt.date, status: Status) -> Q:
    """On a stored state row (``LearnerRequirementState``): the learner is in
    the tab ``status`` as of ``today``. Read off ``STATUS_BY_KEY`` band by band:
    the bands where ``status`` holds whether or not the learner has begun, and
    those where it needs a begun (or an unbegun) enrollment, the enrollment
    test written once, at the top, so that PostgreSQL can join from the few
    begun enrollments. C is compared with dates computed in Python, so an index
    on (requirement, C) answers it and the planner estimates it."""
    valid_after, warned_after = band_thresholds(requirement, today)
    bands = {"either": [], "begun": [], "not begun": []}
    for band in (2, 1, 0, -1):
        if_not_begun, if_begun = STATUS_BY_KEY[band * 2] == status, STATUS_BY_KEY[band * 2 + 1] == status
        needs = "either" if if_not_begun and if_begun else "begun" if if_begun else "not begun"
        if if_not_begun or if_begun:
            bands[needs].append(_band_condition(band, valid_after, warned_after))
    begun = Q(learner_id__in=begun_learner_ids(requirement))
    enrollment = {"either": Q(), "begun": begun, "not begun": ~begun}
    return reduce(
        operator.or_,
        (enrollment[needs] & reduce(operator.or_, conditions) for needs, conditions in bands.items() if conditions),
    )


def stored_tab_learner_ids(
    requirement: Requirement, today: dt.date, status: Status, *, others: bool = False
) -> QuerySet[LearnerRequirementState]:
    """The ids of the learners of the tab ``status`` by the stored facts (or,
    with ``others``, of every other learner in the stored scope): exact only
    while the requirement is tallied (``tallied_now``), which the caller tests."""
    rows = LearnerRequirementState.objects.filter(requirement_id=requirement.pk)
    condition = stored_tab_condition(requirement, today, status)
    return (rows.exclude(condition) if others else rows.filter(condition)).order_by().values("learner_id")
