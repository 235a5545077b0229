"""The recompute's locks: one full run at a time; a one-requirement run waits."""

import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from compliance.locks import _GLOBAL_KEY, _NAMESPACE
from compliance.models import LearnerRequirementState
from compliance.recompute import RecomputeAlreadyRunning, recompute
from compliance.tasks import recompute_all_task
from tests.factories import LearnerFactory, RequirementFactory
from tests.pg import backends_waiting_for_advisory_lock, raw_connection, wait_until


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_full_run_is_told_already_running_and_changes_nothing():
    RequirementFactory()
    LearnerFactory()
    with raw_connection() as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [_NAMESPACE, _GLOBAL_KEY])  # a full run in progress

        with pytest.raises(CommandError, match="already running"):
            call_command("recompute_compliance")
        assert recompute_all_task(trigger="beat") == "already running"
        assert LearnerRequirementState.objects.count() == 0

        other.execute("SELECT pg_advisory_unlock(%s, %s)", [_NAMESPACE, _GLOBAL_KEY])
    call_command("recompute_compliance")
    assert LearnerRequirementState.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_one_requirement_run_waits_for_the_requirement_lock_instead_of_being_dropped():
    requirement = RequirementFactory()
    LearnerFactory()
    outcome = {}

    def run_in_thread():
        try:
            outcome["result"] = recompute(requirement_ids=[requirement.pk], trigger="test")
        finally:
            connection.close()

    with raw_connection(autocommit=False) as holder, raw_connection() as observer:
        holder.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_NAMESPACE + 1, requirement.pk])
        worker = threading.Thread(target=run_in_thread)
        worker.start()
        wait_until(lambda: backends_waiting_for_advisory_lock(observer) == 1)
        assert worker.is_alive()
        assert LearnerRequirementState.objects.count() == 0
        holder.commit()  # the other run ends: ours goes on
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert outcome["result"].changes == 1
    assert LearnerRequirementState.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_full_runs_started_together_give_one_run_and_one_already_running():
    first, *_ = RequirementFactory.create_batch(3)
    LearnerFactory.create_batch(50)
    barrier = threading.Barrier(2)
    outcomes = []

    def full_run():
        try:
            barrier.wait()
            recompute(trigger="test")
            outcomes.append("ran")
        except RecomputeAlreadyRunning:
            outcomes.append("already running")
        finally:
            connection.close()

    with raw_connection(autocommit=False) as holder, raw_connection() as observer:
        # Keep the run that wins the global lock inside its first requirement meanwhile.
        holder.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_NAMESPACE + 1, first.pk])
        threads = [threading.Thread(target=full_run) for _ in range(2)]
        for t in threads:
            t.start()
        wait_until(lambda: backends_waiting_for_advisory_lock(observer) == 1 and outcomes == ["already running"])
        holder.commit()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["already running", "ran"]
    assert LearnerRequirementState.objects.count() == 150


@pytest.mark.django_db
def test_on_sqlite_a_full_run_after_another_finds_nothing_left_to_change():
    """SQLite has no advisory lock: runs queue on the write lock (every
    transaction starts IMMEDIATE), so the later one finds the work done."""
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite fallback")
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    RequirementFactory()
    LearnerFactory()
    assert recompute(trigger="test").changes == 1
    assert recompute(trigger="test").changes == 0
