"""The Notifications section of Settings in a real browser, with and without
JavaScript: turning learner emails on asks "This will email N learners now"
first, and saves only once confirmed."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from compliance.models import AuditEvent, Notification, Requirement
from tests.factories import LearnerFactory, RequirementFactory
from tests.test_browser_portal import sign_in, watch_console

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def turn_on_and_confirm(page: Page, requirement: Requirement) -> None:
    page.goto(f"/learning/compliance/{requirement.pk}/settings/")
    section = page.locator("#notification-settings")
    section.get_by_label("Email learners").check()
    section.get_by_role("button", name="Save Notifications").click()
    expect(page.locator("#notify-confirm")).to_contain_text("This will email 3 learners now.")
    requirement.refresh_from_db()
    assert requirement.notify_learners is False
    page.locator("#notification-settings").get_by_role("button", name="Turn on and email 3 learners").click()
    expect(page.get_by_text("Notification settings saved.")).to_be_visible()
    expect(page.locator("#notification-settings").get_by_label("Email learners")).to_be_checked()
    requirement.refresh_from_db()
    assert requirement.notify_learners is True
    assert AuditEvent.objects.filter(action="requirement.notifications").count() == 1


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_turning_learner_emails_on_asks_with_the_count_then_saves(browser_page, admin_user, live_server, javascript):
    requirement = RequirementFactory(name="Fire Safety")
    for _ in range(3):
        LearnerFactory()
    if javascript:
        page = browser_page
        context = None
    else:
        context = browser_page.context.browser.new_context(base_url=live_server.url, java_script_enabled=False)
        page = context.new_page()
    try:
        errors = watch_console(page)
        sign_in(page)
        turn_on_and_confirm(page, requirement)
        assert errors == []
    finally:
        if context is not None:
            context.close()


def test_the_log_filters_swap_the_results_and_update_the_address(browser_page, auditor_user):
    requirement = RequirementFactory(name="Fire Safety")
    common = {"requirement_id": requirement.pk, "requirement_name": requirement.name, "cycle": "never"}
    Notification.objects.create(
        recipient="sent@example.com",
        kind="reminder",
        ordinal=1,
        state="sent",
        learner_id=1,
        decided_on=dt.date(2026, 11, 28),
        **common,
    )
    Notification.objects.create(
        recipient="failed@example.com",
        kind="expired",
        state="failed",
        attempts=5,
        last_error="SMTPServerDisconnected: gone",
        learner_id=2,
        decided_on=dt.date(2026, 11, 28),
        **common,
    )
    page = browser_page
    errors = watch_console(page)
    sign_in(page, "bob")
    page.goto("/learning/compliance/notifications/")
    expect(page.locator("#notification-summary")).to_contain_text("of 2 emails")
    page.evaluate("window.__kept = true")  # gone if the page reloads

    page.get_by_label("State").select_option("failed")

    expect(page).to_have_url(re.compile(r"/learning/compliance/notifications/\?state=failed$"))
    expect(page.locator("#notification-summary")).to_contain_text("of 1 email matching the filters")
    expect(page.locator("#notification-results")).to_contain_text("SMTPServerDisconnected: gone")
    expect(page.locator("#notification-results")).not_to_contain_text("sent@example.com")
    assert page.evaluate("window.__kept") is True
    assert errors == []
