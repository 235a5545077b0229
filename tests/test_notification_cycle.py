"""A learner's whole certification cycle, one notification run a day with time
moved day by day (notifications.md, "Kinds" and "Runs")."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from compliance.models import Notification
from compliance.notifications.run import notification_run
from compliance.notifications.sending import notifications_send
from tests.factories import CompletionFactory, GroupFactory, LearnerFactory, MembershipFactory, RequirementFactory

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


def test_ten_days_without_a_run_then_one_run_sends_what_is_due_once_and_no_backlog(fire_safety):
    learner = LearnerFactory()
    # Expiring Soon from 2026-12-11, Expired from 2027-01-10.
    CompletionFactory(learner=learner, course=fire_safety.course, day=dt.date(2026, 1, 10))
    run_at(dt.date(2026, 12, 20))
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["Action needed"]

    # No run from 2026-12-21 to 2027-01-19 (the learner expired on the 10th), then one run.
    first, again = run_at(dt.date(2027, 1, 20)), run_at(dt.date(2027, 1, 20))
    assert (first.inserted, again.inserted, again.decided) == (1, 0, [])

    subjects = [m.subject for m in mail.outbox]
    assert subjects == [
        "Action needed: Fire Safety expires on 10 Jan 2027, retake Fire Safety Basics before then",
        "Action needed: Fire Safety expired on 10 Jan 2027, retake Fire Safety Basics now",
    ]
    # The first reminder comes a full interval after that email, not at once for the missed weeks.
    assert emails_by_day(dt.date(2027, 1, 21), dt.date(2027, 1, 27)) == [
        (dt.date(2027, 1, 27), "Reminder: Fire Safety expired on 10 Jan 2027, retake Fire Safety Basics now")
    ]


def test_a_missed_warning_is_not_sent_late_when_the_learner_has_expired_since(fire_safety):
    learner = LearnerFactory()
    CompletionFactory(learner=learner, course=fire_safety.course, day=dt.date(2026, 1, 10))

    run_at(dt.date(2027, 1, 12))

    assert [m.subject for m in mail.outbox] == [
        "Action needed: Fire Safety expired on 10 Jan 2027, retake Fire Safety Basics now"
    ]


def test_a_learner_who_never_started_is_reminded_every_interval_up_to_the_maximum(fire_safety):
    LearnerFactory(first_name="Nia")

    got = emails_by_day(dt.date(2026, 12, 1), dt.date(2027, 1, 15))

    assert got == [
        (dt.date(2026, 12, 1), "Reminder: take Fire Safety Basics now (Fire Safety)"),
        (dt.date(2026, 12, 8), "Reminder: take Fire Safety Basics now (Fire Safety)"),
    ]
    assert list(Notification.objects.values_list("kind", "cycle", "ordinal")) == [
        ("reminder", "never", 2),
        ("reminder", "never", 1),
    ]


def test_nobody_is_emailed_while_notify_learners_is_off(fire_safety):
    fire_safety.notify_learners = False
    fire_safety.save()
    learner = LearnerFactory()
    CompletionFactory(learner=learner, course=fire_safety.course, day=dt.date(2026, 1, 10))
    LearnerFactory()

    assert emails_by_day(dt.date(2026, 12, 1), dt.date(2027, 1, 31)) == []
    assert not Notification.objects.exists()


def test_deactivated_and_out_of_scope_learners_are_not_emailed(fire_safety):
    team = GroupFactory(name="Warehouse")
    fire_safety.target_group = team
    fire_safety.save()
    member, outsider, gone = LearnerFactory(), LearnerFactory(), LearnerFactory(active=False)
    MembershipFactory(learner=member, group=team)
    MembershipFactory(learner=gone, group=team)
    for learner in (member, outsider, gone):
        CompletionFactory(learner=learner, course=fire_safety.course, day=dt.date(2026, 1, 10))

    run_at(dt.date(2027, 1, 10))

    assert [m.to for m in mail.outbox] == [[member.email]]


def test_nothing_is_sent_after_the_learner_completed_left_the_scope_or_was_deactivated(fire_safety):
    team = GroupFactory()
    fire_safety.target_group = team
    fire_safety.save()
    retook, left, deactivated, stays = (LearnerFactory() for _ in range(4))
    for learner in (retook, left, deactivated, stays):
        MembershipFactory(learner=learner, group=team)
        CompletionFactory(learner=learner, course=fire_safety.course, day=dt.date(2026, 1, 10))
    run_at(dt.date(2027, 1, 10))
    assert len(mail.outbox) == 4

    CompletionFactory(learner=retook, course=fire_safety.course, day=dt.date(2027, 1, 12))
    left.memberships.all().delete()
    deactivated.active = False
    deactivated.save()
    emails_by_day(dt.date(2027, 1, 11), dt.date(2027, 3, 1))

    later = {m.to[0] for m in mail.outbox[4:]}
    assert later == {stays.email}
