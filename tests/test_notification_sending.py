"""Sending the outbox: the check before sending, retries with backoff, a
failing mail server, and the file backend through ``send_notifications``."""

import datetime as dt
import email
import email.policy
import socket

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import CommandError, call_command

from compliance.models import DigestSnapshot, DigestWeek, Notification
from compliance.notifications import sending
from compliance.notifications.run import notification_run
from compliance.notifications.sending import (
    DROP_COMPLIANT,
    DROP_DEACTIVATED,
    DROP_NOTIFY_OFF,
    DROP_OUT_OF_SCOPE,
    MAX_ATTEMPTS,
    STALE_CLAIM,
    STALE_CLAIM_ERROR,
    notifications_send,
    release_stale_claims,
    send_due_notifications,
)
from tests.factories import (
    CompletionFactory,
    GroupFactory,
    LearnerFactory,
    MembershipFactory,
    RequirementFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

RUN_DAY = dt.datetime(2027, 1, 12, 7, tzinfo=dt.UTC)
State = Notification.State


class FlakyBackend(LocmemBackend):
    """The locmem backend, failing every send while ``down``."""

    down = False

    def send_messages(self, messages):
        if FlakyBackend.down:
            raise ConnectionRefusedError("the mail server is down")
        return super().send_messages(messages)


@pytest.fixture
def flaky(settings):
    settings.EMAIL_BACKEND = "tests.test_notification_sending.FlakyBackend"
    yield FlakyBackend
    FlakyBackend.down = False


@pytest.fixture
def requirement():
    return RequirementFactory(
        name="Fire Safety", course__title="Fire Safety Basics", valid_days=365, warning_days=30, notify_learners=True
    )


@pytest.fixture
def expired_learner(requirement):
    learner = LearnerFactory(email="ada@example.com")
    CompletionFactory(learner=learner, course=requirement.course, day=dt.date(2026, 1, 10))
    return learner


def decide_only():
    """Run without sending: the rows stay pending."""
    return notification_run(send=lambda ids: None)


def at(moment):
    return time_machine.travel(moment, tick=False)


# --- The check before sending -------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("complete", DROP_COMPLIANT),
        ("deactivate", DROP_DEACTIVATED),
        ("leave_scope", DROP_OUT_OF_SCOPE),
        ("notify_off", DROP_NOTIFY_OFF),
    ],
)
def test_an_email_decided_for_someone_it_no_longer_concerns_is_dropped_with_the_reason(
    requirement, expired_learner, change, reason
):
    team = GroupFactory()
    MembershipFactory(learner=expired_learner, group=team)
    requirement.target_group = team
    requirement.save()
    with at(RUN_DAY):
        decide_only()
        assert Notification.objects.get().state == State.PENDING
        if change == "complete":
            CompletionFactory(learner=expired_learner, course=requirement.course, day=RUN_DAY.date())
        elif change == "deactivate":
            expired_learner.active = False
            expired_learner.save()
        elif change == "leave_scope":
            expired_learner.memberships.all().delete()
        else:
            requirement.notify_learners = False
            requirement.save()
        result = send_due_notifications()

    row = Notification.objects.get()
    assert (row.state, row.drop_reason, row.sent_at) == (State.DROPPED, reason, None)
    assert result.dropped == 1
    assert mail.outbox == []


# --- Retries ---------------------------------------------------------------------------------


def test_a_failing_send_is_retried_after_1_2_4_and_8_minutes_then_left_failed(flaky, expired_learner):
    flaky.down = True
    with at(RUN_DAY) as traveller:
        decide_only()
        send_due_notifications()
        row = Notification.objects.get()
        waits = []
        while row.state == State.PENDING:
            waits.append(round((row.next_attempt_at - RUN_DAY).total_seconds() / 60))
            assert row.last_error == "ConnectionRefusedError: the mail server is down"
            # Not a second early.
            traveller.move_to(row.next_attempt_at - dt.timedelta(seconds=1))
            assert send_due_notifications().sent + send_due_notifications().retrying == 0
            traveller.move_to(row.next_attempt_at)
            send_due_notifications()
            row.refresh_from_db()

    assert waits == [1, 1 + 2, 1 + 2 + 4, 1 + 2 + 4 + 8]
    assert (row.state, row.attempts, row.sent_at) == (State.FAILED, 5, None)
    assert row.last_error == "ConnectionRefusedError: the mail server is down"
    assert mail.outbox == []
    with at(RUN_DAY + dt.timedelta(days=1)):
        send_due_notifications()
    assert Notification.objects.get().attempts == 5


