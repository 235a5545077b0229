"""The tallies: counts read from the recompute's tallies only while the facts
clock says they are exact, and then equal to the live rules' counts."""

from __future__ import annotations

import datetime as dt
import os
import threading

import pytest
from django.db import connection, transaction
from django.test import override_settings
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from compliance.dates import org_date
from compliance.models import (
    Completion,
    Enrollment,
    FactsClock,
    Learner,
    Membership,
    Requirement,
    RequirementCourseHistory,
    TallyStamp,
)
from compliance.recompute import requirement_recompute
from compliance.rules import learner_statuses, requirement_status_counts, status_rows
from compliance.selectors import in_report_order
from compliance.statuses import Status
from compliance.tallies import learner_statuses_for_pages, status_counts, stored_learner_statuses, tally_is_fresh
from tests.factories import (
    CompletionFactory,
    CourseFactory,
    EnrollmentFactory,
    GroupFactory,
    LearnerFactory,
    MembershipFactory,
    RequirementFactory,
)
from tests.test_rules_property import CURRENT, OLD, UNRELATED, WorldSpec, build_database, worlds

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 1)


def annotated(requirement: Requirement) -> Requirement:
    return Requirement.objects.annotate(tally_fresh=tally_is_fresh()).get(pk=requirement.pk)


def is_fresh(requirement: Requirement) -> bool:
    return annotated(requirement).tally_fresh


def rows_of(learners, today: dt.date) -> list:
    return list(status_rows(in_report_order(learners), today))


def counts_as_pages_read_them(requirement: Requirement, today: dt.date):
    return status_counts([annotated(requirement)], today)[requirement.pk]


@pytest.fixture
def world():
    """A group requirement, two learners in its group and one outside."""
    course, other_course = CourseFactory(), CourseFactory()
    group, other_group = GroupFactory(), GroupFactory()
    requirement = RequirementFactory(course=course, target_group=group, valid_days=365, warning_days=30)
    inside = [LearnerFactory(), LearnerFactory()]
    outside = LearnerFactory()
    for learner in inside:
        MembershipFactory(learner=learner, group=group)
    MembershipFactory(learner=outside, group=other_group)
    CompletionFactory(learner=inside[0], course=course, day=TODAY - dt.timedelta(days=100))
    requirement_recompute(requirement_id=requirement.pk, today=TODAY)
    return {
        "requirement": requirement,
        "course": course,
        "other_course": other_course,
        "group": group,
        "other_group": other_group,
        "inside": inside,
        "outside": outside,
    }


def test_a_recompute_makes_the_tallies_exact(world):
    requirement = world["requirement"]
    assert is_fresh(requirement)
    counts = counts_as_pages_read_them(requirement, TODAY)
    assert counts.by_status == requirement_status_counts(requirement, TODAY).by_status
    assert counts.total == 2


@pytest.mark.parametrize("days_later", [0, 234, 235, 236, 264, 265, 266, 400])
def test_the_tallies_follow_today_without_a_recompute(world, days_later):
    """Days around warn_on (C + 335) and expires_on (C + 365) of the completion of day C = today - 100."""
    requirement = world["requirement"]
    today = TODAY + dt.timedelta(days=days_later)
    assert is_fresh(requirement)
    assert (
        counts_as_pages_read_them(requirement, today).by_status
        == requirement_status_counts(requirement, today).by_status
    )


@pytest.mark.parametrize("days_later", [0, 234, 235, 236, 264, 265, 266, 400])
def test_the_stored_facts_give_the_rows_of_the_live_rules(world, days_later):
    requirement = world["requirement"]
    EnrollmentFactory(
        learner=world["inside"][1], course=world["course"], started_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    )
    requirement_recompute(requirement_id=requirement.pk, today=TODAY)
    today = TODAY + dt.timedelta(days=days_later)
    stored = rows_of(stored_learner_statuses(requirement, today), today)
    assert stored == rows_of(learner_statuses(requirement, today), today)
    assert len(stored) == 2


