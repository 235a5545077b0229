"""The status engine against the plain-Python reference (tests/reference_rules.py),
on random small worlds.

Each example builds a world in the database (inside a savepoint that is rolled
back afterwards) and in plain data, then expects the same statuses, dates and
counts from both. ``HYPOTHESIS_EXAMPLES`` raises the number of examples
(e.g. ``HYPOTHESIS_EXAMPLES=2000`` for a long run).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from compliance.dates import org_date
from compliance.models import Completion, Enrollment, Learner, Membership, RequirementCourseHistory
from compliance.rules import learner_statuses, requirement_status_counts, status_rows
from tests import reference_rules as ref
from tests.factories import CourseFactory, GroupFactory, RequirementFactory

settings.register_profile(
    "rules",
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
SPAN_DAYS = 3 * 365
# UTC times of day, chosen to fall on both sides of midnight in the time zones below.
MINUTES_INTO_UTC_DAY = [0, 60, 12 * 60, 22 * 60 + 30, 23 * 60 + 30]
TIME_ZONES = ["UTC", "Europe/Berlin", "America/New_York"]

# Courses by role: the current one, one that may have been swapped out, one never mapped.
CURRENT, OLD, UNRELATED = "current", "old", "unrelated"


@dataclass(frozen=True)
class LearnerSpec:
    active: bool
    groups: frozenset[int]
    completions: tuple[tuple[str, dt.datetime], ...]
    # (course, enrolled_at, begun, closed, progress)
    enrollments: tuple[tuple[str, dt.datetime, bool, bool, int], ...]


@dataclass(frozen=True)
class WorldSpec:
    time_zone: str
    today: dt.date
    n_groups: int
    target_group: int | None
    valid_days: int
    warning_days: int
    # (course, swapped_out_at): OLD swapped out, or CURRENT swapped out and later back in.
    history: tuple[tuple[str, dt.datetime], ...]
    learners: tuple[LearnerSpec, ...]


def moment(day: int, minutes: int) -> dt.datetime:
    return EPOCH + dt.timedelta(days=day, minutes=minutes)


@st.composite
def worlds(draw) -> WorldSpec:
    time_zone = draw(st.sampled_from(TIME_ZONES))
    today_index = draw(st.integers(0, SPAN_DAYS))
    valid_days = draw(st.integers(1, 400))
    warning_days = draw(st.integers(0, valid_days - 1))
    n_groups = draw(st.integers(1, 2))
    today = EPOCH.date() + dt.timedelta(days=today_index)
    # Completions land on any day, within one validity period of today, or just around
    # the day that puts today on warn_on or expires_on.
    near_boundaries = sorted(
        day
        for day in {
            today_index - age + shift for age in (valid_days, valid_days - warning_days) for shift in (-1, 0, 1)
        }
        if day >= 0
    )
    within_validity = st.integers(0, valid_days + 10).map(lambda age: max(today_index - age, 0))
    completion_day = st.integers(0, today_index) | within_validity
    if near_boundaries:
        completion_day |= st.sampled_from(near_boundaries)
    moments = st.builds(moment, st.integers(0, today_index), st.sampled_from(MINUTES_INTO_UTC_DAY))
    completion = st.tuples(
        st.sampled_from([CURRENT, CURRENT, OLD, UNRELATED]),
        st.builds(moment, completion_day, st.sampled_from(MINUTES_INTO_UTC_DAY)),
    )
    enrollment = st.tuples(
        st.sampled_from([CURRENT, CURRENT, OLD]),
        moments,
        st.booleans(),  # begun
        st.sampled_from([False, False, True]),  # closed
        st.integers(0, 100),
    )
    learner = st.builds(
        LearnerSpec,
        active=st.booleans() | st.just(True),
        groups=st.frozensets(st.integers(0, n_groups - 1)),
        completions=st.lists(completion, max_size=4).map(tuple),
        enrollments=st.lists(enrollment, max_size=3).map(tuple),
    )
    history = draw(
        st.lists(st.tuples(st.sampled_from([OLD, OLD, CURRENT]), moments), max_size=2).map(tuple)
        | st.tuples(st.tuples(st.just(OLD), moments))  # the common case: one swap
    )
    return WorldSpec(
        time_zone=time_zone,
        today=today,
        n_groups=n_groups,
        target_group=draw(st.none() | st.integers(0, n_groups - 1)),
        valid_days=valid_days,
        warning_days=warning_days,
        history=history,
        learners=tuple(draw(st.lists(learner, min_size=2, max_size=10))),
    )


# --- Building the same world twice: in the database and in plain data -----------------


def valid_completions(spec: WorldSpec, learner: LearnerSpec):
    """Drop what the write paths refuse: completions after today, a second one per course and org day."""
    world = ref.World(spec.time_zone)
    seen = set()
    for course, at in learner.completions:
        day = world.org_date(at)
        if day <= spec.today and (course, day) not in seen:
            seen.add((course, day))
            yield course, at


def valid_enrollments(learner: LearnerSpec):
    """At most one open enrollment per course; a closed one ends an hour after it began."""
    open_courses = set()
    for course, enrolled_at, begun, closed, progress in learner.enrollments:
        if not closed and course in open_courses:
            continue
        if not closed:
            open_courses.add(course)
        started_at = enrolled_at + dt.timedelta(minutes=30) if begun or closed else None
        completed_at = enrolled_at + dt.timedelta(hours=1) if closed else None
        yield course, enrolled_at, started_at, completed_at, progress


def build_database(spec: WorldSpec):
    courses = {role: CourseFactory(code=f"P-{role}") for role in (CURRENT, OLD, UNRELATED)}
    groups = [GroupFactory(name=f"Property group {i}") for i in range(spec.n_groups)]
    requirement = RequirementFactory(
        name="Property",
        valid_days=spec.valid_days,
        warning_days=spec.warning_days,
        course=courses[CURRENT],
        target_group=None if spec.target_group is None else groups[spec.target_group],
    )
    RequirementCourseHistory.objects.bulk_create(
        RequirementCourseHistory(
            requirement=requirement, course=courses[role], mapped_at=at - dt.timedelta(days=30), swapped_out_at=at
        )
        for role, at in spec.history
    )
    learners = Learner.objects.bulk_create(
        Learner(email=f"p{i}@example.com", active=learner.active) for i, learner in enumerate(spec.learners)
    )
    Membership.objects.bulk_create(
        Membership(learner=learner, group=groups[g])
        for learner, learner_spec in zip(learners, spec.learners, strict=True)
        for g in learner_spec.groups
    )
    Completion.objects.bulk_create(
        Completion(learner=learner, course=courses[role], completed_at=at, completed_on=org_date(at))
        for learner, learner_spec in zip(learners, spec.learners, strict=True)
        for role, at in valid_completions(spec, learner_spec)
    )
    Enrollment.objects.bulk_create(
        Enrollment(
            learner=learner,
            course=courses[role],
            enrolled_at=enrolled_at,
            started_at=started_at,
            completed_at=completed_at,
            progress=progress,
        )
        for learner, learner_spec in zip(learners, spec.learners, strict=True)
        for role, enrolled_at, started_at, completed_at, progress in valid_enrollments(learner_spec)
    )
    return requirement, courses, groups, learners


def build_reference(spec: WorldSpec, requirement, courses, groups, learners) -> tuple[ref.World, ref.Requirement]:
    world = ref.World(spec.time_zone)
    for learner, learner_spec in zip(learners, spec.learners, strict=True):
        world.learners.append(
            ref.Learner(learner.pk, learner_spec.active, frozenset(groups[g].pk for g in learner_spec.groups))
        )
        world.completions.extend(
            ref.Completion(learner.pk, courses[role].pk, at) for role, at in valid_completions(spec, learner_spec)
        )
        world.enrollments.extend(
            ref.Enrollment(learner.pk, courses[role].pk, enrolled_at, started_at, completed_at, progress)
            for role, enrolled_at, started_at, completed_at, progress in valid_enrollments(learner_spec)
        )
    reference = ref.Requirement(
        valid_days=spec.valid_days,
        warning_days=spec.warning_days,
        course_id=courses[CURRENT].pk,
        target_group_id=requirement.target_group_id,
        swaps=tuple(ref.Swap(courses[role].pk, at) for role, at in spec.history),
    )
    return world, reference


def engine_facts(requirement, today: dt.date) -> dict[int, ref.Facts]:
    return {
        row.learner_id: ref.Facts(
            status=row.status.value,
            last_completed_on=row.last_completed_on,
            warn_on=row.warn_on,
            expires_on=row.expires_on,
            enrolled_on=row.enrolled_on,
            started=row.started,
            days_left=row.days_left,
            progress=row.progress,
        )
        for row in status_rows(learner_statuses(requirement, today), today)
    }


# --- The property ----------------------------------------------------------------------


@pytest.mark.django_db
@settings(settings.get_profile("rules"))
@given(spec=worlds())
def test_engine_agrees_with_the_reference_rules_on_random_worlds(spec: WorldSpec):
    with override_settings(TIME_ZONE=spec.time_zone), transaction.atomic():
        requirement, courses, groups, learners = build_database(spec)
        world, reference = build_reference(spec, requirement, courses, groups, learners)

        expected_rows = ref.report(world, reference, spec.today)
        expected_counts = ref.counts(world, reference, spec.today)
        rows = engine_facts(requirement, spec.today)
        counts = requirement_status_counts(requirement, spec.today)

        transaction.set_rollback(True)

    for status, n in expected_counts.items():
        event(f"{status}: {'some' if n else 'none'}")
    event(f"in scope: {min(len(expected_rows), 5)}{'+' if len(expected_rows) >= 5 else ''}")

    assert rows == expected_rows
    assert {status.value: n for status, n in counts.by_status.items()} == expected_counts
    assert counts.total == len(expected_rows)
    assert counts.rate == ref.compliance_rate(expected_counts)
