"""The enrolled email, the weekly digests, escaping in emails, "This will
email N learners now", and the decision run's fixed number of queries."""

import datetime as dt
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail

from compliance.models import DigestSnapshot, DigestWeek, Notification, NotificationKind
from compliance.notifications.decisions import learners_to_email_now, next_run_day
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


def test_a_manager_digest_lists_the_direct_reports_who_need_training_once_a_week(settings, requirement):
    settings.SITE_URL = "https://lms.example/"
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
    report = f"https://lms.example/learning/compliance/{requirement.pk}/report/"
    ed = urlencode({"status": "expired", "q": expired.email})
    assert f"- Ed Expired <{expired.email}>: Expired (expired 10 Jan 2026): {report}?{ed}\n" in body
    assert "- Nell New <" in body and f">: Not Started: {report}?status=not_started&q=" in body
    assert "Cy Current" not in body
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


def test_no_digest_mid_week_when_mondays_run_found_nobody_yet_a_week_without_a_monday_run_catches_up(requirement):
    requirement.digests = True
    requirement.save()
    with at(MONDAY):
        run()  # nobody to tell: the week's digests are decided, and there are none
    learner = LearnerFactory(manager_email="boss@example.com")  # Not Started, from Tuesday
    UserFactory(email="alice@example.com", is_superuser=True)
    with at(MONDAY + dt.timedelta(days=2)):
        run()
    assert not [m for m in mail.outbox if "digest" in m.subject or m.to == ["boss@example.com"]]

    with at(MONDAY + dt.timedelta(days=8)):  # no run on the next Monday; Tuesday's catches up
        run()
        run()
    assert sorted(m.to[0] for m in mail.outbox if m.to != [learner.email]) == [
        "alice@example.com",
        "boss@example.com",
    ]
    assert set(DigestWeek.objects.values_list("kind", "week")) == {
        (kind, week)
        for kind in (NotificationKind.MANAGER_DIGEST, NotificationKind.ADMIN_DIGEST)
        for week in (dt.date(2026, 11, 30), dt.date(2026, 12, 7))
    }


def test_a_deactivated_manager_gets_no_digest(requirement):
    requirement.digests = True
    requirement.save()
    LearnerFactory(email="Gone.Boss@example.com", active=False)
    LearnerFactory(manager_email="gone.boss@EXAMPLE.com")
    LearnerFactory(manager_email="boss@example.com")
    with at(MONDAY):
        run()

    digests = Notification.objects.filter(kind=NotificationKind.MANAGER_DIGEST)
    assert list(digests.values_list("recipient", flat=True)) == ["boss@example.com"]


def test_a_manager_digest_links_each_person_to_their_status_tab_searched_for_them(requirement):
    requirement.digests = True
    requirement.save()
    learner = LearnerFactory(email="o'neil+x@example.com", first_name="<b>Al</b>", manager_email="boss@example.com")
    CompletionFactory(learner=learner, course=requirement.course, day=dt.date(2025, 12, 20))  # Expiring Soon
    with at(MONDAY):
        run()

    digest = next(m for m in mail.outbox if m.to == ["boss@example.com"])
    path = f"/learning/compliance/{requirement.pk}/report/?status=expiring_soon&amp;q=o%27neil%2Bx%40example.com"
    assert f'<a href="{settings.SITE_URL.rstrip("/")}{path}">&lt;b&gt;Al&lt;/b&gt; ' in html_of(digest)
    assert path.replace("&amp;", "&") in digest.body


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


def test_the_count_applies_the_reminder_settings_posted_with_it(requirement):
    requirement.notify_learners = False
    requirement.save()
    for _ in range(3):
        LearnerFactory()  # Not Started: emailed only by reminders

    with at(MONDAY):
        without = learners_to_email_now(requirement, today=MONDAY.date(), changes={"reminder_every_days": 0})
        no_reminders = learners_to_email_now(requirement, today=MONDAY.date(), changes={"reminder_max": 0})
        stored = learners_to_email_now(requirement, today=MONDAY.date())
        requirement.notify_learners, requirement.reminder_every_days = True, 0
        requirement.save()
        run()

    assert (without, no_reminders, stored) == (0, 0, 3)
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("local_time", "day"),
    [("06:59", dt.date(2026, 11, 30)), ("07:00", dt.date(2026, 12, 1)), ("23:30", dt.date(2026, 12, 1))],
)
def test_the_next_run_is_today_before_the_notify_hour_and_tomorrow_from_it(settings, local_time, day):
    settings.TIME_ZONE, settings.NOTIFY_HOUR = "America/New_York", 7
    hour, minute = map(int, local_time.split(":"))
    moment = dt.datetime(2026, 11, 30, hour, minute, tzinfo=ZoneInfo("America/New_York"))

    assert next_run_day(moment) == day


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
    # the requirements with digests (2); manager digests: this week's? and recording it (2) + one
    # per requirement (2); admin digests: this week's? and recording it (2), the admins (1), the
    # counts (1), the snapshot insert and read-back (2), the previous snapshots (1).
    with at(MONDAY), django_assert_num_queries(2 + 6 + 2 + 4 + 7):
        decided = notifications_decide(today=MONDAY.date())
    assert len(decided) > n_learners