def test_settings_that_only_move_dates_keep_the_tallies_exact(world):
    requirement = world["requirement"]
    Requirement.objects.filter(pk=requirement.pk).update(valid_days=120, warning_days=40)
    requirement.refresh_from_db()
    assert is_fresh(requirement)
    assert (
        counts_as_pages_read_them(requirement, TODAY).by_status
        == requirement_status_counts(requirement, TODAY).by_status
    )


def _write(world, change: str) -> None:
    learner, other = world["inside"]
    requirement = world["requirement"]
    match change:
        case "completion of the course":
            CompletionFactory(learner=other, course=world["course"], day=TODAY)
        case "completion moved to another day":
            Completion.objects.filter(learner=learner).update(completed_on=TODAY - dt.timedelta(days=3))
        case "enrollment begun":
            EnrollmentFactory(learner=other, course=world["course"], started_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
        case "enrollment started later":
            enrollment = EnrollmentFactory(learner=other, course=world["course"])
            requirement_recompute(requirement_id=requirement.pk, today=TODAY)
            Enrollment.objects.filter(pk=enrollment.pk).update(started_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
        case "begun enrollment closed":
            enrollment = EnrollmentFactory(
                learner=other, course=world["course"], started_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
            )
            requirement_recompute(requirement_id=requirement.pk, today=TODAY)
            Enrollment.objects.filter(pk=enrollment.pk).update(completed_at=dt.datetime(2026, 5, 2, tzinfo=dt.UTC))
        case "begun enrollment deleted":
            enrollment = EnrollmentFactory(
                learner=other, course=world["course"], started_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
            )
            requirement_recompute(requirement_id=requirement.pk, today=TODAY)
            Enrollment.objects.filter(pk=enrollment.pk).delete()
        case "joined the group":
            MembershipFactory(learner=world["outside"], group=world["group"])
        case "left the group":
            Membership.objects.filter(learner=learner, group=world["group"]).delete()
        case "deactivated":
            Learner.objects.filter(pk=learner.pk).update(active=False)
        case "new learner":
            LearnerFactory()
        case "course swapped":
            Requirement.objects.filter(pk=requirement.pk).update(course=world["other_course"])
        case "course history written":
            RequirementCourseHistory.objects.create(
                requirement=requirement,
                course=world["other_course"],
                mapped_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
                swapped_out_at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC),
            )
        case "target changed":
            Requirement.objects.filter(pk=requirement.pk).update(target_group=world["other_group"])
        case "learner deleted":
            Learner.objects.filter(pk=other.pk).delete()
        case "membership moved to another group":
            Membership.objects.filter(learner=learner, group=world["group"]).update(group=world["other_group"])
        case "course history moved":
            history = RequirementCourseHistory.objects.create(
                requirement=requirement,
                course=world["other_course"],
                mapped_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
                swapped_out_at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC),
            )
            requirement_recompute(requirement_id=requirement.pk, today=TODAY)
            RequirementCourseHistory.objects.filter(pk=history.pk).update(
                swapped_out_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
            )
        case "completion moved in time":
            Completion.objects.filter(learner=learner).update(completed_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        case "begun enrollment moved to another course":
            enrollment = EnrollmentFactory(
                learner=other, course=world["course"], started_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
            )
            requirement_recompute(requirement_id=requirement.pk, today=TODAY)
            Enrollment.objects.filter(pk=enrollment.pk).update(course=world["other_course"])
        case "many rows updated at once":
            CompletionFactory(learner=other, course=world["course"], day=TODAY - dt.timedelta(days=400))
            requirement_recompute(requirement_id=requirement.pk, today=TODAY)
            Completion.objects.filter(course=world["course"]).update(completed_on=TODAY - dt.timedelta(days=2))
        case "raw SQL completion":
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO compliance_completion (learner_id, course_id, completed_at, completed_on, source, "
                    "created_at) VALUES (%s, %s, %s, %s, 'import', %s)",
                    [
                        other.pk,
                        world["course"].pk,
                        dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC),
                        dt.date(2026, 5, 1),
                        dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC),
                    ],
                )
        case _:
            raise AssertionError(change)


