import datetime as dt
import os

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance import recompute as recompute_module
from compliance.models import Learner, LearnerRequirementState, RecomputeRun, RequirementTally, StatusChange
from compliance.recompute import recompute
from compliance.requirements import requirement_delete, requirement_update
from compliance.statuses import Status
from tests.factories import (
    CompletionFactory,
    EnrollmentFactory,
    GroupFactory,
    LearnerFactory,
    MembershipFactory,
    RequirementFactory,
)
from tests.test_rules_property import build_database, worlds

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 28)


def at_noon(day: dt.date):
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC), tick=False)


def states(requirement):
    return {s.learner_id: (s.status, s.last_completed_on, s.status_since) for s in requirement.states.all()}


def changes(requirement):
    """The history as a reader sees it: the recorded changes, then each entry
    still held by its state row (written to StatusChange when that status ends),
    which is always a learner's latest event."""
    recorded = StatusChange.objects.filter(requirement=requirement).order_by("id")
    pending = requirement.states.filter(entry_recorded=False).order_by("learner_id")
    return list(recorded.values_list("learner_id", "from_status", "to_status", "changed_on")) + [
        (learner_id, "", status, since)
        for learner_id, status, since in pending.values_list("learner_id", "status", "status_since")
    ]


def recorded_changes(requirement):
    return list(
        StatusChange.objects.filter(requirement=requirement)
        .order_by("id")
        .values_list("learner_id", "from_status", "to_status", "changed_on")
    )


@pytest.fixture
def requirement():
    return RequirementFactory(valid_days=365, warning_days=30)


def test_first_run_records_every_learner_entering_the_scope(requirement):
    done = LearnerFactory()
    CompletionFactory(learner=done, course=requirement.course, day=dt.date(2026, 3, 1))
    never = LearnerFactory()

    with at_noon(TODAY):
        result = recompute(trigger="test")

    assert states(requirement) == {
        done.pk: (Status.COMPLIANT, dt.date(2026, 3, 1), dt.date(2026, 3, 1)),
        never.pk: (Status.NOT_STARTED, None, TODAY),
    }
    assert sorted(changes(requirement)) == [
        (done.pk, "", Status.COMPLIANT, dt.date(2026, 3, 1)),
        (never.pk, "", Status.NOT_STARTED, TODAY),
    ]
    assert result.changes == 2
    assert result.requirements[0].counts[Status.COMPLIANT] == 1
    assert result.requirements[0].counts[Status.NOT_STARTED] == 1


def test_a_first_run_writes_no_history_row_the_state_holds_each_entry(requirement):
    done = LearnerFactory()
    CompletionFactory(learner=done, course=requirement.course, day=dt.date(2026, 3, 1))
    with at_noon(TODAY):
        result = recompute(trigger="test")

    assert recorded_changes(requirement) == []
    assert list(requirement.states.values_list("entry_recorded", flat=True)) == [False]
    assert result.requirements[0].entered == 1
    assert result.rows_written == 1


def test_an_entry_is_recorded_when_its_status_ends_before_the_change(requirement):
    learner = LearnerFactory()
    other = LearnerFactory()
    CompletionFactory(learner=learner, course=requirement.course, day=dt.date(2025, 12, 20))
    with at_noon(dt.date(2026, 11, 1)):
        recompute(trigger="test")  # Compliant since 2025-12-20
    with at_noon(dt.date(2026, 11, 25)):
        recompute(trigger="test")  # Expiring Soon since 2026-11-20
        run = RecomputeRun.objects.latest("pk")

    assert recorded_changes(requirement) == [
        (learner.pk, "", Status.COMPLIANT, dt.date(2025, 12, 20)),
        (learner.pk, Status.COMPLIANT, Status.EXPIRING_SOON, dt.date(2026, 11, 20)),
    ]
    assert set(StatusChange.objects.values_list("run_id", flat=True)) == {run.pk}
    # The new status was opened by a recorded change; the other learner's entry still waits.
    assert dict(requirement.states.values_list("learner_id", "entry_recorded")) == {learner.pk: True, other.pk: False}


