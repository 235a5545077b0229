"""The enrolled email, the weekly digests, escaping in emails, "This will
email N learners now", and the decision run's fixed number of queries."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail

from compliance.models import DigestSnapshot, Notification, NotificationKind
from compliance.notifications.decisions import learners_to_email_now
from compliance.notifications.run import notification_run, notifications_decide
from compliance.notifications.sending import notifications_send
from compliance.remediation import learner_enroll, requirement_remediate
from compliance.roles import ADMINS_GROUP
from compliance.statuses import Status
from tests.factories import CompletionFactory, LearnerFactory, RequirementFactory, UserFactory

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 11, 30, 7, tzinfo=dt.UTC)
State = Notification.State


def at(moment):
    return time_machine.travel(moment, tick=False)


def run():
    return notification_run(send=notifications_send)


def html_of(message) -> str:
    return message.alternatives[0][0]


@pytest.fixture
def requirement():
    return RequirementFactory(
        name="Fire Safety", course__title="Fire Safety Basics", notify_learners=True, digests=False
    )


# --- enrolled ---------------------------------------------------------------------------------


def test_enroll_emails_the_learner_once_after_the_enrollment_commits(
    requirement, admin_user, django_capture_on_commit_callbacks
):
    learner = LearnerFactory(email="ada@example.com")
    with at(MONDAY), django_capture_on_commit_callbacks(execute=True) as callbacks:
        learner_enroll(actor=admin_user, requirement=requirement, learner_id=learner.pk, today=MONDAY.date())
        assert mail.outbox == []  # nothing before the commit

    assert callbacks
    assert [m.subject for m in mail.outbox] == ["Action needed: take Fire Safety Basics now (Fire Safety)"]
    row = Notification.objects.get()
    assert (row.kind, row.state, row.cycle) == (
        NotificationKind.ENROLLED,
        State.SENT,
        f"enrollment-{learner.enrollments.get().pk}",
    )


def test_remediate_all_emails_each_new_enrollment_and_nobody_twice(
    requirement, admin_user, django_capture_on_commit_callbacks
):
    learners = [LearnerFactory() for _ in range(3)]
    with at(MONDAY):
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                requirement_remediate(
                    actor=admin_user, requirement=requirement, status=Status.NOT_STARTED, query="", today=MONDAY.date()
                )

    assert sorted(m.to[0] for m in mail.outbox) == sorted(learner.email for learner in learners)


def test_enroll_sends_nothing_while_notify_learners_is_off(requirement, admin_user, django_capture_on_commit_callbacks):
    requirement.notify_learners = False
    requirement.save()
    learner = LearnerFactory()
    with at(MONDAY), django_capture_on_commit_callbacks(execute=True):
        learner_enroll(actor=admin_user, requirement=requirement, learner_id=learner.pk, today=MONDAY.date())

    assert mail.outbox == []
    assert not Notification.objects.exists()


def test_the_enrolled_learner_is_reminded_only_after_the_interval(
    requirement, admin_user, django_capture_on_commit_callbacks
):
    learner = LearnerFactory()
    with at(MONDAY):
        with django_capture_on_commit_callbacks(execute=True):
            learner_enroll(actor=admin_user, requirement=requirement, learner_id=learner.pk, today=MONDAY.date())
        run()
    with at(MONDAY + dt.timedelta(days=6)):
        run()
    with at(MONDAY + dt.timedelta(days=7)):
        run()

    assert [m.subject.split(":")[0] for m in mail.outbox] == ["Action needed", "Reminder"]


# --- digests ----------------------------------------------------------------------------------


def test_a_manager_digest_lists_the_direct_reports_who_need_training_once_a_week(requirement):
    requirement.digests = True
    requirement.save()
    boss = "boss@example.com"
    expired = LearnerFactory(first_name="Ed", last_name="Expired", manager_email=boss)
    CompletionFactory(learner=expired, course=requirement.course, day=dt.date(2025, 1, 10))
    LearnerFactory(first_name="Nell", last_name="New", manager_email=boss)
    compliant = LearnerFactory(first_name="Cy", last_name="Current", manager_email=boss)
    CompletionFactory(learner=compliant, course=requirement.course, day=dt.date(2026, 11, 1))
    LearnerFactory(first_name="Ot", last_name="Other", manager_email="someone@example.com", active=False)

    with at(MONDAY):
        run()
    with at(MONDAY + dt.timedelta(days=1)):
        run()

    digests = [m for m in mail.outbox if m.to == [boss]]
    assert len(digests) == 1
    assert digests[0].subject == "Action needed this week: 2 of your team need compliance training"
    body = digests[0].body
    assert f"- Ed Expired <{expired.email}>: Expired (expired 10 Jan 2026)\n" in body
    assert "- Nell New <" in body and ">: Not Started\n" in body
    assert "Cy Current" not in body
    assert f"/learning/compliance/{requirement.pk}/report/" in body
    assert not any(m.to == ["someone@example.com"] for m in mail.outbox)


def test_an_admin_digest_shows_counts_and_the_change_since_last_week(requirement):
    requirement.digests = True
    requirement.notify_learners = False
    requirement.save()
    UserFactory(email="alice@example.com").groups.add(Group.objects.get_or_create(name=ADMINS_GROUP)[0])
    learners = [LearnerFactory() for _ in range(3)]
    with at(MONDAY):
        run()
    CompletionFactory(learner=learners[0], course=requirement.course, day=dt.date(2026, 12, 2))
    with at(MONDAY + dt.timedelta(days=7)):
        run()

    digests = [m for m in mail.outbox if m.to == ["alice@example.com"]]
    assert [m.subject for m in digests] == [
        "Compliance digest for the week of 30 Nov 2026: counts per requirement",
        "Compliance digest for the week of 7 Dec 2026: counts per requirement",
    ]
    assert "Not Started: 3\n" in digests[0].body
    assert "Compliant: 1 (+1)" in digests[1].body
    assert "Not Started: 2 (-1)" in digests[1].body
    assert list(DigestSnapshot.objects.order_by("week").values_list("week", flat=True)) == [
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 7),
    ]


def test_a_digest_missed_on_monday_is_sent_by_the_next_run_of_the_week(requirement):
    requirement.digests = True
    requirement.save()
    UserFactory(email="alice@example.com", is_superuser=True)
    with at(MONDAY + dt.timedelta(days=2)):
        run()
        run()

    assert [m.to for m in mail.outbox if "digest" in m.subject] == [["alice@example.com"]]
    assert Notification.objects.get(kind=NotificationKind.ADMIN_DIGEST).cycle == "2026-11-30"


# --- escaping ------------------------------------------------------------------------------------


def test_hostile_names_are_escaped_in_the_html_and_kept_on_one_line_in_the_subject():
    requirement = RequirementFactory(
        name="<script>alert(1)</script>\nBcc: x@evil.example",
        course__title='Fire "Safety" <b>bold</b>',
        notify_learners=True,
    )
    learner = LearnerFactory(first_name="<img src=x onerror=alert(2)>", manager_email="boss@example.com")
    CompletionFactory(learner=learner, course=requirement.course, day=dt.date(2025, 1, 10))
    with at(MONDAY):
        run()

    learner_email = next(m for m in mail.outbox if m.to == [learner.email])
    html = html_of(learner_email)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "<b>bold</b>" not in html
    assert "\n" not in learner_email.subject
    assert learner_email.subject.startswith("Action needed: <script>alert(1)</script> Bcc: x@evil.example expired on")
    assert "Hello <img src=x onerror=alert(2)>," in learner_email.body  # plain text is not HTML-escaped
    manager_html = html_of(next(m for m in mail.outbox if m.to == ["boss@example.com"]))
    assert "<script>" not in manager_html and "<img src=x" not in manager_html


# --- "This will email N learners now" ----------------------------------------------------------


def test_the_count_is_the_learners_the_next_run_would_email_and_writes_nothing(requirement):
    requirement.notify_learners = False
    requirement.save()
    for day in (dt.date(2025, 1, 10), dt.date(2025, 12, 20), dt.date(2026, 11, 1)):
        CompletionFactory(learner=LearnerFactory(), course=requirement.course, day=day)  # expired, expiring, compliant
    LearnerFactory(), LearnerFactory(active=False)  # not started; deactivated

    with at(MONDAY):
        count = learners_to_email_now(requirement, today=MONDAY.date())
        assert not Notification.objects.exists()
        requirement.notify_learners = True
        requirement.save()
        run()

    assert count == 3
    assert len(mail.outbox) == 3


# --- Queries -------------------------------------------------------------------------------------


def build(n_learners: int, n_requirements: int = 2):
    UserFactory(email="alice@example.com", is_superuser=True)
    for _ in range(n_requirements):
        requirement = RequirementFactory(notify_learners=True, digests=True)
        for i in range(n_learners):
            learner = LearnerFactory(manager_email=f"boss{i % 3}@example.com")
            if i % 2:
                CompletionFactory(learner=learner, course=requirement.course, day=dt.date(2025, 11 - i % 3, 10))


@pytest.mark.parametrize("n_learners", [4, 40])
def test_the_decision_run_runs_a_fixed_number_of_queries(django_assert_num_queries, n_learners):
    build(n_learners)
    # The requirements with notify_learners (2: the rows and their course history);
    # per such requirement: Expiring Soon, Expired, reminders (3 x 2);
    # the requirements with digests (2); manager digests: this week's? (1) + one per requirement (2);
    # admin digests: the admins (1), this week's? (1), the counts (1), the snapshot insert and
    # read-back (2), the previous snapshots (1).
    with at(MONDAY), django_assert_num_queries(2 + 6 + 2 + 3 + 6):
        decided = notifications_decide(today=MONDAY.date())
    assert len(decided) > n_learners
