"""Remediation under concurrency, on PostgreSQL: two requests at once never
create a second open enrollment, and the counts they report add up exactly."""

import threading

import pytest
from django.db import connection, transaction
from django.db.models import Count

from compliance.dates import org_today
from compliance.models import Enrollment, Learner
from compliance.remediation import learner_enroll, requirement_remediate
from compliance.statuses import Status
from tests.factories import CourseFactory, RequirementFactory
from tests.pg import raw_connection, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LEARNERS = 1000


@pytest.fixture
def requirement():
    requirement = RequirementFactory(name="Data Privacy", course=CourseFactory(code="GDPR-101"))
    Learner.objects.bulk_create(
        Learner(email=f"learner{n:04d}@example.com", first_name="Learner", last_name=f"{n:04d}")
        for n in range(LEARNERS)
    )
    return requirement


def in_threads(*targets) -> list:
    """Run each target in a thread of its own (with its own database
    connection) and return their results in order; an exception in one fails the test."""
    results: list = [None] * len(targets)
    errors: list = []

    def run(index, target):
        try:
            results[index] = target()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    assert not errors, errors
    return results


def open_enrollments_per_learner() -> dict[int, int]:
    rows = Enrollment.objects.filter(completed_at__isnull=True).values("learner_id").annotate(n=Count("pk"))
    return {row["learner_id"]: row["n"] for row in rows}


def remediate_not_started(requirement, actor, start: threading.Barrier | None = None, query: str = "") -> int:
    if start is not None:
        start.wait(timeout=10)
    return requirement_remediate(
        actor=actor, requirement=requirement, status=Status.NOT_STARTED, query=query, today=org_today()
    ).enrolled


def test_two_remediate_all_at_the_same_moment_enroll_each_learner_once(requirement, admin_user):
    start = threading.Barrier(2)
    counts = in_threads(
        lambda: remediate_not_started(requirement, admin_user, start),
        lambda: remediate_not_started(requirement, admin_user, start),
    )

    assert sum(counts) == LEARNERS
    per_learner = open_enrollments_per_learner()
    assert len(per_learner) == LEARNERS
    assert set(per_learner.values()) == {1}


def test_two_overlapping_searches_remediated_at_once_enroll_each_learner_once(requirement, admin_user):
    """Different searches select the shared learners in a different plan, yet
    both insert in learner order: no deadlock, no duplicate, exact counts."""
    start = threading.Barrier(2)
    counts = in_threads(
        lambda: remediate_not_started(requirement, admin_user, start),
        lambda: remediate_not_started(requirement, admin_user, start, query="1"),
    )

    assert sum(counts) == LEARNERS
    assert set(open_enrollments_per_learner().values()) == {1}
    assert len(open_enrollments_per_learner()) == LEARNERS


def test_a_remediate_all_that_overlaps_an_uncommitted_one_waits_and_enrolls_nobody(requirement, admin_user):
    """The second request's SELECT sees all 1,000 learners un-enrolled (the first
    has not committed); the constraint makes it wait, then skip every one."""
    first_inserted, first_may_commit = threading.Event(), threading.Event()

    def first():
        with transaction.atomic():
            enrolled = remediate_not_started(requirement, admin_user)
            first_inserted.set()
            assert first_may_commit.wait(timeout=30)
        return enrolled

    def second():
        assert first_inserted.wait(timeout=30)
        return remediate_not_started(requirement, admin_user)

    def release_once_second_waits():
        with raw_connection() as watcher:
            wait_until(lambda: waiting_on_another_transaction(watcher))
        first_may_commit.set()

    counts = in_threads(first, second, release_once_second_waits)

    assert counts[:2] == [LEARNERS, 0]
    assert set(open_enrollments_per_learner().values()) == {1}
    assert len(open_enrollments_per_learner()) == LEARNERS


def waiting_on_another_transaction(conn) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()
    return row[0] > 0


def test_a_double_clicked_enroll_enrolls_once(requirement, admin_user):
    learner_id = Learner.objects.order_by("pk").values_list("pk", flat=True).first()
    start = threading.Barrier(2)

    def enroll():
        start.wait(timeout=10)
        return learner_enroll(
            actor=admin_user, requirement=requirement, learner_id=learner_id, today=org_today()
        ).newly_enrolled

    results = in_threads(enroll, enroll)

    assert sorted(results) == [False, True]
    assert Enrollment.objects.filter(learner_id=learner_id).count() == 1