def test_second_run_the_same_day_writes_nothing(requirement):
    CompletionFactory(learner=LearnerFactory(), course=requirement.course, day=dt.date(2026, 3, 1))
    LearnerFactory()
    with at_noon(TODAY):
        recompute(trigger="test")
        before_changes = StatusChange.objects.count()
        before_updated = list(LearnerRequirementState.objects.values_list("updated_at", flat=True))
        again = recompute(trigger="test")

    assert again.changes == 0
    assert again.rows_written == 0
    assert StatusChange.objects.count() == before_changes
    assert list(LearnerRequirementState.objects.values_list("updated_at", flat=True)) == before_updated


def test_calendar_change_is_recorded_once_and_dated_on_the_day_it_took_effect(requirement):
    learner = LearnerFactory()
    CompletionFactory(learner=learner, course=requirement.course, day=dt.date(2025, 12, 20))
    # warn_on 2026-11-20, expires_on 2026-12-20
    with at_noon(dt.date(2026, 11, 1)):
        recompute(trigger="test")
    # The recompute did not run for weeks; it records the change on warn_on, not on the run day.
    with at_noon(dt.date(2026, 12, 1)):
        recompute(trigger="test")
        recompute(trigger="test")

    assert changes(requirement) == [
        (learner.pk, "", Status.COMPLIANT, dt.date(2025, 12, 20)),
        (learner.pk, Status.COMPLIANT, Status.EXPIRING_SOON, dt.date(2026, 11, 20)),
    ]
    assert states(requirement)[learner.pk] == (Status.EXPIRING_SOON, dt.date(2025, 12, 20), dt.date(2026, 11, 20))

    with at_noon(dt.date(2026, 12, 25)):
        recompute(trigger="test")
    assert changes(requirement)[-1] == (learner.pk, Status.EXPIRING_SOON, Status.EXPIRED, dt.date(2026, 12, 20))


def test_retake_started_and_completed_is_recorded(requirement):
    learner = LearnerFactory()
    CompletionFactory(learner=learner, course=requirement.course, day=dt.date(2025, 1, 10))
    with at_noon(dt.date(2026, 2, 1)):
        recompute(trigger="test")  # Expired since 2026-01-10
    EnrollmentFactory(
        learner=learner,
        course=requirement.course,
        enrolled_at=dt.datetime(2026, 2, 2, 9, tzinfo=dt.UTC),
        started_at=dt.datetime(2026, 2, 3, 9, tzinfo=dt.UTC),
    )
    with at_noon(dt.date(2026, 2, 5)):
        recompute(trigger="test")
    CompletionFactory(learner=learner, course=requirement.course, day=dt.date(2026, 2, 6))
    with at_noon(dt.date(2026, 2, 7)):
        recompute(trigger="test")

    assert [c[1:] for c in changes(requirement)] == [
        ("", Status.EXPIRED, dt.date(2026, 1, 10)),
        (Status.EXPIRED, Status.IN_PROGRESS, dt.date(2026, 2, 3)),
        (Status.IN_PROGRESS, Status.COMPLIANT, dt.date(2026, 2, 6)),
    ]


def test_new_completion_that_keeps_the_status_updates_the_stored_fact_without_a_change(requirement):
    learner = LearnerFactory()
    CompletionFactory(learner=learner, course=requirement.course, day=dt.date(2026, 3, 1))
    with at_noon(TODAY):
        recompute(trigger="test")
        CompletionFactory(learner=learner, course=requirement.course, day=dt.date(2026, 11, 1))
        result = recompute(trigger="test")

    assert result.changes == 0
    assert result.rows_written == 1
    assert states(requirement)[learner.pk] == (Status.COMPLIANT, dt.date(2026, 11, 1), dt.date(2026, 3, 1))


