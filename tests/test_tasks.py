"""Celery: the nightly schedule, tasks queued after commit, and a real worker on Redis."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.db import connection, transaction

from compliance.models import LearnerRequirementState, RecomputeRun
from compliance.tasks import nightly_task, queue_recompute, recompute_all_task, recompute_requirement_task
from techclass.celery import app
from tests.factories import LearnerFactory, RequirementFactory
from tests.pg import wait_until

ROOT = Path(__file__).resolve().parent.parent


def test_nightly_job_runs_at_notify_hour_in_the_organisations_time_zone():
    entry = app.conf.beat_schedule["nightly-recompute"]
    assert entry["task"] == nightly_task.name
    assert entry["schedule"] == crontab(hour=settings.NOTIFY_HOUR, minute=0)
    assert settings.NOTIFY_HOUR == 7
    assert app.conf.timezone == settings.TIME_ZONE


def test_tasks_are_crash_safe_by_configuration():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.task_time_limit > 0
    assert app.conf.broker_transport_options["visibility_timeout"] > app.conf.task_time_limit


@pytest.mark.django_db
def test_recompute_is_queued_only_after_the_transaction_commits(django_capture_on_commit_callbacks):
    requirement = RequirementFactory()
    LearnerFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        queue_recompute([requirement.pk, requirement.pk], trigger="test")
        assert LearnerRequirementState.objects.count() == 0  # nothing ran inside the transaction
    assert len(callbacks) == 1  # one task per requirement, duplicates merged
    assert LearnerRequirementState.objects.count() == 1


@pytest.mark.django_db
def test_a_rolled_back_change_queues_nothing(django_capture_on_commit_callbacks):
    requirement = RequirementFactory()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        queue_recompute([requirement.pk], trigger="test")
        raise RuntimeError("the change failed")
    assert callbacks == []
    assert RecomputeRun.objects.count() == 0


@pytest.mark.django_db
def test_the_tasks_run_the_recompute():
    requirement = RequirementFactory()
    LearnerFactory.create_batch(2)
    assert recompute_requirement_task(requirement.pk, trigger="test") == f"requirement {requirement.pk}: 2 changes"
    assert recompute_all_task(trigger="beat") == "1 requirements, 0 changes"
    assert RecomputeRun.objects.filter(trigger="beat", full=True, state="succeeded").count() == 1


@pytest.fixture
def real_worker(tmp_path):
    """A Celery worker process on the Redis broker, using the test database, on a queue of its own."""
    queue = f"techclass-test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "techclass.settings",
        "SECRET_KEY": "worker-test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": os.environ["REDIS_URL"],
        "CONN_MAX_AGE": "0",
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "techclass", "worker", "--pool=solo", "-Q", queue, "-l", "INFO"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield queue
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            print(log.read_text())  # shown by pytest when the test fails


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_recompute_sent_through_redis(real_worker):
    requirement = RequirementFactory()
    LearnerFactory.create_batch(3)
    assert app.conf.broker_url.startswith("redis://")
    app.conf.task_always_eager = False
    try:
        recompute_requirement_task.apply_async(args=[requirement.pk], kwargs={"trigger": "worker"}, queue=real_worker)
    finally:
        app.conf.task_always_eager = True

    run = wait_until(
        lambda: RecomputeRun.objects.filter(trigger="worker", state="succeeded").first(),
        timeout=60,
        interval=0.2,
    )
    assert run.requirement_id == requirement.pk and run.changes == 3
    assert LearnerRequirementState.objects.filter(requirement=requirement).count() == 3


@pytest.mark.django_db
def test_a_broker_that_is_down_does_not_turn_a_committed_change_into_an_error(
    django_capture_on_commit_callbacks, monkeypatch, caplog
):
    requirement = RequirementFactory()

    def broker_down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(recompute_requirement_task, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        queue_recompute([requirement.pk], trigger="test")
    assert "Connection refused" in caplog.text
