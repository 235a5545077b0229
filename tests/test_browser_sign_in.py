"""Sign-in in a real browser."""

import pytest

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
    row = page.get_by_role("row", name="Fire Safety")
    assert "All Learners" in row.inner_text()
    assert page.get_by_text("alice").is_visible()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")


def test_a_wrong_password_shows_a_message_in_the_browser(browser_page, admin_user):
    page = browser_page
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("Your username and password didn't match")
