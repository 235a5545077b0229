"""Every portal page passes axe-core's WCAG 2.1 A and AA rules (contrast,
labels, landmarks, names of links and buttons), on a desktop and a phone."""

import datetime as dt
from pathlib import Path

import pytest

from compliance.models import Notification
from tests.factories import (
    CompletionFactory,
    CourseFactory,
    EnrollmentFactory,
    GroupFactory,
    LearnerFactory,
    MembershipFactory,
    RequirementFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "assets" / "axe-4.14.1.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture
def organisation():
    course = CourseFactory(title="GDPR Essentials")
    group = GroupFactory(name="HR Department")
    requirement = RequirementFactory(name="Data Privacy", course=course, valid_days=365, warning_days=30)
    today = dt.date.today()
    for days_ago in (10, 200, 340, 400):
        learner = LearnerFactory()
        MembershipFactory(learner=learner, group=group)
        CompletionFactory(learner=learner, course=course, day=today - dt.timedelta(days=days_ago))
    EnrollmentFactory(learner=LearnerFactory(), course=course)
    LearnerFactory.create_batch(3)
    notification = {"kind": "expired", "requirement_id": requirement.pk, "requirement_name": requirement.name}
    notification |= {"learner_id": learner.pk, "cycle": "2025-01-10", "decided_on": today}
    Notification.objects.create(recipient="sent@example.com", state="sent", **notification)
    Notification.objects.create(recipient="failed@example.com", state="failed", last_error="Refused", **notification)
    return requirement


def sign_in(page, username: str):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/learning/compliance/")


def violations(page) -> list[str]:
    page.evaluate(AXE.read_text())  # not a <script> tag: the page's CSP forbids inline script
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(r => r.violations.map(v => v.id + ': ' + v.help + ' @ ' + v.nodes.map(n => n.target.join(' ')).join(', ')))",
        WCAG_AA,
    )
    return result


def pages_of(requirement) -> list[str]:
    base = f"/learning/compliance/{requirement.pk}/"
    return [
        "/learning/compliance/",
        "/learning/compliance/new/",
        base,
        base + "report/?status=expired",
        base + "report/?status=not_started",
        base + "report/remediate/?status=not_started",
        base + "audit/",
        "/learning/compliance/audit/",
        base + "settings/",
        base + "notifications/",
        "/learning/compliance/notifications/",
    ]


@pytest.mark.parametrize("width", [1280, 375])
def test_admin_pages_have_no_wcag_aa_violations(browser_page, admin_user, organisation, width):
    page = browser_page
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, "alice")
    for path in pages_of(organisation):
        page.goto(path)
        page.wait_for_load_state("load")
        if path.endswith(f"/{organisation.pk}/"):
            page.wait_for_selector("[data-chart='chart-status-donut'] .main-svg")
        assert violations(page) == [], path


def test_the_form_with_errors_and_the_sign_in_page_have_no_violations(browser_page, admin_user, organisation):
    page = browser_page
    page.goto("/accounts/login/")
    assert violations(page) == []
    sign_in(page, "alice")
    page.goto("/learning/compliance/new/")
    page.get_by_role("button", name="Create Requirement").click()
    page.wait_for_selector(".field-errors")
    assert violations(page) == []


def test_the_remediate_all_dialog_has_no_violations(browser_page, admin_user, organisation):
    page = browser_page
    sign_in(page, "alice")
    page.goto(f"/learning/compliance/{organisation.pk}/report/?status=not_started")
    page.get_by_role("link", name="Remediate All").click()
    page.wait_for_selector("#remediate-dialog[open] #remediate-confirm")
    assert violations(page) == []


def test_auditor_pages_have_no_violations(browser_page, auditor_user, organisation):
    page = browser_page
    sign_in(page, "bob")
    for path in pages_of(organisation):
        if path.endswith("/new/") or "/remediate/" in path:
            continue
        page.goto(path)
        assert violations(page) == [], path