def test_group_joiners_enter_and_leavers_are_dropped_and_recorded():
    group = GroupFactory()
    requirement = RequirementFactory(target_group=group)
    stays = MembershipFactory(group=group).learner
    leaves = MembershipFactory(group=group).learner
    deactivated = MembershipFactory(group=group).learner
    LearnerFactory()  # not a member: never in scope
    with at_noon(TODAY):
        recompute(trigger="test")
    assert set(states(requirement)) == {stays.pk, leaves.pk, deactivated.pk}

    leaves.memberships.all().delete()
    deactivated.active = False
    deactivated.save()
    joiner = MembershipFactory(group=group).learner
    with at_noon(TODAY + dt.timedelta(days=1)):
        result = recompute(trigger="test")

    assert set(states(requirement)) == {stays.pk, joiner.pk}
    assert sorted(changes(requirement)) == sorted(
        [
            (stays.pk, "", Status.NOT_STARTED, TODAY),
            (leaves.pk, "", Status.NOT_STARTED, TODAY),
            (leaves.pk, Status.NOT_STARTED, "", TODAY + dt.timedelta(days=1)),
            (deactivated.pk, "", Status.NOT_STARTED, TODAY),
            (deactivated.pk, Status.NOT_STARTED, "", TODAY + dt.timedelta(days=1)),
            (joiner.pk, "", Status.NOT_STARTED, TODAY + dt.timedelta(days=1)),
        ]
    )
    # A leaver's entry is written before their leaving.
    leaver_rows = [row for row in recorded_changes(requirement) if row[0] == leaves.pk]
    assert [row[2] for row in leaver_rows] == [Status.NOT_STARTED, ""]
    assert (result.requirements[0].entered, result.requirements[0].left) == (1, 2)


def test_target_group_change_moves_the_scope_at_the_next_recompute():
    hr, sales = GroupFactory(name="HR"), GroupFactory(name="Sales")
    requirement = RequirementFactory(target_group=hr)
    hr_member = MembershipFactory(group=hr).learner
    sales_member = MembershipFactory(group=sales).learner
    with at_noon(TODAY):
        recompute(trigger="test")
        requirement_update(actor=None, requirement=requirement, target_group=sales)
        recompute(trigger="test")
    assert set(states(requirement)) == {sales_member.pk}
    assert hr_member.pk not in states(requirement)


def test_validity_change_is_applied_to_everyone_at_once(requirement):
    learner = LearnerFactory()
    CompletionFactory(learner=learner, course=requirement.course, day=dt.date(2026, 3, 1))
    with at_noon(TODAY):
        recompute(trigger="test")
        requirement_update(actor=None, requirement=requirement, valid_days=200, warning_days=10)
        recompute(trigger="test")
    # With the new validity: warn_on 2026-09-07, expires_on 2026-09-17 (decisions.md)
    assert states(requirement)[learner.pk][0] == Status.EXPIRED
    assert changes(requirement)[-2:] == [
        (learner.pk, Status.COMPLIANT, Status.EXPIRING_SOON, dt.date(2026, 9, 7)),
        (learner.pk, Status.EXPIRING_SOON, Status.EXPIRED, dt.date(2026, 9, 17)),
    ]


def test_a_missed_expiring_soon_is_recorded_on_its_own_day(requirement):
    learner = LearnerFactory()
    CompletionFactory(learner=learner, course=requirement.course, day=dt.date(2025, 11, 1))
    # warn_on 2026-10-02, expires_on 2026-11-01; no run in between
    with at_noon(dt.date(2026, 9, 1)):
        recompute(trigger="test")
    with at_noon(dt.date(2026, 11, 20)):
        result = recompute(trigger="test")
        again = recompute(trigger="test")
    assert changes(requirement)[1:] == [
        (learner.pk, Status.COMPLIANT, Status.EXPIRING_SOON, dt.date(2026, 10, 2)),
        (learner.pk, Status.EXPIRING_SOON, Status.EXPIRED, dt.date(2026, 11, 1)),
    ]
    assert (result.changes, again.changes) == (2, 0)


def test_no_expiring_soon_is_invented_with_a_zero_warning_window():
    requirement = RequirementFactory(valid_days=365, warning_days=0)
    learner = LearnerFactory()
    CompletionFactory(learner=learner, course=requirement.course, day=dt.date(2025, 11, 1))
    with at_noon(dt.date(2026, 9, 1)):
        recompute(trigger="test")
    with at_noon(dt.date(2026, 11, 20)):
        recompute(trigger="test")
    assert changes(requirement)[1:] == [(learner.pk, Status.COMPLIANT, Status.EXPIRED, dt.date(2026, 11, 1))]


