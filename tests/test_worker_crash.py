"""A worker killed in the middle of the nightly recompute loses nothing.

The Celery worker runs as a real process on the Redis broker (acks_late,
reject_on_worker_lost). The test holds one requirement's advisory lock so the
full run stops half-way (the first requirement committed, the second waiting),
kills the worker with SIGKILL, and starts a fresh one with a short visibility
timeout: Redis hands the unacknowledged task out again, and the re-run must
leave exactly the state an uninterrupted run leaves. Polls with deadlines;
no fixed sleeps.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from compliance.dates import org_today
from compliance.locks import _GLOBAL_KEY, _NAMESPACE
from compliance.models import LearnerRequirementState, RecomputeRun, Requirement, StatusChange
from compliance.recompute import INTERRUPTED, recompute
from compliance.tasks import recompute_all_task
from techclass.celery import app
from tests.factories import CompletionFactory, CourseFactory, EnrollmentFactory, LearnerFactory, RequirementFactory
from tests.pg import backends_waiting_for_advisory_lock, raw_connection, wait_until

ROOT = Path(__file__).resolve().parent.parent
VISIBILITY_TIMEOUT = 2  # seconds; production keeps it above the longest run

#: ``celery -A techclass worker``, sweeping for unacknowledged tasks every second
#: (kombu's default is about every 100 s).
WORKER = """
from techclass.celery import app
app.conf.broker_transport_options = {{
    **app.conf.broker_transport_options, "unacked_restore_interval": 1, "unacked_restore_throttle": 1
}}
app.worker_main(["worker", "--pool=solo", "-Q", "{queue}", "-l", "INFO"])
"""

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def database_url(db: dict) -> str:
    """The test database as a URL, password included (the worker connects as the tests do)."""
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    return f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(queue: str, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "techclass.settings",
        "SECRET_KEY": "worker-test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": os.environ["REDIS_URL"],
        "CONN_MAX_AGE": "0",
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", WORKER.format(queue=queue)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def populate() -> list[int]:
    """Three requirements over learners of every status; their ids in the order a full run takes them."""
    today = org_today()
    courses = [CourseFactory() for _ in range(3)]
    for i in range(12):
        learner = LearnerFactory()
        course = courses[i % 3]
        if i % 4 == 0:
            CompletionFactory(learner=learner, course=course, day=today - dt.timedelta(days=30))
        elif i % 4 == 1:
            CompletionFactory(learner=learner, course=course, day=today - dt.timedelta(days=350))
        elif i % 4 == 2:
            EnrollmentFactory(learner=learner, course=course)
    for course in courses:
        RequirementFactory(course=course, valid_days=365, warning_days=30)
    return list(Requirement.objects.values_list("pk", flat=True))


def stored_state() -> dict:
    """What a recompute leaves, without the ids and moments of the run that wrote it."""
    return {
        "states": sorted(
            LearnerRequirementState.objects.values_list(
                "requirement_id", "learner_id", "status", "status_since", "last_completed_on"
            )
        ),
        "changes": sorted(
            StatusChange.objects.values_list("requirement_id", "learner_id", "from_status", "to_status", "changed_on")
        ),
    }


def global_lock_is_free() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s AND granted",
            [_NAMESPACE, _GLOBAL_KEY],
        )
        return cursor.fetchone()[0] == 0


def test_a_worker_killed_mid_recompute_is_replaced_and_the_rerun_gives_the_uninterrupted_state(tmp_path):
    first, second, third = populate()
    queue = f"techclass-crash-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "workers.log"
    blocker = raw_connection(autocommit=False)
    workers: list[subprocess.Popen] = []
    try:
        # Hold the second requirement's lock: the run will commit the first, then wait.
        blocker.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_NAMESPACE + 1, second])
        workers.append(start_worker(queue, log))
        app.conf.task_always_eager = False
        try:
            recompute_all_task.apply_async(kwargs={"trigger": "crash-test"}, queue=queue)
        finally:
            app.conf.task_always_eager = True

        wait_until(lambda: backends_waiting_for_advisory_lock(blocker) == 1, timeout=60, interval=0.1)
        # In the middle: the first requirement's state is stored, the others' not yet.
        assert LearnerRequirementState.objects.filter(requirement_id=first).count() == 12
        assert not LearnerRequirementState.objects.filter(requirement_id__in=[second, third]).exists()
        assert RecomputeRun.objects.get().state == RecomputeRun.State.RUNNING

        workers[0].kill()  # SIGKILL: no clean-up, no ack
        workers[0].wait(timeout=30)
        blocker.rollback()  # the orphaned backend gets the lock, finds its client gone, and ends
        wait_until(global_lock_is_free, timeout=60, interval=0.1)

        workers.append(start_worker(queue, log))
        rerun = wait_until(
            lambda: RecomputeRun.objects.filter(trigger="crash-test", state=RecomputeRun.State.SUCCEEDED).first(),
            timeout=120,
            interval=0.2,
        )
    finally:
        blocker.close()
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=30)
        print(log.read_text())  # shown when the test fails

    assert RecomputeRun.objects.filter(trigger="crash-test").count() == 2  # the cut-off run and its re-run
    interrupted = RecomputeRun.objects.exclude(pk=rerun.pk).get()
    assert (interrupted.state, interrupted.error) == (RecomputeRun.State.FAILED, INTERRUPTED)
    after_crash = stored_state()
    assert len(after_crash["states"]) == 36

    # The same facts recomputed from scratch, uninterrupted.
    StatusChange.objects.all().delete()
    LearnerRequirementState.objects.all().delete()
    recompute(trigger="reference")
    assert stored_state() == after_crash
