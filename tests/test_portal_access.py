"""Sign-in, the roles and /healthz."""

import datetime as dt

import pytest
import time_machine
from django.db import DatabaseError

from compliance.recompute import recompute

pytestmark = pytest.mark.django_db


def test_root_redirects_to_the_compliance_portal(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/learning/compliance/"


def test_the_sign_in_page_has_labelled_fields(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">' in html and 'id="id_username" name="username"' in html
    assert '<label for="id_password">' in html and 'id="id_password" name="password"' in html


def test_signing_in_lands_on_the_portal(client, admin_user):
    response = client.post("/accounts/login/", {"username": "alice", "password": "correct horse battery staple"})
    assert response.status_code == 302
    assert response["Location"] == "/learning/compliance/"


def test_a_wrong_password_is_refused_with_a_message(client, admin_user):
    response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


def test_signing_out_is_a_post(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/learning/compliance/").status_code == 302


@pytest.mark.parametrize(
    ("user_fixture", "expected"), [("admin_user", 200), ("auditor_user", 200), ("outsider_user", 403)]
)
def test_portal_roles(client, request, user_fixture, expected):
    client.force_login(request.getfixturevalue(user_fixture))
    assert client.get("/learning/compliance/").status_code == expected


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get("/learning/compliance/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/learning/compliance/"


def test_anonymous_htmx_requests_get_an_hx_redirect(client):
    response = client.get("/learning/compliance/", headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == "/accounts/login/?next=/learning/compliance/"


def test_healthz_answers_ok_with_the_last_recompute(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content.decode() == "ok\nlast recompute: never\n"
    with time_machine.travel(dt.datetime(2026, 11, 28, 4, 0, 5, tzinfo=dt.UTC), tick=False):
        recompute(trigger="test")
    assert client.get("/healthz").content.decode() == "ok\nlast recompute: 2026-11-28T04:00:05+00:00\n"


def test_healthz_answers_503_when_the_database_does_not(client, monkeypatch):
    def broken():
        raise DatabaseError("connection refused")

    monkeypatch.setattr("compliance.views.health.last_successful_full_recompute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503


def test_an_anonymous_post_is_sent_to_sign_in_not_refused(client):
    response = client.post("/learning/compliance/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