def test_a_retake_begun_before_expiry_is_in_progress_from_the_expiry_day(requirement):
    learner = LearnerFactory()
    CompletionFactory(learner=learner, course=requirement.course, day=dt.date(2025, 1, 1))
    # warn_on 2025-12-02, expires_on 2026-01-01; the retake begins on 2025-11-02
    EnrollmentFactory(
        learner=learner,
        course=requirement.course,
        enrolled_at=dt.datetime(2025, 11, 1, 9, tzinfo=dt.UTC),
        started_at=dt.datetime(2025, 11, 2, 9, tzinfo=dt.UTC),
    )
    for day in (dt.date(2025, 11, 5), dt.date(2025, 12, 5), dt.date(2026, 1, 5)):
        with at_noon(day):
            recompute(trigger="test")
    assert changes(requirement) == [
        (learner.pk, "", Status.COMPLIANT, dt.date(2025, 1, 1)),
        (learner.pk, Status.COMPLIANT, Status.EXPIRING_SOON, dt.date(2025, 12, 2)),
        (learner.pk, Status.EXPIRING_SOON, Status.IN_PROGRESS, dt.date(2026, 1, 1)),
    ]


def test_a_rejoiner_is_not_dated_before_the_day_they_left():
    group = GroupFactory()
    requirement = RequirementFactory(target_group=group)
    membership = MembershipFactory(group=group)
    learner = membership.learner
    CompletionFactory(learner=learner, course=requirement.course, day=dt.date(2026, 1, 1))
    with at_noon(dt.date(2026, 2, 1)):
        recompute(trigger="test")
    membership.delete()
    with at_noon(dt.date(2026, 4, 1)):
        recompute(trigger="test")
    MembershipFactory(group=group, learner=learner)
    with at_noon(dt.date(2026, 5, 1)):
        recompute(trigger="test")
    assert changes(requirement) == [
        (learner.pk, "", Status.COMPLIANT, dt.date(2026, 1, 1)),
        (learner.pk, Status.COMPLIANT, "", dt.date(2026, 4, 1)),
        (learner.pk, "", Status.COMPLIANT, dt.date(2026, 4, 1)),
    ]


def test_backdated_effective_day_never_goes_before_the_previous_change(requirement):
    learner = LearnerFactory()
    with at_noon(dt.date(2026, 6, 1)):
        recompute(trigger="test")  # Not Started since 2026-06-01
    # An old completion is imported late: Expired (expires 2026-03-01) takes effect now, not in March.
    CompletionFactory(learner=learner, course=requirement.course, day=dt.date(2025, 3, 1))
    with at_noon(dt.date(2026, 6, 10)):
        recompute(trigger="test")
    assert changes(requirement)[-1] == (learner.pk, Status.NOT_STARTED, Status.EXPIRED, dt.date(2026, 6, 1))


def test_dry_run_reports_changes_and_writes_nothing(requirement):
    LearnerFactory.create_batch(3)
    with at_noon(TODAY):
        result = recompute(trigger="test", dry_run=True)
    assert result.changes == 3
    assert LearnerRequirementState.objects.count() == 0
    assert StatusChange.objects.count() == 0
    assert RecomputeRun.objects.count() == 0


def test_a_run_is_recorded_with_its_counts(requirement):
    LearnerFactory.create_batch(2)
    with at_noon(TODAY):
        result = recompute(trigger="test")
    run = RecomputeRun.objects.get()
    assert run.full and run.state == RecomputeRun.State.SUCCEEDED
    assert run.as_of == TODAY and run.changes == 2 and run.finished_at is not None
    assert run.counts == {str(requirement.pk): {s.value: (2 if s == Status.NOT_STARTED else 0) for s in Status}}
    assert result.run_id == run.pk


def test_one_requirement_run_leaves_the_others_alone(requirement):
    other = RequirementFactory()
    LearnerFactory()
    with at_noon(TODAY):
        recompute(requirement_ids=[requirement.pk], trigger="test")
    assert requirement.states.count() == 1
    assert other.states.count() == 0
    run = RecomputeRun.objects.get()
    assert not run.full and run.requirement_id == requirement.pk


def test_deleting_a_learner_through_django_drops_their_state_rows(requirement):
    learner, other = LearnerFactory(), LearnerFactory()
    with at_noon(TODAY):
        recompute(trigger="test")
    learner.delete()
    assert list(requirement.states.values_list("learner_id", flat=True)) == [other.pk]


