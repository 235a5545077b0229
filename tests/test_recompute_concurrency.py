"""Changes made while a recompute runs, on PostgreSQL: a settings change and an
import land in the middle of a full run (held half-way by the test holding the
requirement's lock). Nothing is lost, nothing recorded twice, no error."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from compliance.dates import org_today
from compliance.imports import ImportRejected
from compliance.locks import _NAMESPACE
from compliance.models import Completion, Learner, LearnerRequirementState, RecomputeRun, StatusChange
from compliance.recompute import recompute
from compliance.requirements import requirement_update
from compliance.statuses import Status
from tests.factories import CompletionFactory, CourseFactory, RequirementFactory
from tests.import_helpers import import_csv
from tests.pg import backends_waiting_for_advisory_lock, raw_connection, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LEARNERS = 20


def in_threads(*targets) -> list:
    """Start each target in a thread of its own (own database connection); a
    function that waits for them all and returns their results, or their exceptions."""
    results: list = [None] * len(targets)

    def run(index, target):
        try:
            results[index] = target()
        except BaseException as error:  # returned, for the test to judge
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()

    def join() -> list:
        for thread in threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "a thread did not finish"
        return results

    return join


@pytest.fixture
def learners():
    return Learner.objects.bulk_create(
        Learner(email=f"learner{n:02d}@example.com", first_name="Learner", last_name=f"{n:02d}")
        for n in range(LEARNERS)
    )


@pytest.fixture
def blocker():
    conn = raw_connection(autocommit=False)
    yield conn
    conn.close()


def hold_requirement_lock(blocker, requirement_id: int) -> None:
    blocker.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_NAMESPACE + 1, requirement_id])


def statuses(requirement) -> dict[str, int]:
    rows = LearnerRequirementState.objects.filter(requirement=requirement).values_list("status", flat=True)
    return {status: list(rows).count(status) for status in set(rows)}


def test_a_settings_change_during_a_recompute_is_not_lost(learners, admin_user, blocker):
    course = CourseFactory()
    for learner in learners:
        CompletionFactory(learner=learner, course=course, day=org_today() - dt.timedelta(days=100))
    requirement = RequirementFactory(course=course, valid_days=365, warning_days=30)
    recompute(trigger="setup")
    assert statuses(requirement) == {Status.COMPLIANT: LEARNERS}

    hold_requirement_lock(blocker, requirement.pk)
    full_run = in_threads(lambda: recompute(trigger="beat"))
    wait_until(lambda: backends_waiting_for_advisory_lock(blocker) == 1)
    # The admin's change commits while the run waits; its own recompute (queued after commit) waits too.
    change = in_threads(lambda: requirement_update(actor=admin_user, requirement=requirement, valid_days=90))
    wait_until(lambda: backends_waiting_for_advisory_lock(blocker) == 2)
    blocker.rollback()
    (run_result,) = full_run()
    (change_result,) = change()

    assert not isinstance(run_result, BaseException), run_result
    assert not isinstance(change_result, BaseException), change_result
    assert statuses(requirement) == {Status.EXPIRED: LEARNERS}  # the new settings won
    assert set(RecomputeRun.objects.values_list("state", flat=True)) == {RecomputeRun.State.SUCCEEDED}
    # Each learner's change was recorded once, by whichever run came first.
    changes = StatusChange.objects.filter(requirement=requirement, to_status=Status.EXPIRED)
    assert sorted(changes.values_list("learner_id", flat=True)) == sorted(learner.pk for learner in learners)
    assert recompute(trigger="check").changes == 0  # nothing was left behind


def test_an_import_during_a_recompute_is_not_lost_and_not_doubled(learners, blocker):
    course = CourseFactory(code="FIRE-1")
    requirement = RequirementFactory(course=course, valid_days=365, warning_days=30)
    recompute(trigger="setup")
    assert statuses(requirement) == {Status.NOT_STARTED: LEARNERS}
    day = (org_today() - dt.timedelta(days=10)).isoformat()
    csv = "email,course_code,completed_on\n" + "".join(f"{learner.email},FIRE-1,{day}\n" for learner in learners)

    hold_requirement_lock(blocker, requirement.pk)
    full_run = in_threads(lambda: recompute(trigger="beat"))
    wait_until(lambda: backends_waiting_for_advisory_lock(blocker) == 1)
    # The same file imported twice at once, while the run waits.
    imports = in_threads(lambda: import_csv("completions", csv), lambda: import_csv("completions", csv))
    wait_until(lambda: backends_waiting_for_advisory_lock(blocker) >= 2)
    blocker.rollback()
    (run_result,) = full_run()
    first, second = imports()

    assert not isinstance(run_result, BaseException), run_result
    outcomes = sorted([first, second], key=lambda result: isinstance(result, BaseException))
    assert outcomes[0].created == LEARNERS  # one import wrote every completion...
    other = outcomes[1]
    # ...the other found them there, or was refused whole with a clear message (nothing written twice).
    if isinstance(other, ImportRejected):
        assert "someone may have changed the same rows meanwhile" in other.problems[0]
    else:
        assert not isinstance(other, BaseException), other
        assert (other.created, other.unchanged) == (0, LEARNERS)
    assert Completion.objects.filter(course=course).count() == LEARNERS
    assert statuses(requirement) == {Status.COMPLIANT: LEARNERS}
    assert StatusChange.objects.filter(requirement=requirement, to_status=Status.COMPLIANT).count() == LEARNERS
    assert recompute(trigger="check").changes == 0