@pytest.mark.parametrize(
    "change",
    [
        "completion of the course",
        "completion moved to another day",
        "enrollment begun",
        "enrollment started later",
        "begun enrollment closed",
        "begun enrollment deleted",
        "joined the group",
        "left the group",
        "deactivated",
        "new learner",
        "course swapped",
        "course history written",
        "target changed",
        "learner deleted",
        "membership moved to another group",
        "course history moved",
        "completion moved in time",
        "begun enrollment moved to another course",
        "many rows updated at once",
        "raw SQL completion",
    ],
)
def test_a_write_that_can_change_a_status_makes_the_pages_count_live(world, change):
    requirement = world["requirement"]
    assert is_fresh(requirement)
    _write(world, change)
    requirement.refresh_from_db()
    assert not is_fresh(requirement)
    assert (
        counts_as_pages_read_them(requirement, TODAY).by_status
        == requirement_status_counts(requirement, TODAY).by_status
    )
    requirement_recompute(requirement_id=requirement.pk, today=TODAY)
    assert is_fresh(requirement)
    assert (
        counts_as_pages_read_them(requirement, TODAY).by_status
        == requirement_status_counts(requirement, TODAY).by_status
    )


def _harmless(world, change: str) -> None:
    learner, other = world["inside"]
    match change:
        case "another course completed":
            CompletionFactory(learner=learner, course=world["other_course"], day=TODAY)
        case "enrolled, not begun":
            EnrollmentFactory(learner=other, course=world["course"])
        case "progress of a begun enrollment":
            enrollment = EnrollmentFactory(
                learner=other, course=world["other_course"], started_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
            )
            Enrollment.objects.filter(pk=enrollment.pk).update(progress=50)
        case "renamed":
            Learner.objects.filter(pk=learner.pk).update(first_name="Renamed")
        case "another group's member":
            MembershipFactory(learner=learner, group=world["other_group"])
        case _:
            raise AssertionError(change)


@pytest.mark.parametrize(
    "change",
    [
        "another course completed",
        "enrolled, not begun",
        "progress of a begun enrollment",
        "renamed",
        "another group's member",
    ],
)
def test_a_write_that_cannot_change_a_status_keeps_the_tallies(world, change):
    requirement = world["requirement"]
    _harmless(world, change)
    assert is_fresh(requirement)
    assert (
        counts_as_pages_read_them(requirement, TODAY).by_status
        == requirement_status_counts(requirement, TODAY).by_status
    )


def test_a_write_after_the_page_found_the_tallies_exact_is_still_seen(world):
    """The page reads its requirement (fresh), then a write commits, then the page
    counts and reads its rows: both queries test the stamps again themselves."""
    requirement = annotated(world["requirement"])
    assert requirement.tally_fresh
    CompletionFactory(learner=world["inside"][1], course=world["course"], day=TODAY)
    live_counts = requirement_status_counts(requirement, TODAY).by_status
    assert status_counts([requirement], TODAY)[requirement.pk].by_status == live_counts
    assert rows_of(learner_statuses_for_pages(requirement, TODAY), TODAY) == rows_of(
        learner_statuses(requirement, TODAY), TODAY
    )
    assert live_counts[Status.COMPLIANT] == 2


def test_a_recompute_with_nothing_changed_writes_no_tally(world):
    requirement = world["requirement"]
    stamped = TallyStamp.objects.get(requirement=requirement)
    requirement_recompute(requirement_id=requirement.pk, today=TODAY + dt.timedelta(days=5))
    assert TallyStamp.objects.get(requirement=requirement).tallied_at == stamped.tallied_at