def test_a_state_row_left_by_a_raw_delete_is_dropped_as_a_leaver_at_the_next_run(requirement):
    """The state's references carry no database constraint (derived data): a
    learner deleted behind Django's back leaves a row that the next run drops."""
    learner, other = LearnerFactory(), LearnerFactory()
    with at_noon(TODAY):
        recompute(trigger="test")
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Learner._meta.db_table} WHERE id = %s", [learner.pk])
    with at_noon(TODAY + dt.timedelta(days=1)):
        result = recompute(trigger="test")
    assert list(requirement.states.values_list("learner_id", flat=True)) == [other.pk]
    assert result.requirements[0].left == 1


def test_deleting_a_requirement_drops_its_tracking_but_keeps_learning_records(requirement):
    learner = LearnerFactory()
    CompletionFactory(learner=learner, course=requirement.course, day=dt.date(2026, 3, 1))
    EnrollmentFactory(learner=learner, course=requirement.course)
    with at_noon(TODAY):
        recompute(trigger="test")
    requirement_delete(actor=None, requirement=requirement)
    assert LearnerRequirementState.objects.count() == 0
    assert StatusChange.objects.count() == 0
    assert learner.completions.count() == 1 and learner.enrollments.count() == 1


def recompute_queries(n_new_learners: int) -> tuple[list[str], list[str]]:
    """The queries of a new requirement's first run, and of the run after
    ``n_new_learners`` more learners joined its scope."""
    requirement = RequirementFactory()

    def add_learners(batch: str):
        Learner.objects.bulk_create(
            Learner(email=f"q-{requirement.pk}-{batch}-{i}@example.com", first_name="Q", last_name=str(i))
            for i in range(n_new_learners)
        )

    def captured() -> list[str]:
        with at_noon(TODAY), CaptureQueriesContext(connection) as ctx:
            recompute(requirement_ids=[requirement.pk], trigger="test")
        return [q["sql"] for q in ctx.captured_queries]

    add_learners("first")
    first = captured()
    add_learners("joiners")
    return first, captured()


def test_recompute_runs_a_fixed_number_of_queries_whatever_the_scope():
    small_first, small_later = recompute_queries(10)
    large_first, large_later = recompute_queries(1000)
    postgresql = connection.vendor == "postgresql"
    # INSERT the run; SAVEPOINT; [PostgreSQL: the requirement's advisory lock]; SELECT the facts
    # clock's sum; SELECT the requirement; SELECT its course history; SELECT whether anything is
    # stored; DROP, CREATE the facts table; INSERT every learner's state; SELECT the counts; SELECT
    # the tally's stamp, DELETE and INSERT the tallies, upsert the stamp; DROP the facts table;
    # RELEASE SAVEPOINT; UPDATE the run.
    assert len(small_first) == len(large_first) == (18 if postgresql else 17)
    # The same start; then DROP, CREATE the facts table, CREATE its index [PostgreSQL: ANALYZE it];
    # DROP, CREATE the differences table (the fresh state computed in it, leavers included); INSERT the
    # entries of ending statuses; INSERT passed-through Expiring Soon changes; INSERT changes; SELECT
    # their count; INSERT leavers' entries and changes; DELETE leavers; upsert the changed state; the
    # tallies (4); SELECT the counts; DROP the two tables; RELEASE SAVEPOINT; UPDATE the run.
    assert len(small_later) == len(large_later) == (30 if postgresql else 28)


def test_command_prints_counts_and_changes(requirement, capsys):
    requirement.name = "Data Privacy"
    requirement.save()
    LearnerFactory.create_batch(2)
    with at_noon(TODAY):
        call_command("recompute_compliance")
        call_command("recompute_compliance", "--dry-run")
    out = capsys.readouterr().out
    assert "Data Privacy" in out
    assert "1 requirement(s); 2 status(es) changed." in out
    assert "(dry run: nothing written)" in out
    assert "1 requirement(s); 0 status(es) would change." in out


def test_command_for_an_unknown_requirement_fails_clearly():
    with pytest.raises(CommandError, match="requirement 999 does not exist"):
        call_command("recompute_compliance", "--requirement", "999")


