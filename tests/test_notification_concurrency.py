"""Two notification runs at once on PostgreSQL: the outbox's uniqueness key and
the conditional claim mean no email is decided or sent twice."""

import datetime as dt
import threading

import pytest
import time_machine
from django.core import mail
from django.db.models import Count

from compliance.models import Completion, Learner, Notification
from compliance.notifications.run import notification_run
from compliance.notifications.sending import notifications_send
from tests.factories import RequirementFactory
from tests.test_remediation_concurrency import in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LEARNERS = 300
RUN_AT = dt.datetime(2027, 1, 12, 7, tzinfo=dt.UTC)


@pytest.fixture
def requirement():
    requirement = RequirementFactory(name="Fire Safety", notify_learners=True, digests=False)
    learners = Learner.objects.bulk_create(
        Learner(email=f"learner{n:04d}@example.com", first_name="L", last_name=f"{n:04d}") for n in range(LEARNERS)
    )
    # Half expired (an Expired email each), half never started (a first reminder each).
    completed_at = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)
    Completion.objects.bulk_create(
        Completion(
            learner=learner, course=requirement.course, completed_at=completed_at, completed_on=completed_at.date()
        )
        for learner in learners[::2]
    )
    return requirement


def test_two_runs_at_the_same_moment_email_each_learner_once(requirement):
    start = threading.Barrier(2)

    def one_run():
        start.wait(timeout=10)
        return notification_run(send=notifications_send)

    with time_machine.travel(RUN_AT, tick=False):
        in_threads(one_run, one_run)

    per_learner = Notification.objects.values("learner_id").annotate(n=Count("pk"))
    assert len(per_learner) == LEARNERS
    assert {row["n"] for row in per_learner} == {1}
    assert Notification.objects.filter(state=Notification.State.SENT).count() == LEARNERS
    recipients = [message.to[0] for message in mail.outbox]
    assert len(recipients) == LEARNERS
    assert len(set(recipients)) == LEARNERS