def test_a_new_requirement_counts_live_until_its_first_recompute():
    requirement = RequirementFactory()
    LearnerFactory()
    assert not is_fresh(requirement)
    requirement_recompute(requirement_id=requirement.pk, today=TODAY)
    assert is_fresh(requirement)
    assert counts_as_pages_read_them(requirement, TODAY).total == 1


def test_the_clock_is_kept_by_the_database_not_by_the_code(world):
    before = dict(FactsClock.objects.values_list("key", "version"))
    CompletionFactory(learner=world["inside"][1], course=world["course"], day=TODAY)
    after = dict(FactsClock.objects.values_list("key", "version"))
    key = f"course:{world['course'].pk}"
    assert after[key] == before.get(key, 0) + 1


# --- The property: whatever was written since the recompute, pages count right ---------

WRITES = [
    "none",
    "completion",
    "unrelated completion",
    "begun enrollment",
    "enrollment",
    "deactivate",
    "membership",
    "swap",
    "settings",
]


def _complete_once(learner, course, at: dt.datetime) -> None:
    """A completion at ``at``, unless the world already has one that day (one a day is the rule)."""
    if not Completion.objects.filter(learner=learner, course=course, completed_on=org_date(at)).exists():
        Completion.objects.create(learner=learner, course=course, completed_at=at, completed_on=org_date(at))


def _random_write(write: str, requirement: Requirement, courses, groups, learners, today: dt.date) -> None:
    learner = learners[0]
    at = dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC)
    match write:
        case "none":
            pass
        case "completion":
            _complete_once(learner, courses[CURRENT], at)
        case "unrelated completion":
            _complete_once(learner, courses[UNRELATED], at)
        case "begun enrollment":
            Enrollment.objects.filter(learner=learner, course=courses[CURRENT], completed_at__isnull=True).delete()
            Enrollment.objects.create(learner=learner, course=courses[CURRENT], enrolled_at=at, started_at=at)
        case "enrollment":  # as Enroll does: only a learner without an open enrollment in the course
            open_ids = Enrollment.objects.filter(course=courses[CURRENT], completed_at__isnull=True).values(
                "learner_id"
            )
            newcomer = Learner.objects.filter(pk__in=[x.pk for x in learners]).exclude(pk__in=open_ids).first()
            if newcomer is not None:
                Enrollment.objects.create(learner=newcomer, course=courses[CURRENT], enrolled_at=at)
        case "deactivate":
            Learner.objects.filter(pk=learner.pk).update(active=not learner.active)
        case "membership":
            Membership.objects.filter(learner=learner).delete() or Membership.objects.create(
                learner=learner, group=groups[0]
            )
        case "swap":
            RequirementCourseHistory.objects.create(
                requirement=requirement, course=courses[CURRENT], mapped_at=at - dt.timedelta(days=1), swapped_out_at=at
            )
            Requirement.objects.filter(pk=requirement.pk).update(course=courses[OLD])
        case "settings":
            Requirement.objects.filter(pk=requirement.pk).update(valid_days=requirement.valid_days + 1, warning_days=0)


@pytest.mark.django_db
@settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    spec=worlds(),
    recompute_shift=st.integers(-400, 0),
    write=st.sampled_from(WRITES),
    read_shift=st.integers(0, 500),
)
def test_pages_count_what_the_rules_say_whatever_was_written_since_the_recompute(
    spec: WorldSpec, recompute_shift: int, write: str, read_shift: int
):
    recomputed_on = spec.today + dt.timedelta(days=recompute_shift)
    read_on = recomputed_on + dt.timedelta(days=read_shift)
    with override_settings(TIME_ZONE=spec.time_zone), transaction.atomic():
        requirement, courses, groups, learners = build_database(spec)
        requirement_recompute(requirement_id=requirement.pk, today=recomputed_on)
        _random_write(write, requirement, courses, groups, learners, recomputed_on)
        requirement.refresh_from_db()
        fresh = is_fresh(requirement)
        pages = counts_as_pages_read_them(requirement, read_on).by_status
        live = requirement_status_counts(requirement, read_on).by_status
        page_rows = rows_of(learner_statuses_for_pages(annotated(requirement), read_on), read_on)
        live_rows = rows_of(learner_statuses(requirement, read_on), read_on)
        transaction.set_rollback(True)
    event(f"write: {write}, tallies {'read' if fresh else 'skipped'}")
    assert pages == live
    assert page_rows == live_rows
    if write in ("none", "unrelated completion", "enrollment", "settings"):
        assert fresh, write


