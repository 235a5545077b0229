"""Enroll and Remediate All on the Report, in a real browser (compliance-rules.md, "Remediation").

What only a browser shows: the one-row swap after Enroll, the confirmation
dialog (open, confirm, Cancel, Escape), the out-of-band message after Remediate
All, and the same actions as plain forms without JavaScript. "Today" is the
live server's real date (its thread cannot be frozen reliably), so dates are
computed with ``org_today()`` as in ``test_browser_portal``. No fixed sleeps.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from compliance.dates import org_day_start, org_today
from compliance.models import Course, Enrollment, EnrollmentSource, Learner, Requirement
from compliance.roles import AUDITORS_GROUP
from tests.factories import CompletionFactory, CourseFactory, EnrollmentFactory, RequirementFactory
from tests.test_browser_portal import (
    assert_no_reload,
    days_ago,
    learner,
    report_rows,
    sign_in,
    url_with,
    watch_console,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXPIRED_DAYS_AGO = 400  # with valid_days = 365: Expired
COMPLIANT_DAYS_AGO = 10


# --- Helpers --------------------------------------------------------------------------


def day_label(day: dt.date) -> str:
    """A date as the report writes it (``j M Y``: "28 Nov 2026")."""
    return f"{day.day} {day:%b %Y}"


def enrolled_not_begun(person: Learner, course: Course, *, days_ago_: int) -> Enrollment:
    return EnrollmentFactory(learner=person, course=course, enrolled_at=org_day_start(days_ago(days_ago_)))


def begun(person: Learner, course: Course) -> Enrollment:
    start = org_day_start(days_ago(2))
    return EnrollmentFactory(learner=person, course=course, enrolled_at=start, started_at=start, progress=40)


def enroll_button(page: Page, person: Learner, course: Course):
    return page.get_by_role("button", name=f"Enroll {person.email} in {course.code}")


def row_of(page: Page, person: Learner):
    return page.locator(f"#learner-{person.pk}")


def outer_html_of_rows(page: Page, *, except_id: str) -> dict[str, str]:
    return page.locator("#report-results tbody tr").evaluate_all(
        "(rows, skip) => Object.fromEntries(rows.filter(r => r.id !== skip).map(r => [r.id, r.outerHTML]))",
        except_id,
    )


def tab_counts(page: Page) -> list[str]:
    return page.locator(".status-tabs .count").all_text_contents()


def remediation_enrollments() -> list[tuple[str, str, str]]:
    """(email, course code, enrolled by) of every open remediation enrollment, sorted."""
    rows = Enrollment.objects.filter(source=EnrollmentSource.REMEDIATION, completed_at__isnull=True)
    return sorted(rows.values_list("learner__email", "course__code", "enrolled_by__username"))


def open_dialog(page: Page):
    page.locator("#remediate-all").click()
    dialog = page.locator("#remediate-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_js_property("open", True)
    return dialog


def report_url(requirement: Requirement, query: str = "") -> str:
    return f"/learning/compliance/{requirement.pk}/report/{query}"


# --- 1. Enroll one learner ------------------------------------------------------------


@pytest.fixture
def first_aid_expired():
    """First Aid (FA-2, 365 days): four Expired learners (Dev enrolled, not begun), plus one of each other kind."""
    course = CourseFactory(code="FA-2", title="First Aid Refresher")
    requirement = RequirementFactory(name="First Aid", course=course, valid_days=365, warning_days=30)
    people = {
        "ana": learner("Ana", "Alves", course=course, completed_days_ago=EXPIRED_DAYS_AGO),
        "ben": learner("Ben", "Brook", course=course, completed_days_ago=EXPIRED_DAYS_AGO + 20),
        "caro": learner("Caro", "Cruz", course=course, completed_days_ago=EXPIRED_DAYS_AGO + 100),
        "dev": learner("Dev", "Dunn", course=course, completed_days_ago=EXPIRED_DAYS_AGO + 5),
        "eve": learner("Eve", "Evans", course=course, completed_days_ago=COMPLIANT_DAYS_AGO),  # Compliant
        "finn": learner("Finn", "Frost"),  # Not Started
    }
    enrolled_not_begun(people["dev"], course, days_ago_=3)
    return requirement, course, people


def test_enroll_swaps_only_that_row_and_announces_it(browser_page, admin_user, first_aid_expired):
    requirement, course, people = first_aid_expired
    ben, dev = people["ben"], people["dev"]
    page = browser_page
    sign_in(page)
    errors = watch_console(page)
    page.goto(report_url(requirement, "?status=expired"))
    expect(report_rows(page).locator(".name")).to_have_text(["Alves, Ana", "Brook, Ben", "Cruz, Caro", "Dunn, Dev"])
    expect(row_of(page, dev).locator(f"#enrollment-{dev.pk}")).to_have_text(f"Enrolled on {day_label(days_ago(3))}")
    expect(page.locator("#report-results").get_by_role("button", name="Enroll")).to_have_count(3)
    counts_before = tab_counts(page)
    others_before = outer_html_of_rows(page, except_id=f"learner-{ben.pk}")
    assert len(others_before) == 3
    page.evaluate("window.__marker = 1")

    enroll_button(page, ben, course).click()

    today = org_today()
    cell = row_of(page, ben).locator(f"#enrollment-{ben.pk}")
    expect(cell).to_contain_text(f"Enrolled on {day_label(today)}")
    expect(row_of(page, ben).get_by_role("button")).to_have_count(0)
    expect(row_of(page, ben).locator(".name")).to_have_text("Brook, Ben")
    expect(page.locator("#announcer")).to_have_text(f"Enrolled on {day_label(today)}: {ben.email} in FA-2")
    assert outer_html_of_rows(page, except_id=f"learner-{ben.pk}") == others_before
    assert tab_counts(page) == counts_before  # enrolling does not change the status
    expect(report_rows(page)).to_have_count(4)
    assert_no_reload(page)

    opened = Enrollment.objects.filter(learner=ben, course=course, completed_at__isnull=True)
    assert [(e.enrolled_by, e.source) for e in opened] == [(admin_user, EnrollmentSource.REMEDIATION)]
    assert remediation_enrollments() == [(ben.email, "FA-2", "alice")]

    # The server agrees: after a reload Ben is still Expired, shown as enrolled today.
    page.reload()
    expect(row_of(page, ben).locator(f"#enrollment-{ben.pk}")).to_have_text(f"Enrolled on {day_label(today)}")
    assert errors == []


# --- 2. Remediate All with a search ---------------------------------------------------


@pytest.fixture
def data_privacy_smiths():
    """Data Privacy (GDPR-101). "smith" matches 4 Not Started learners (Val already
    enrolled), Wes (In Progress), Xia (Expired) and Yul (Compliant); Ada and Bo
    are Not Started but do not match."""
    course = CourseFactory(code="GDPR-101", title="GDPR Essentials")
    requirement = RequirementFactory(name="Data Privacy", course=course, valid_days=365, warning_days=30)
    to_enroll = [learner("Sam", "Smith"), learner("Tia", "Smithers"), learner("Una", "Goldsmith")]
    val = learner("Val", "Smithson")
    enrolled_not_begun(val, course, days_ago_=5)
    begun(learner("Wes", "Blacksmith"), course)
    learner("Xia", "Smithfield", course=course, completed_days_ago=EXPIRED_DAYS_AGO)
    learner("Yul", "Smithy", course=course, completed_days_ago=COMPLIANT_DAYS_AGO)
    learner("Ada", "Jones")
    learner("Bo", "Brown")
    return requirement, to_enroll, val


def test_remediate_all_respects_the_search_and_enrolls_the_tab(browser_page, admin_user, data_privacy_smiths):
    requirement, to_enroll, val = data_privacy_smiths
    page = browser_page
    sign_in(page)
    errors = watch_console(page)
    page.goto(report_url(requirement, "?status=not_started"))
    expect(report_rows(page)).to_have_count(6)
    page.evaluate("window.__marker = 1")

    page.locator("#report-q").press_sequentially("smith")
    expect(page).to_have_url(url_with(status="not_started", q="smith"))
    names = ["Goldsmith, Una", "Smith, Sam", "Smithers, Tia", "Smithson, Val"]
    expect(report_rows(page).locator(".name")).to_have_text(names)
    # The toolbar was refreshed out of band: Remediate All now carries the search.
    expect(page.locator("#remediate-all")).to_have_attribute("hx-get", re.compile(r"[?&]q=smith(&|$)"))
    counts_before = tab_counts(page)
    assert counts_before == ["1", "0", "1", "1", "4"]

    dialog = open_dialog(page)
    expect(dialog.get_by_role("heading", level=2)).to_have_text("Enroll 3 learners in GDPR-101?")
    expect(dialog).to_contain_text("Every Not Started learner matching the search “smith”")
    expect(dialog.locator(".alert-warning")).to_have_text(
        "Only learners matching the current search are included, not the whole Not Started tab."
    )
    expect(dialog.locator("#remediate-confirm")).to_have_text("Enroll 3 learners")
    assert remediation_enrollments() == []  # the confirmation changes nothing

    dialog.locator("#remediate-confirm").click()

    expect(dialog).to_be_hidden()
    expect(page.locator("#messages")).to_have_text("Enrolled 3 Not Started learners matching “smith” in GDPR-101.")
    expect(page.locator("#messages [role=status]")).to_have_count(1)
    today = day_label(org_today())
    expect(report_rows(page).locator(".name")).to_have_text(names)
    expect(report_rows(page).locator("td[id^=enrollment-]")).to_have_text(
        [f"Enrolled on {today}"] * 3 + [f"Enrolled on {day_label(days_ago(5))}"]
    )
    expect(page.locator("#report-results").get_by_role("button", name=re.compile("Enroll"))).to_have_count(0)
    assert tab_counts(page) == counts_before  # enrolling does not change the status
    expect(page).to_have_url(url_with(status="not_started", q="smith"))
    assert_no_reload(page)

    assert remediation_enrollments() == sorted((p.email, "GDPR-101", "alice") for p in to_enroll)
    assert Enrollment.objects.filter(learner=val).count() == 1  # Val kept his one enrollment
    outside = Learner.objects.filter(last_name__in=["Smithfield", "Smithy", "Jones", "Brown"])
    assert not Enrollment.objects.filter(learner__in=outside).exists()
    assert errors == []


# --- 3. Cancel and Escape -------------------------------------------------------------


def test_cancel_and_escape_close_the_dialog_and_enroll_nobody(browser_page, admin_user, first_aid_expired):
    requirement, _course, _people = first_aid_expired
    page = browser_page
    sign_in(page)
    errors = watch_console(page)
    page.goto(report_url(requirement, "?status=expired"))
    expect(report_rows(page)).to_have_count(4)
    page.evaluate("window.__marker = 1")

    dialog = open_dialog(page)
    expect(dialog.get_by_role("heading", level=2)).to_have_text("Enroll 3 learners in FA-2?")
    expect(dialog.locator(".alert-warning")).to_have_count(0)  # no search, no warning
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(dialog).to_have_js_property("open", False)
    expect(page.locator("#remediate-all")).to_be_focused()  # focus goes back to what opened it
    expect(page).to_have_url(url_with(status="expired"))

    dialog = open_dialog(page)
    expect(dialog.get_by_role("link", name="Cancel")).to_be_focused()  # a mass change starts on the way out
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(dialog).to_have_js_property("open", False)

    expect(page.locator("#messages")).to_have_text("")
    expect(page.locator("#report-results").get_by_role("button", name="Enroll")).to_have_count(3)
    assert_no_reload(page)
    assert remediation_enrollments() == []
    assert errors == []


# --- 4. Without JavaScript ------------------------------------------------------------


def test_without_javascript_enroll_and_remediate_all_post_and_return_to_the_report(
    browser_page, admin_user, live_server
):
    course = CourseFactory(code="HS-9", title="Health and Safety")
    requirement = RequirementFactory(name="Health and Safety", course=course, valid_days=365, warning_days=30)
    harpers = [
        learner("Hal", f"Harper{i:02d}", course=course, completed_days_ago=EXPIRED_DAYS_AGO + i) for i in range(52)
    ]
    oakes = learner("Omar", "Oakes", course=course, completed_days_ago=EXPIRED_DAYS_AGO)  # Expired, no match
    context = browser_page.context.browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        errors = watch_console(page)
        sign_in(page)
        page.goto(report_url(requirement, "?status=expired&q=harper&page=2"))
        expect(report_rows(page).locator(".name")).to_have_text(["Harper50, Hal", "Harper51, Hal"])
        back_on_page_2 = url_with(status="expired", q="harper", page="2")

        # Enroll: a plain POST, then back to the same tab, search and page, with the message.
        chosen = harpers[50]
        enroll_button(page, chosen, course).click()
        expect(page).to_have_url(back_on_page_2)
        assert "/report/?" in page.url
        expect(page.locator("#messages")).to_have_text(f"Enrolled {chosen.email} in HS-9.")
        expect(row_of(page, chosen).locator(f"#enrollment-{chosen.pk}")).to_have_text(
            f"Enrolled on {day_label(org_today())}"
        )
        assert remediation_enrollments() == [(chosen.email, "HS-9", "alice")]

        # Remediate All: a server-rendered confirmation page; Cancel is a link back.
        page.get_by_role("link", name="Remediate All…").click()
        expect(page).to_have_url(re.compile(r"/report/remediate/\?"))
        expect(page).to_have_title("Health and Safety · Remediate All · Techclass")
        expect(page.get_by_role("heading", level=2)).to_have_text("Enroll 51 learners in HS-9?")
        expect(page.locator(".alert-warning")).to_contain_text("Only learners matching the current search")
        page.get_by_role("link", name="Cancel").click()
        expect(page).to_have_url(back_on_page_2)
        assert remediation_enrollments() == [(chosen.email, "HS-9", "alice")]

        page.get_by_role("link", name="Remediate All…").click()
        page.get_by_role("button", name="Enroll 51 learners").click()
        expect(page).to_have_url(back_on_page_2)
        expect(page.locator("#messages")).to_have_text("Enrolled 51 Expired learners matching “harper” in HS-9.")
        expect(page.locator("#report-results").get_by_role("button", name="Enroll")).to_have_count(0)
        assert remediation_enrollments() == sorted((p.email, "HS-9", "alice") for p in harpers)
        assert not Enrollment.objects.filter(learner=oakes).exists()
        assert errors == []
    finally:
        context.close()


# --- 5. Auditor -----------------------------------------------------------------------


def test_an_auditor_sees_export_but_no_enroll_or_remediate_all(browser_page, auditor_user, first_aid_expired):
    requirement, _course, people = first_aid_expired
    page = browser_page
    sign_in(page, "bob")
    errors = watch_console(page)

    for status, count in [("expired", 4), ("not_started", 1)]:
        page.goto(report_url(requirement, f"?status={status}"))
        expect(report_rows(page)).to_have_count(count)
        expect(page.locator("#export-csv")).to_be_visible()
        expect(page.locator("#remediate-all")).to_have_count(0)
        expect(page.get_by_role("link", name=re.compile("Remediate"))).to_have_count(0)
        expect(page.get_by_role("button", name=re.compile("Enroll"))).to_have_count(0)
        expect(page.locator("form[action$='/report/enroll/']")).to_have_count(0)
    expect(row_of(page, people["finn"]).locator(f"#enrollment-{people['finn'].pk}")).to_have_text("Not enrolled")
    assert errors == []


# --- Refused: the learner's status changed since the page was drawn -------------------


def test_enroll_for_a_learner_who_became_compliant_shows_the_refusal_in_the_row(
    browser_page, admin_user, first_aid_expired
):
    requirement, course, people = first_aid_expired
    ana = people["ana"]
    page = browser_page
    sign_in(page)
    errors = watch_console(page)
    page.goto(report_url(requirement, "?status=expired"))
    expect(enroll_button(page, ana, course)).to_be_visible()
    page.evaluate("window.__marker = 1")
    CompletionFactory(learner=ana, course=course, day=days_ago(1))  # Compliant now

    enroll_button(page, ana, course).click()

    expect(page.locator(f"#enrollment-{ana.pk} [role=alert]")).to_have_text(
        f"{ana.email} is Compliant today, so Enroll does not apply: only Not Started and Expired learners "
        "can be enrolled. Reload the report to see the current status."
    )
    assert_no_reload(page)
    assert remediation_enrollments() == []
    # The 409 itself is all the browser reports: Chromium's resource line and htmx's log of it.
    assert len(errors) == 2
    assert all("409" in error for error in errors)


def test_a_double_click_on_enroll_enrolls_once(browser_page, admin_user, first_aid_expired):
    requirement, course, people = first_aid_expired
    caro = people["caro"]
    page = browser_page
    sign_in(page)
    errors = watch_console(page)
    page.goto(report_url(requirement, "?status=expired"))

    enroll_button(page, caro, course).dblclick()

    expect(row_of(page, caro).locator(f"#enrollment-{caro.pk}")).to_contain_text(
        f"Enrolled on {day_label(org_today())}"
    )
    assert remediation_enrollments() == [(caro.email, "FA-2", "alice")]
    assert errors == []


# --- The announcement after Remediate All -----------------------------------------------


def test_remediate_all_announces_its_message(browser_page, admin_user, first_aid_expired):
    requirement, _course, _people = first_aid_expired
    page = browser_page
    sign_in(page)
    page.goto(report_url(requirement, "?status=expired"))

    open_dialog(page).locator("#remediate-confirm").click()

    expect(page.locator("#messages")).to_have_text("Enrolled 3 Expired learners in FA-2.")
    expect(page.locator("#announcer")).to_have_text("Enrolled 3 Expired learners in FA-2.", timeout=1000)
    # The link that opened the dialog was replaced: focus goes to the message, not lost to the page.
    expect(page.locator("#messages .alert")).to_be_focused()


def test_the_confirmation_opened_on_its_own_page_works_with_javascript(browser_page, admin_user, first_aid_expired):
    """E.g. "Remediate All…" opened in a new tab: a plain form there, not an htmx swap into a missing report."""
    requirement, _course, _people = first_aid_expired
    page = browser_page
    sign_in(page)
    errors = watch_console(page)
    page.goto(f"/learning/compliance/{requirement.pk}/report/remediate/?status=expired")

    page.locator("#remediate-confirm").click()

    expect(page).to_have_url(url_with(status="expired"))
    expect(page.locator("#messages")).to_have_text("Enrolled 3 Expired learners in FA-2.")
    assert len(remediation_enrollments()) == 3
    assert errors == []


def test_a_refused_remediate_all_says_why_in_the_dialog_and_keeps_the_report(
    browser_page, admin_user, first_aid_expired
):
    """Alice is made an auditor while the dialog is open: the 403 shows in the
    dialog, which stays open, and the report behind it is left as it was."""
    requirement, _course, _people = first_aid_expired
    page = browser_page
    sign_in(page)
    page.goto(report_url(requirement, "?status=expired"))
    rows_before = outer_html_of_rows(page, except_id="")
    dialog = open_dialog(page)
    admin_user.groups.set([Group.objects.get_or_create(name=AUDITORS_GROUP)[0]])

    dialog.locator("#remediate-confirm").click()

    expect(dialog.get_by_role("alert")).to_have_text(re.compile("Only compliance admins can make changes."))
    expect(dialog).to_have_js_property("open", True)
    expect(dialog.get_by_role("alert")).to_be_focused()
    assert outer_html_of_rows(page, except_id="") == rows_before
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_have_js_property("open", False)
    assert remediation_enrollments() == []