def test_a_failing_requirement_does_not_stop_the_others_and_the_run_is_marked_failed(monkeypatch, capsys):
    broken, healthy = RequirementFactory(name="Broken"), RequirementFactory(name="Healthy")
    LearnerFactory()
    real = recompute_module.requirement_recompute

    def fail_for_broken(*, requirement_id, **kwargs):
        if requirement_id == broken.pk:
            raise RuntimeError("disk full")
        return real(requirement_id=requirement_id, **kwargs)

    monkeypatch.setattr(recompute_module, "requirement_recompute", fail_for_broken)
    with at_noon(TODAY), pytest.raises(CommandError, match="1 requirement"):
        call_command("recompute_compliance")

    assert healthy.states.count() == 1
    assert broken.states.count() == 0
    run = RecomputeRun.objects.get()
    assert run.state == RecomputeRun.State.FAILED
    assert run.error == f"requirement {broken.pk}: RuntimeError: disk full"
    captured = capsys.readouterr()
    assert "Healthy" in captured.out
    assert f"requirement {broken.pk}: RuntimeError: disk full" in captured.err


def state_versions() -> dict:
    """Each stored state row's key with its ``updated_at``, and on PostgreSQL its
    ``xmin`` (the transaction that last wrote it: any UPDATE changes it)."""
    extra = ", xmin::text" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT requirement_id, learner_id, updated_at{extra} FROM {LearnerRequirementState._meta.db_table}"
        )
        return {row[:2]: row[2:] for row in cursor.fetchall()}


def test_a_full_rerun_with_nothing_changed_writes_no_row_of_per_learner_state():
    group = GroupFactory()
    everyone = RequirementFactory(valid_days=365, warning_days=30)
    grouped = RequirementFactory(valid_days=730, warning_days=60, target_group=group)
    for i in range(12):
        learner = LearnerFactory()
        if i % 2:
            MembershipFactory(learner=learner, group=group)
        if i % 3:
            CompletionFactory(learner=learner, course=everyone.course, day=TODAY - dt.timedelta(days=100 * i))
            CompletionFactory(learner=learner, course=grouped.course, day=TODAY - dt.timedelta(days=90 * i))
        if i % 4 == 0:
            EnrollmentFactory(
                learner=learner, course=everyone.course, started_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
            )
    with at_noon(TODAY):
        recompute(trigger="test")
    before, changes_before = state_versions(), StatusChange.objects.count()

    with at_noon(TODAY):
        again = recompute(trigger="test")

    assert len(before) == 12 + 6
    assert again.rows_written == 0 and again.changes == 0
    assert state_versions() == before
    assert StatusChange.objects.count() == changes_before
    assert RecomputeRun.objects.count() == 2  # the run records itself, and nothing else


def _first_run_outcome(requirement_id: int, today: dt.date, *, general_steps: bool):
    recompute_module._force_general_steps = general_steps
    try:
        with transaction.atomic():
            done = recompute_module.requirement_recompute(requirement_id=requirement_id, today=today)
            state = sorted(
                LearnerRequirementState.objects.filter(requirement_id=requirement_id).values_list(
                    "learner_id", "last_completed_on", "status", "status_since", "entry_recorded"
                )
            )
            tally = list(
                RequirementTally.objects.filter(requirement_id=requirement_id)
                .order_by("last_completed_on", "begun")
                .values_list("last_completed_on", "begun", "learners")
            )
            history = StatusChange.objects.filter(requirement_id=requirement_id).count()
            transaction.set_rollback(True)
    finally:
        recompute_module._force_general_steps = False
    return done, state, tally, history


@settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=worlds(), shift=st.integers(-400, 0))
def test_the_first_run_shortcut_gives_what_the_general_steps_give(spec, shift):
    today = spec.today + dt.timedelta(days=shift)
    with override_settings(TIME_ZONE=spec.time_zone), transaction.atomic():
        requirement, *_ = build_database(spec)
        shortcut = _first_run_outcome(requirement.pk, today, general_steps=False)
        general = _first_run_outcome(requirement.pk, today, general_steps=True)
        transaction.set_rollback(True)
    assert shortcut == general
    assert shortcut[0].entered == len(shortcut[1])
    assert shortcut[3] == 0  # no history row: every entry waits in its state row
