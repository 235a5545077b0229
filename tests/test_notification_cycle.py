"""A learner's whole certification cycle, one notification run a day with time
moved day by day (notifications.md, "Kinds" and "Runs")."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from compliance.models import Notification
from compliance.notifications.run import notification_run
from compliance.notifications.sending import notifications_send
from tests.factories import CompletionFactory, LearnerFactory, RequirementFactory

pytestmark = pytest.mark.django_db


def run_at(day: dt.date):
    """The nightly run of ``day`` at 07:00 (UTC, the test org's zone), sending in-process."""
    with time_machine.travel(dt.datetime.combine(day, dt.time(7), tzinfo=dt.UTC), tick=False):
        return notification_run(send=notifications_send)


def days(first: dt.date, last: dt.date):
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def emails_by_day(first: dt.date, last: dt.date, *, before_run=None) -> list[tuple[dt.date, str]]:
    got = []
    for day in days(first, last):
        if before_run:
            before_run(day)
        count = len(mail.outbox)
        run_at(day)
        got += [(day, message.subject) for message in mail.outbox[count:]]
    return got


@pytest.fixture
def fire_safety():
    return RequirementFactory(
        name="Fire Safety",
        course__title="Fire Safety Basics",
        valid_days=365,
        warning_days=30,
        notify_learners=True,
        reminder_every_days=7,
        reminder_max=2,
        digests=False,
    )


def test_a_whole_cycle_and_the_next_send_exactly_the_expected_emails_on_the_expected_days(fire_safety):
    learner = LearnerFactory(email="ada@example.com")
    CompletionFactory(learner=learner, course=fire_safety.course, day=dt.date(2026, 1, 10))

    def retake(day):
        if day == dt.date(2027, 2, 20):
            CompletionFactory(learner=learner, course=fire_safety.course, day=day)

    got = emails_by_day(dt.date(2026, 12, 1), dt.date(2028, 3, 20), before_run=retake)

    assert got == [
        (
            dt.date(2026, 12, 11),
            "Action needed: Fire Safety expires on 10 Jan 2027, retake Fire Safety Basics before then",
        ),
        (dt.date(2027, 1, 10), "Action needed: Fire Safety expired on 10 Jan 2027, retake Fire Safety Basics now"),
        (dt.date(2027, 1, 17), "Reminder: Fire Safety expired on 10 Jan 2027, retake Fire Safety Basics now"),
        (dt.date(2027, 1, 24), "Reminder: Fire Safety expired on 10 Jan 2027, retake Fire Safety Basics now"),
        # The retake on 20 Feb 2027 starts a new cycle: C = 2027-02-20, expiring on 2028-02-20.
        (
            dt.date(2028, 1, 21),
            "Action needed: Fire Safety expires on 20 Feb 2028, retake Fire Safety Basics before then",
        ),
        (dt.date(2028, 2, 20), "Action needed: Fire Safety expired on 20 Feb 2028, retake Fire Safety Basics now"),
        (dt.date(2028, 2, 27), "Reminder: Fire Safety expired on 20 Feb 2028, retake Fire Safety Basics now"),
        (dt.date(2028, 3, 5), "Reminder: Fire Safety expired on 20 Feb 2028, retake Fire Safety Basics now"),
    ]
    assert {message.to[0] for message in mail.outbox} == {"ada@example.com"}
    assert Notification.objects.filter(state=Notification.State.SENT).count() == 8