def test_a_mail_server_that_recovers_gets_every_email_once(flaky, requirement):
    learners = [LearnerFactory() for _ in range(3)]
    for learner in learners:
        CompletionFactory(learner=learner, course=requirement.course, day=dt.date(2026, 1, 10))
    flaky.down = True
    with at(RUN_DAY) as traveller:
        decide_only()
        send_due_notifications()  # first attempt: fails
        traveller.shift(dt.timedelta(minutes=1))
        send_due_notifications()  # second: fails
        flaky.down = False
        traveller.shift(dt.timedelta(minutes=1))
        assert send_due_notifications().sent == 0  # not due before the 2-minute wait is over
        traveller.shift(dt.timedelta(minutes=1))
        send_due_notifications()  # third: the server is back
        traveller.shift(dt.timedelta(hours=1))
        send_due_notifications()
        decide_only()
        send_due_notifications()

    assert sorted(m.to[0] for m in mail.outbox) == sorted(learner.email for learner in learners)
    rows = Notification.objects.all()
    assert {(row.state, row.attempts) for row in rows} == {(State.SENT, 3)}
    assert all(row.last_error == "" for row in rows)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_smtp_server_that_refuses_connections_is_recorded_and_retried(settings, expired_learner):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    with at(RUN_DAY):
        decide_only()
        result = send_due_notifications()

    row = Notification.objects.get()
    assert (row.state, row.attempts) == (State.PENDING, 1)
    assert row.last_error.startswith("ConnectionRefusedError")
    assert row.next_attempt_at == RUN_DAY + dt.timedelta(minutes=1)
    assert result.retrying == 1


def test_two_senders_given_the_same_rows_send_each_once(expired_learner):
    with at(RUN_DAY):
        decide_only()
        ids = list(Notification.objects.values_list("pk", flat=True))
        first, second = notifications_send(ids), notifications_send(ids)

    assert (first.sent, second.sent) == (1, 0)
    assert len(mail.outbox) == 1


def test_a_row_whose_claim_another_sender_took_over_is_not_sent_again(monkeypatch, expired_learner):
    check_again = sending._check_again

    def claim_taken_over_meanwhile(rows):
        # As if this sender stalled past STALE_CLAIM: the claim was released and another sender took the row.
        Notification.objects.update(claim_token="another-sender")
        return check_again(rows)

    monkeypatch.setattr(sending, "_check_again", claim_taken_over_meanwhile)
    with at(RUN_DAY):
        decide_only()
        result = notifications_send(list(Notification.objects.values_list("pk", flat=True)))

    assert (result.sent, result.failed, result.retrying) == (0, 0, 0)
    assert mail.outbox == []
    row = Notification.objects.get()
    assert (row.state, row.claim_token) == (State.SENDING, "another-sender")


def test_a_sent_row_renewed_its_claim_just_before_sending(monkeypatch, expired_learner):
    check_again = sending._check_again
    with at(RUN_DAY) as traveller:

        def slow_check_again(rows):
            traveller.shift(dt.timedelta(minutes=3))  # between the claim and the send
            return check_again(rows)

        monkeypatch.setattr(sending, "_check_again", slow_check_again)
        decide_only()
        notifications_send(list(Notification.objects.values_list("pk", flat=True)))

    assert Notification.objects.get().claimed_at == RUN_DAY + dt.timedelta(minutes=3)


def test_the_sending_tasks_time_out_before_their_claims_go_stale():
    from compliance.tasks import send_due_notifications_task, send_notifications_task

    for task in (send_notifications_task, send_due_notifications_task):
        assert task.soft_time_limit < task.time_limit < STALE_CLAIM.total_seconds()


@pytest.mark.parametrize(
    ("attempts_before", "state"), [(MAX_ATTEMPTS - 2, State.PENDING), (MAX_ATTEMPTS - 1, State.FAILED)]
)
def test_a_claim_that_goes_stale_counts_as_an_attempt(expired_learner, attempts_before, state):
    with at(RUN_DAY) as traveller:
        decide_only()
        Notification.objects.update(attempts=attempts_before)
        sending._claim(list(Notification.objects.values_list("pk", flat=True)))  # then the sender dies
        traveller.shift(STALE_CLAIM + dt.timedelta(seconds=1))
        released = release_stale_claims()

    row = Notification.objects.get()
    assert released == 1
    assert (row.state, row.attempts, row.claim_token) == (state, attempts_before + 1, "")
    assert row.last_error == ("" if state == State.PENDING else STALE_CLAIM_ERROR)


