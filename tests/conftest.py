import datetime as dt
import os

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connections

from compliance.roles import ADMINS_GROUP, AUDITORS_GROUP
from tests.factories import UserFactory


def pytest_report_header(config):
    from django.conf import settings

    db = settings.DATABASES["default"]
    broker = settings.CELERY_BROKER_URL if not settings.CELERY_TASK_ALWAYS_EAGER else "none (tasks run in-process)"
    return [f"database: {db['ENGINE'].rsplit('.', 1)[-1]} {db.get('HOST') or ''}", f"celery broker: {broker}"]


def pytest_collection_modifyitems(config, items):
    from django.db import connection

    on_postgres = connection.vendor == "postgresql"
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL=postgres://...)")
    skip_redis = pytest.mark.skip(reason="needs a Redis broker (REDIS_URL)")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not os.environ.get("REDIS_URL"):
            item.add_marker(skip_redis)


@pytest.fixture
def admin_user(db):
    user = UserFactory(username="alice")
    user.groups.add(Group.objects.get_or_create(name=ADMINS_GROUP)[0])
    return user


@pytest.fixture
def auditor_user(db):
    user = UserFactory(username="bob")
    user.groups.add(Group.objects.get_or_create(name=AUDITORS_GROUP)[0])
    return user


@pytest.fixture
def outsider_user(db):
    return UserFactory(username="charlie")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def frozen_today():
    """Noon UTC on 2026-11-28, the "today" of the spec's worked example."""
    with time_machine.travel(dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC), tick=False):
        yield dt.date(2026, 11, 28)


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page(live_server, monkeypatch, tmp_path):
    """A Playwright page in the system Chromium, for tests marked ``browser``.

    Skipped when Chromium is missing, unless ``REQUIRE_BROWSER=1`` (CI), where
    a missing browser is a failure.
    """
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.access(chromium, os.X_OK):
        message = f"Chromium not found at {chromium} (apt-get install chromium, or set CHROMIUM_PATH)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message + "; REQUIRE_BROWSER=1 makes this a failure")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # the test makes around it are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        try:
            yield page
        finally:
            if errors:
                print("browser console errors:", *errors, sep="\n")
            context.close()
            browser.close()
            # Connections the test opened while Playwright's loop ran live in that
            # context: close them here, or the test database cannot be dropped.
            connections.close_all()