# --- PostgreSQL: a write in flight while the recompute gathers the facts ---------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_write_committed_during_a_recompute_is_never_hidden_by_the_tallies():
    """A write in flight (not committed) while the recompute runs: the recompute
    sees neither its completion nor its clock bump, and when it commits the
    clock moves past the stamp, so pages count live."""
    from tests.pg import raw_connection

    course = CourseFactory()
    requirement = RequirementFactory(course=course)
    learner = LearnerFactory()
    requirement_recompute(requirement_id=requirement.pk, today=TODAY)
    assert is_fresh(requirement)

    writer = raw_connection(autocommit=False)
    try:
        writer.execute(
            "INSERT INTO compliance_completion (learner_id, course_id, completed_at, completed_on, source, created_at) "
            "VALUES (%s, %s, now(), %s, 'import', now())",
            [learner.pk, course.pk, TODAY],
        )
        done = threading.Event()

        def recompute_meanwhile():
            try:
                requirement_recompute(requirement_id=requirement.pk, today=TODAY)
            finally:
                connection.close()
                done.set()

        thread = threading.Thread(target=recompute_meanwhile)
        thread.start()
        assert done.wait(30), "the recompute waited for the writer"
        thread.join()
        writer.commit()
    finally:
        writer.close()

    assert not is_fresh(requirement)
    assert (
        counts_as_pages_read_them(requirement, TODAY).by_status
        == requirement_status_counts(requirement, TODAY).by_status
    )
    assert counts_as_pages_read_them(requirement, TODAY).total == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_recompute_reads_the_clock_before_the_facts(monkeypatch):
    """A write that commits just before the recompute reads the clock is in the
    facts it gathers next; were the clock read after the facts, this write would
    fall between the two and the tallies would look exact without it."""
    from compliance import recompute as recompute_module
    from tests.pg import raw_connection

    course = CourseFactory()
    requirement = RequirementFactory(course=course)
    learner = LearnerFactory()
    requirement_recompute(requirement_id=requirement.pk, today=TODAY)
    original = recompute_module.read_clock

    def commit_a_completion_then_read(cursor, requirement_id):
        with raw_connection() as writer:
            writer.execute(
                "INSERT INTO compliance_completion (learner_id, course_id, completed_at, completed_on, source, "
                "created_at) VALUES (%s, %s, now(), %s, 'import', now())",
                [learner.pk, course.pk, TODAY],
            )
        return original(cursor, requirement_id)

    monkeypatch.setattr(recompute_module, "read_clock", commit_a_completion_then_read)
    requirement_recompute(requirement_id=requirement.pk, today=TODAY)
    monkeypatch.undo()

    assert is_fresh(requirement)
    assert counts_as_pages_read_them(requirement, TODAY)[Status.COMPLIANT] == 1
    assert (
        counts_as_pages_read_them(requirement, TODAY).by_status
        == requirement_status_counts(requirement, TODAY).by_status
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # TRUNCATE refuses tables with pending (deferred) trigger events
@pytest.mark.parametrize("table", ["compliance_membership", "compliance_factsclock"])
def test_a_truncate_forgets_every_stamp(world, table):
    requirement = world["requirement"]
    assert is_fresh(requirement)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table}")
    assert not TallyStamp.objects.exists()
    assert not is_fresh(requirement)
