"""The Notifications section of Settings and the Notifications log pages."""

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.urls import reverse

from compliance.models import AuditEvent, Notification, NotificationKind
from compliance.notifications.log import requirement_choices
from tests.factories import CompletionFactory, LearnerFactory, RequirementFactory

pytestmark = pytest.mark.django_db

TODAY = dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC)
State = Notification.State


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def requirement():
    requirement = RequirementFactory(name="Fire Safety")
    CompletionFactory(learner=LearnerFactory(), course=requirement.course, day=dt.date(2025, 1, 10))  # expired
    LearnerFactory()  # not started
    CompletionFactory(learner=LearnerFactory(), course=requirement.course, day=dt.date(2026, 11, 1))  # compliant
    return requirement


def settings_url(requirement) -> str:
    return reverse("requirement_notification_settings", args=[requirement.pk])


def form(**changes) -> dict:
    return {"reminder_every_days": "7", "reminder_max": "4", "digests": "on"} | changes


# --- Settings -------------------------------------------------------------------------------


def test_turning_learner_emails_on_first_says_how_many_learners_will_be_emailed(admin_client, requirement):
    response = admin_client.post(settings_url(requirement), form(notify_learners="on"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "This will email 2 learners now." in body
    assert 'name="confirm_emails" value="2"' in body
    assert "Turn on and email 2 learners" in body
    requirement.refresh_from_db()
    assert requirement.notify_learners is False
    assert not AuditEvent.objects.filter(action="requirement.notifications").exists()


def test_the_count_shown_uses_the_reminder_settings_posted_with_it(admin_client):
    requirement = RequirementFactory(name="Fire Safety")
    for _ in range(3):
        LearnerFactory()  # Not Started: only a reminder would email them

    response = admin_client.post(settings_url(requirement), form(notify_learners="on", reminder_every_days="0"))

    assert "This will email 0 learners now." in response.content.decode()


def test_after_the_nightly_hour_the_count_is_as_of_tomorrows_run(admin_client, settings):
    settings.NOTIFY_HOUR = 7  # TODAY is 09:00 in the org's zone (UTC): the next run is tomorrow
    requirement = RequirementFactory(name="Fire Safety", valid_days=365, warning_days=30)
    # Compliant today; Expiring Soon from tomorrow (expires 31 Dec 2026, 30 days' warning).
    CompletionFactory(learner=LearnerFactory(), course=requirement.course, day=dt.date(2025, 12, 31))

    response = admin_client.post(settings_url(requirement), form(notify_learners="on"))

    assert "This will email 1 learner now." in response.content.decode()


def test_confirming_the_count_turns_emails_on_and_is_audited(admin_client, requirement):
    response = admin_client.post(
        settings_url(requirement), form(notify_learners="on", confirm_emails="2", reminder_max="2")
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("requirement_settings", args=[requirement.pk])
    requirement.refresh_from_db()
    assert (requirement.notify_learners, requirement.reminder_max) == (True, 2)
    event = AuditEvent.objects.get(action="requirement.notifications")
    assert event.before == {"notify_learners": False, "reminder_max": 4}
    assert event.after == {"notify_learners": True, "reminder_max": 2}
    assert event.actor_label == "alice"


def test_a_count_that_changed_since_it_was_shown_is_asked_again(admin_client, requirement):
    LearnerFactory()  # a third learner to email now

    response = admin_client.post(settings_url(requirement), form(notify_learners="on", confirm_emails="2"))

    assert response.status_code == 200
    assert "This will email 3 learners now." in response.content.decode()
    requirement.refresh_from_db()
    assert requirement.notify_learners is False


def test_other_notification_settings_save_without_a_confirmation(admin_client, requirement):
    response = admin_client.post(settings_url(requirement), form(reminder_every_days="0"))

    assert response.status_code == 302
    requirement.refresh_from_db()
    assert (requirement.reminder_every_days, requirement.digests, requirement.notify_learners) == (0, True, False)


def test_invalid_settings_are_shown_next_to_their_fields_and_nothing_is_saved(admin_client, requirement):
    response = admin_client.post(settings_url(requirement), form(reminder_every_days="-1", reminder_max="x"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "use 0 for none" in body
    assert "Enter a whole number." in body
    requirement.refresh_from_db()
    assert requirement.reminder_every_days == 7
    assert not AuditEvent.objects.exists()


def test_auditors_see_the_notification_settings_read_only(client, auditor_user, requirement):
    client.force_login(auditor_user)
    body = client.get(reverse("requirement_settings", args=[requirement.pk])).content.decode()

    assert "<h2>Notifications</h2>" in body
    assert "<dt>Email learners</dt><dd>Off</dd>" in body
    assert 'name="notify_learners"' not in body


def test_the_settings_page_shows_the_notifications_form_to_admins(admin_client, requirement):
    body = admin_client.get(reverse("requirement_settings", args=[requirement.pk])).content.decode()
    assert f'action="/learning/compliance/{requirement.pk}/settings/notifications/"' in body
    assert 'name="digests" id="id_digests" checked' in body


# --- The log ----------------------------------------------------------------------------------


def outbox_row(requirement, n: int, **fields) -> Notification:
    values = {
        "recipient": f"learner{n}@example.com",
        "kind": NotificationKind.EXPIRED,
        "requirement_id": requirement.pk if requirement else 0,
        "requirement_name": requirement.name if requirement else "",
        "learner_id": n,
        "cycle": "2025-01-10",
        "decided_on": TODAY.date(),
        "state": State.SENT,
    } | fields
    return Notification.objects.create(**values)


@pytest.fixture
def auditor(client, auditor_user):
    client.force_login(auditor_user)
    return client


def test_the_log_lists_sent_dropped_and_failed_emails_with_why(auditor, requirement):
    outbox_row(requirement, 1, subject="Action needed: Fire Safety expired")
    outbox_row(requirement, 2, state=State.DROPPED, drop_reason="The learner became Compliant before it was sent.")
    outbox_row(requirement, 3, state=State.FAILED, attempts=5, last_error="SMTPServerDisconnected: gone")

    body = auditor.get(reverse("requirement_notification_log", args=[requirement.pk])).content.decode()

    assert "Showing 1\N{EN DASH}3 of 3 emails" in body
    assert "The learner became Compliant before it was sent." in body
    assert "SMTPServerDisconnected: gone" in body
    assert 'Failed <span class="muted">after 5 attempts</span>' in body
    assert "Action needed: Fire Safety expired" in body


def test_the_log_filters_by_state_kind_requirement_and_recipient(auditor, requirement):
    other = RequirementFactory(name="Data Privacy")
    outbox_row(requirement, 1)
    outbox_row(requirement, 2, state=State.FAILED, last_error="boom")
    outbox_row(other, 3, kind=NotificationKind.REMINDER, ordinal=1)
    url = reverse("notification_log")

    def shown(params):
        return auditor.get(url, params).content.decode()

    assert "learner2@example.com" in shown({"state": "failed"})
    assert "learner1@example.com" not in shown({"state": "failed"})
    assert "learner3@example.com" in shown({"kind": "reminder"})
    assert "learner1@example.com" not in shown({"requirement": str(other.pk)})
    assert "learner3@example.com" in shown({"requirement": str(other.pk)})
    assert "Showing 1\N{EN DASH}1 of 1 email matching" in shown({"recipient": "LEARNER1"})


def test_an_invalid_filter_shows_its_message_and_no_rows(auditor, requirement):
    outbox_row(requirement, 1)
    body = auditor.get(reverse("notification_log"), {"state": "lost"}).content.decode()
    assert "Choose one of the listed states." in body
    assert "learner1@example.com" not in body


def test_an_htmx_request_gets_only_the_results(auditor, requirement):
    outbox_row(requirement, 1)
    response = auditor.get(reverse("notification_log"), {"state": "sent"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="notification-results"')
    assert response["HX-Push-Url"] == "/learning/compliance/notifications/?state=sent"


def test_the_export_is_protected_against_formulas_and_recorded(auditor, requirement):
    hostile = RequirementFactory(name="=HYPERLINK(1)")
    outbox_row(hostile, 1, state=State.FAILED, last_error="-boom")
    outbox_row(requirement, 2)

    response = auditor.get(reverse("notification_log_export"), {"state": "failed"})

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["decided_at", "kind", "recipient", "requirement"]
    assert len(rows) == 2
    assert rows[1][3] == "'=HYPERLINK(1)"
    assert rows[1][10] == "'-boom"
    assert response["Content-Disposition"] == 'attachment; filename="notifications-2026-11-30.csv"'
    assert AuditEvent.objects.get(action="notification_log.export").after == {"state": "failed"}


def test_a_requirements_export_holds_only_its_emails(auditor, requirement):
    outbox_row(requirement, 1)
    outbox_row(RequirementFactory(), 2)
    response = auditor.get(reverse("requirement_notification_log_export", args=[requirement.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [row[2] for row in rows[1:]] == ["learner1@example.com"]


def test_an_invalid_export_filter_is_a_400_saying_why(auditor, requirement):
    response = auditor.get(reverse("notification_log_export"), {"kind": "spam"})
    assert response.status_code == 400


#: session, user, user's groups
BEFORE = 3
#: SAVEPOINT, UPDATE django_session, RELEASE SAVEPOINT
AFTER = 3


def test_the_requirement_filter_lists_each_requirement_once_by_its_latest_name(django_assert_num_queries):
    fire, privacy = RequirementFactory(name="Fire Safety"), RequirementFactory(name="Data Privacy")
    with time_machine.travel(TODAY - dt.timedelta(days=1), tick=False):
        outbox_row(fire, 1, requirement_name="Fire Drill")
    for n in range(2, 5):
        outbox_row(fire, n)
        outbox_row(privacy, n)
    outbox_row(None, 9, kind=NotificationKind.ADMIN_DIGEST)

    with django_assert_num_queries(1):
        choices = requirement_choices()

    assert choices == [(privacy.pk, "Data Privacy"), (fire.pk, "Fire Safety")]


@pytest.mark.parametrize("rows", [3, 60])
def test_the_log_pages_run_the_same_queries_however_many_rows(auditor, requirement, django_assert_num_queries, rows):
    for n in range(rows):
        outbox_row(requirement, n, state=State.FAILED if n % 2 else State.SENT)

    # the requirement choices, the count, the page
    with django_assert_num_queries(BEFORE + 3 + AFTER):
        auditor.get(reverse("notification_log"), {"page": "1"})
    # the requirement and its course history, the count, the page
    with django_assert_num_queries(BEFORE + 2 + 2 + AFTER):
        auditor.get(reverse("requirement_notification_log", args=[requirement.pk]), {"state": "failed"})
