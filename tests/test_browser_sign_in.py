"""Sign-in in a real browser."""

import pytest
from playwright.sync_api import expect

from tests.factories import LearnerFactory, RequirementFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_signs_in_and_sees_the_requirements_with_live_counts(browser_page, admin_user):
    RequirementFactory(name="Fire Safety")
    LearnerFactory.create_batch(2)
    page = browser_page

    page.goto("/")
    assert page.url.endswith("/accounts/login/?next=/learning/compliance/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url("**/learning/compliance/")
    card = page.locator("article.requirement-card", has=page.get_by_role("heading", name="Fire Safety"))
    expect(card.locator(".card-meta")).to_contain_text("All Learners")
    # Nobody has completed the course yet: 0 % compliant, both learners need action.
    expect(card.locator(".rate-value")).to_have_text("0%")
    expect(card.locator(".rate-action")).to_have_text("2 expired or not started")
    expect(page.locator(".user-name")).to_have_text("alice")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")


def test_a_wrong_password_shows_a_message_in_the_browser(browser_page, admin_user):
    page = browser_page
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("Your username and password didn't match")
