"""The heartbeat: admins see a warning, and monitors get a 503 from
``/healthz/recompute``, when the last successful full recompute is older than
``RECOMPUTE_STALE_HOURS`` (26) or there is none."""

import datetime as dt

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse

from compliance.models import RecomputeRun
from compliance.recompute import recompute
from tests.factories import LearnerFactory, RequirementFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
BANNER = 'id="recompute-stale"'


def run(*, finished_ago: dt.timedelta, state=RecomputeRun.State.SUCCEEDED, full=True) -> RecomputeRun:
    return RecomputeRun.objects.create(
        full=full,
        trigger="beat",
        started_at=NOW - finished_ago - dt.timedelta(minutes=1),
        finished_at=NOW - finished_ago,
        state=state,
        as_of=(NOW - finished_ago).date(),
    )


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_never_recomputed_is_a_503(client):
    response = client.get("/healthz/recompute")
    assert response.status_code == 503
    assert response.content.decode() == "stale\nlast recompute: never\n"


def test_a_recompute_within_26_hours_is_a_200(client):
    finished = run(finished_ago=dt.timedelta(hours=25, minutes=59)).finished_at
    response = client.get("/healthz/recompute")
    assert response.status_code == 200
    assert response.content.decode() == f"ok\nlast recompute: {finished.isoformat()}\n"
    assert response["Cache-Control"].startswith("max-age=0")


def test_a_recompute_older_than_26_hours_is_a_503(client):
    run(finished_ago=dt.timedelta(hours=26, seconds=1))
    assert client.get("/healthz/recompute").status_code == 503


def test_failed_and_one_requirement_runs_do_not_count(client):
    run(finished_ago=dt.timedelta(hours=1), state=RecomputeRun.State.FAILED)
    run(finished_ago=dt.timedelta(hours=1), full=False)
    assert client.get("/healthz/recompute").status_code == 503


def test_a_real_full_recompute_makes_it_healthy(client):
    LearnerFactory()
    RequirementFactory()
    recompute(trigger="test")
    assert client.get("/healthz/recompute").status_code == 200


@override_settings(RECOMPUTE_STALE_HOURS=2)
def test_the_threshold_is_a_setting(client):
    run(finished_ago=dt.timedelta(hours=3))
    assert client.get("/healthz/recompute").status_code == 503


def test_healthz_gives_the_last_successful_recompute_on_its_second_line(client):
    finished = run(finished_ago=dt.timedelta(hours=30)).finished_at
    response = client.get("/healthz")
    assert response.status_code == 200  # the app is up; staleness is /healthz/recompute's answer
    assert response.content.decode().splitlines()[1] == f"last recompute: {finished.isoformat()}"


@pytest.mark.parametrize("page", ["requirement_list", "audit_log"])
def test_admins_see_the_banner_when_the_recompute_is_stale(admin_client, page):
    run(finished_ago=dt.timedelta(hours=27))
    html = admin_client.get(reverse(page)).content.decode()
    assert BANNER in html
    assert "has not succeeded in the last 26 hours" in html
    assert "Statuses shown here are still correct" in html


def test_admins_see_no_banner_when_the_recompute_is_recent(admin_client):
    run(finished_ago=dt.timedelta(hours=2))
    assert BANNER not in admin_client.get(reverse("requirement_list")).content.decode()


def test_auditors_see_no_banner(client, auditor_user):
    client.force_login(auditor_user)
    assert BANNER not in client.get(reverse("requirement_list")).content.decode()


def test_statuses_on_screen_do_not_depend_on_the_recompute(admin_client):
    """No recompute has ever run, yet the dashboard counts the learner."""
    LearnerFactory()
    requirement = RequirementFactory(name="Fire safety")
    html = admin_client.get(reverse("requirement_overview", args=[requirement.pk])).content.decode()
    assert BANNER in html
    assert '<span class="metric-value">1</span>' in html
