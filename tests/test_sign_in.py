"""Sign-in: throttled (5 failures per username, 20 per address, in 15 minutes,
refused for 15 minutes, the same answer whether or not the account exists),
every attempt audited, sessions end after 8 idle hours."""

import datetime as dt
import re
import threading

import pytest
import time_machine
from django.contrib.auth import forms as auth_forms
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse

from compliance.models import AuditEvent
from compliance.sign_in import FAILED, LOCKED_OUT_MESSAGE, REFUSED, SIGNED_IN, lockout_end, sign_in_events
from tests.pg import backends_waiting_for_advisory_lock, raw_connection, wait_until

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory
MISMATCH = "Your username and password didn't match."
NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
LOGIN = "/accounts/login/"


def sign_in(client, username, password, address="203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, username, times, address="203.0.113.7"):
    for _ in range(times):
        response = sign_in(client, username, "wrong password", address)
        assert response.status_code == 200 and MISMATCH in response.content.decode()


def alert(response) -> str:
    """The sign-in page's message, the one thing that differs between answers."""
    return re.search(r'role="alert">(.*?)</p>', response.content.decode(), re.S)[1]


def signed_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == reverse("requirement_list")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def test_five_failures_for_a_username_lock_it_even_with_the_right_password(client, admin_user, frozen):
    fail(client, "alice", 5)
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 200
    assert alert(response) == LOCKED_OUT_MESSAGE
    assert "_auth_user_id" not in client.session


def test_four_failures_do_not_lock(client, admin_user, frozen):
    fail(client, "alice", 4)
    assert signed_in(sign_in(client, "alice", PASSWORD))


def test_the_lock_is_per_username(client, admin_user, auditor_user, frozen):
    fail(client, "alice", 5, address="198.51.100.1")
    assert signed_in(sign_in(client, "bob", PASSWORD, address="198.51.100.2"))


def test_twenty_failures_from_one_address_lock_the_address_for_every_username(client, admin_user, frozen):
    for i in range(20):
        fail(client, f"guess{i}", 1, address="198.51.100.9")
    assert alert(sign_in(client, "alice", PASSWORD, address="198.51.100.9")) == LOCKED_OUT_MESSAGE
    assert signed_in(sign_in(Client(), "alice", PASSWORD, address="198.51.100.10"))  # another address may


def test_nineteen_failures_from_one_address_do_not_lock_it(client, admin_user, frozen):
    for i in range(19):
        fail(client, f"guess{i}", 1, address="198.51.100.9")
    assert signed_in(sign_in(client, "alice", PASSWORD, address="198.51.100.9"))


def test_the_answer_is_the_same_whether_or_not_the_account_exists(client, admin_user, frozen):
    assert alert(sign_in(client, "alice", "wrong")) == alert(sign_in(client, "nobody", "wrong"))
    fail(client, "alice", 4)
    fail(client, "nobody", 4)
    locked_existing, locked_missing = sign_in(client, "alice", PASSWORD), sign_in(client, "nobody", PASSWORD)
    assert (locked_existing.status_code, alert(locked_existing)) == (200, LOCKED_OUT_MESSAGE)
    assert (locked_missing.status_code, alert(locked_missing)) == (200, LOCKED_OUT_MESSAGE)


def test_the_lockout_lasts_fifteen_minutes_and_refusals_do_not_extend_it(client, admin_user, frozen):
    fail(client, "alice", 5)
    frozen.shift(dt.timedelta(minutes=14, seconds=59))
    assert alert(sign_in(client, "alice", PASSWORD)) == LOCKED_OUT_MESSAGE  # a refusal, not a failure
    frozen.shift(dt.timedelta(seconds=1))
    assert signed_in(sign_in(client, "alice", PASSWORD))


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(client, admin_user, frozen):
    fail(client, "alice", 4)
    frozen.shift(dt.timedelta(minutes=15, seconds=1))
    fail(client, "alice", 1)
    assert signed_in(sign_in(client, "alice", PASSWORD))


@override_settings(LOGIN_FAILURES_PER_USERNAME=2, LOGIN_LOCKOUT_MINUTES=60)
def test_the_limits_are_settings(client, admin_user, frozen):
    fail(client, "alice", 2)
    frozen.shift(dt.timedelta(minutes=59))
    assert alert(sign_in(client, "alice", PASSWORD)) == LOCKED_OUT_MESSAGE


@override_settings(LOGIN_TRUST_X_FORWARDED_FOR=True)
def test_behind_a_trusted_proxy_the_address_is_the_last_forwarded_one(client, admin_user, frozen):
    for i in range(20):
        client.post(
            LOGIN,
            {"username": f"guess{i}", "password": "x"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 198.51.100.9",  # the first part is the client's to forge
        )
    assert AuditEvent.objects.filter(action=FAILED, after__address="198.51.100.9").count() == 20
    response = client.post(
        LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.9"
    )
    assert alert(response) == LOCKED_OUT_MESSAGE


def test_the_admin_sign_in_is_throttled_too(client, admin_user, frozen):
    admin_user.is_staff = True
    admin_user.save()
    fail(client, "alice", 5)
    response = client.post(
        reverse("admin:login"),
        {"username": "alice", "password": PASSWORD, "next": "/admin/"},
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 200
    assert LOCKED_OUT_MESSAGE in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_every_attempt_is_audited_with_actor_time_object_and_outcome(client, admin_user, frozen):
    sign_in(client, "nobody", "wrong")
    sign_in(client, "alice", "wrong")
    fail(client, "alice", 4)
    sign_in(client, "alice", PASSWORD)  # refused
    frozen.shift(dt.timedelta(minutes=16))
    sign_in(client, "alice", PASSWORD)

    events = list(AuditEvent.objects.filter(action__startswith="auth.").order_by("id"))
    assert [event.action for event in events] == [FAILED] * 6 + [REFUSED, SIGNED_IN]
    nobody, failed, refused, success = events[0], events[1], events[6], events[7]
    assert (nobody.actor_id, nobody.actor_label, nobody.object_type, nobody.object_id) == (None, "nobody", "user", "")
    assert (failed.actor_id, failed.actor_label, failed.object_id) == (None, "alice", str(admin_user.pk))
    assert failed.after == {"address": "203.0.113.7", "site": "portal", "outcome": "failed"}
    assert refused.after["outcome"] == "refused: too many failures"
    assert (success.actor_id, success.actor_label, success.after["outcome"]) == (admin_user.pk, "alice", "signed in")
    assert failed.at == NOW and success.at == NOW + dt.timedelta(minutes=16)
    assert success.at.utcoffset() == dt.timedelta(0)


def test_sign_ins_read_well_on_the_audit_log_page(client, admin_user, frozen):
    sign_in(client, "mallory<script>", "wrong")
    sign_in(client, "alice", PASSWORD)
    html = client.get(reverse("audit_log")).content.decode()
    assert "Sign-in failed" in html and "Signed in" in html
    assert "mallory&lt;script&gt;" in html and "mallory<script>" not in html


def test_a_form_without_a_password_is_no_attempt(client, admin_user, frozen):
    client.post(LOGIN, {"username": "alice", "password": ""})
    assert not AuditEvent.objects.exists()


def test_lockout_end_starts_at_the_failure_that_reaches_the_limit():
    minute = dt.timedelta(minutes=1)
    window, lockout = 15 * minute, 15 * minute
    failures = [NOW + i * 3 * minute for i in range(6)]  # 0, 3, 6, 9, 12, 15 minutes
    assert lockout_end(failures[:4], limit=5, window=window, lockout=lockout) is None
    assert lockout_end(failures[:5], limit=5, window=window, lockout=lockout) == NOW + 27 * minute
    # A failure during a lockout (a sign-in from before it began) starts a later one.
    assert lockout_end(failures, limit=5, window=window, lockout=lockout) == NOW + 30 * minute
    spread = [NOW + i * 4 * minute for i in range(6)]  # 0 .. 20 minutes: never 5 within 15
    assert lockout_end(spread, limit=5, window=window, lockout=lockout) is None


def test_a_session_ends_after_eight_idle_hours(client, admin_user, frozen):
    assert signed_in(sign_in(client, "alice", PASSWORD))
    frozen.shift(dt.timedelta(hours=7, minutes=59))
    assert client.get(reverse("requirement_list")).status_code == 200  # use keeps it alive
    frozen.shift(dt.timedelta(hours=7, minutes=59))
    assert client.get(reverse("requirement_list")).status_code == 200
    frozen.shift(dt.timedelta(hours=8, minutes=1))
    response = client.get(reverse("requirement_list"))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


# --- Floods and races ------------------------------------------------------------------------


def test_refusals_during_a_lockout_are_recorded_once(client, admin_user, frozen):
    fail(client, "alice", 5)
    for minute in range(10):
        frozen.shift(dt.timedelta(minutes=1))
        assert alert(sign_in(client, "alice", PASSWORD)) == LOCKED_OUT_MESSAGE
        assert alert(sign_in(client, "alice", "wrong", address=f"198.51.100.{minute}")) == LOCKED_OUT_MESSAGE
    assert AuditEvent.objects.filter(action=REFUSED).count() == 1
    assert AuditEvent.objects.filter(action=FAILED).count() == 5


def test_an_address_lockout_records_one_refusal_whatever_the_usernames(client, admin_user, frozen):
    for i in range(20):
        sign_in(client, f"guess{i}", "wrong")
    for i in range(30):
        assert alert(sign_in(client, f"other{i}", "wrong")) == LOCKED_OUT_MESSAGE
    assert AuditEvent.objects.filter(action=REFUSED).count() == 1


def test_the_next_lockout_records_its_first_refusal_again(client, admin_user, frozen):
    fail(client, "alice", 5)
    sign_in(client, "alice", PASSWORD)
    frozen.shift(dt.timedelta(minutes=16))  # the lockout is over, its failures out of the window
    fail(client, "alice", 5)
    sign_in(client, "alice", PASSWORD)
    sign_in(client, "alice", PASSWORD)
    assert AuditEvent.objects.filter(action=REFUSED).count() == 2


@pytest.mark.postgres
@pytest.mark.parametrize("lookup", ["username", "address"])
def test_the_lockout_lookups_use_their_index(lookup):
    """With many failures in the window from many usernames and addresses, each
    lookup reads its own index, not every failure of the window."""
    AuditEvent.objects.bulk_create(
        AuditEvent(
            at=NOW,
            actor_label=f"user{i % 500}",
            action=FAILED,
            object_type="user",
            after={"address": f"198.51.{i % 200}.{i % 250}", "site": "portal", "outcome": "failed"},
        )
        for i in range(5000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE compliance_auditevent")
    by_username, by_address = sign_in_events(FAILED, username="user7", address="198.51.7.7", since=NOW)
    plan = (by_username if lookup == "username" else by_address).explain()
    expected = {"username": "audit_actor_idx", "address": "audit_sign_in_address_idx"}[lookup]
    assert expected in plan, plan


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_get_no_more_password_checks_than_the_limit(admin_user, monkeypatch):
    """Ten wrong passwords for one username at once: the password is tested five
    times, then refused. Each password test waits until either all ten attempts
    are inside one (no serialisation) or the other nine wait for the lock."""
    attempts, inside, checks = 10, [], []
    release = threading.Event()
    real_authenticate = auth_forms.authenticate

    def held_authenticate(*args, **kwargs):
        inside.append(1)
        release.wait(timeout=30)
        checks.append(1)
        return real_authenticate(*args, **kwargs)

    monkeypatch.setattr(auth_forms, "authenticate", held_authenticate)
    answers = []

    def attempt(i):
        try:
            answers.append(alert(sign_in(Client(), "alice", "wrong password", address=f"198.51.100.{i}")))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    with raw_connection() as watcher:
        wait_until(lambda: len(inside) == attempts or backends_waiting_for_advisory_lock(watcher) == attempts - 1)
    release.set()
    for thread in threads:
        thread.join(timeout=60)

    assert len(checks) == 5
    outcomes = sorted(
        "refused" if answer == LOCKED_OUT_MESSAGE else "failed" if MISMATCH in answer else answer for answer in answers
    )
    assert outcomes == ["failed"] * 5 + ["refused"] * 5
    assert AuditEvent.objects.filter(action=FAILED).count() == 5
    assert AuditEvent.objects.filter(action=REFUSED).count() == 1