def test_a_row_whose_sender_keeps_dying_ends_failed(expired_learner):
    with at(RUN_DAY) as traveller:
        decide_only()
        ids = list(Notification.objects.values_list("pk", flat=True))
        for _ in range(MAX_ATTEMPTS):
            assert sending._claim(ids)  # the sender dies each time
            traveller.shift(STALE_CLAIM + dt.timedelta(seconds=1))
            release_stale_claims()
        assert send_due_notifications().sent == 0

    row = Notification.objects.get()
    assert (row.state, row.attempts, row.last_error) == (State.FAILED, MAX_ATTEMPTS, STALE_CLAIM_ERROR)
    assert mail.outbox == []


# --- send_notifications ----------------------------------------------------------------------


def test_send_notifications_writes_the_emails_with_the_file_backend(settings, tmp_path, requirement, expired_learner):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    settings.DEFAULT_FROM_EMAIL = "Acme Compliance <compliance@acme.example>"
    settings.SITE_URL = "https://compliance.acme.example"
    settings.ORG_NAME = "Acme"

    with at(RUN_DAY):
        call_command("send_notifications")

    files = list(tmp_path.iterdir())
    assert len(files) == 1
    # The file backend writes each message followed by a line of dashes.
    message = email.message_from_string(files[0].read_text().rsplit("\n" + "-" * 79, 1)[0], policy=email.policy.default)
    assert message["Subject"] == "Action needed: Fire Safety expired on 10 Jan 2027, retake Fire Safety Basics now"
    assert message["From"] == "Acme Compliance <compliance@acme.example>"
    assert message["To"] == "ada@example.com"
    text, html = message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()
    for part in (text, html):
        assert "expired on 10 Jan 2027" in part
        assert "Fire Safety Basics" in part
        assert "https://compliance.acme.example" in part
        assert "Acme compliance training" in part
    assert Notification.objects.get().state == State.SENT


def test_send_notifications_dry_run_prints_and_writes_nothing(settings, tmp_path, expired_learner, capsys):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    UserFactory(email="alice@example.com", is_superuser=True)  # an admin: the admin digest is decided too

    with at(RUN_DAY):
        call_command("send_notifications", "--dry-run")

    out = capsys.readouterr().out
    assert "Would decide: Expired to ada@example.com about Fire Safety" in out
    assert "Would decide: Admin digest to alice@example.com" in out
    assert "2 email(s) would be decided" in out
    assert not Notification.objects.exists()
    assert not DigestSnapshot.objects.exists()
    assert not DigestWeek.objects.exists()
    assert list(tmp_path.iterdir()) == []


def test_send_notifications_fails_with_a_line_per_email_it_could_not_send(flaky, expired_learner, capsys):
    flaky.down = True
    with at(RUN_DAY), pytest.raises(CommandError, match="1 email"):
        call_command("send_notifications")

    assert "ada@example.com: ConnectionRefusedError: the mail server is down" in capsys.readouterr().err
    assert Notification.objects.get().state == State.PENDING


def test_the_nightly_job_recomputes_then_runs_the_notifications_and_sends_after_commit(
    expired_learner, django_capture_on_commit_callbacks
):
    from compliance.models import RecomputeRun
    from compliance.tasks import nightly_task

    with at(RUN_DAY), django_capture_on_commit_callbacks(execute=True) as callbacks:
        summary = nightly_task(trigger="beat")
        assert mail.outbox == []  # the sending task waits for the commit

    assert RecomputeRun.objects.get().trigger == "beat"
    assert summary.endswith("1 emails decided, 1 due")
    assert len(callbacks) >= 1
    assert Notification.objects.get().state == State.SENT
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]


def test_retries_are_sent_by_the_task_beat_runs_every_minute(flaky, expired_learner):
    from celery.schedules import crontab

    from compliance.tasks import send_due_notifications_task
    from techclass.celery import app

    entry = app.conf.beat_schedule["send-due-notifications"]
    assert (entry["task"], entry["schedule"]) == (send_due_notifications_task.name, crontab(minute="*"))
    flaky.down = True
    with at(RUN_DAY) as traveller:
        decide_only()
        send_due_notifications_task()
        flaky.down = False
        traveller.shift(dt.timedelta(minutes=1))
        assert send_due_notifications_task() == "1 sent, 0 dropped, 0 to retry, 0 failed"
