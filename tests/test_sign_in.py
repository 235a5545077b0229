"""Sign-in: throttled (5 failures per username, 20 per address, in 15 minutes,
refused for 15 minutes, the same answer whether or not the account exists),
every attempt audited, sessions end after 8 idle hours."""

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client, override_settings
from django.urls import reverse

from compliance.models import AuditEvent
from compliance.sign_in import FAILED, LOCKED_OUT_MESSAGE, REFUSED, SIGNED_IN, lockout_end

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
