"""The compliance portal in a real browser (system Chromium through Playwright).

What only a browser shows: HTMX swaps without a full reload, the URL pushed to
history, the debounced search, the live Settings preview, the plotly charts,
the arrow keys in the tab strips, escaping of hostile text, and the layout on a
375 px phone. No fixed sleeps: Playwright's ``expect`` waits (5 s at most) for
each state.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from compliance.dates import org_today
from compliance.models import Completion, Learner, Requirement
from tests.factories import (
    CompletionFactory,
    CourseFactory,
    GroupFactory,
    LearnerFactory,
    MembershipFactory,
    RequirementFactory,
    RequirementTypeFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
DASHBOARD = re.compile(r"/learning/compliance/$")


# --- Helpers --------------------------------------------------------------------------


def sign_in(page: Page, username: str = "alice") -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(DASHBOARD)


def watch_console(page: Page) -> list[str]:
    """Collects console errors and uncaught exceptions of ``page`` from now on."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(f"console: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    return errors


def watch_dialogs(page: Page) -> list[str]:
    """Records (and dismisses) every alert/confirm/prompt dialog ``page`` opens."""
    dialogs: list[str] = []

    def record(dialog):
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", record)
    return dialogs


def days_ago(days: int) -> dt.date:
    return org_today() - dt.timedelta(days=days)


def learner(first: str, last: str, *, course=None, completed_days_ago: int | None = None, group=None) -> Learner:
    person = LearnerFactory(first_name=first, last_name=last, email=f"{first}.{last}@example.com".lower())
    if completed_days_ago is not None:
        CompletionFactory(learner=person, course=course, day=days_ago(completed_days_ago))
    if group is not None:
        MembershipFactory(learner=person, group=group)
    return person


def metric(page: Page, css_class: str):
    return page.locator(f".metric.{css_class} .metric-value")


def page_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def charts_drawn(page: Page) -> None:
    for chart in ("chart-status-donut", "chart-monthly-completions"):
        expect(page.locator(f'[data-chart="{chart}"] .main-svg').first).to_be_visible()


# --- 1. Create ------------------------------------------------------------------------


def test_an_admin_creates_a_requirement_and_sees_its_card(browser_page, admin_user):
    RequirementTypeFactory(name="Health & Safety")
    CourseFactory(code="FD-101", title="Fire Drill Basics")
    CourseFactory(code="GDPR-1", title="GDPR Essentials")
    GroupFactory(name="Warehouse Team")
    page = browser_page
    errors = watch_console(page)

    sign_in(page)
    page.get_by_role("link", name="New Requirement", exact=True).click()
    expect(page).to_have_url(re.compile(r"/learning/compliance/new/$"))

    page.get_by_label("Type").select_option(label="Health & Safety")
    page.get_by_label("Name").fill("Fire Drill")
    page.get_by_label("Description").fill("Yearly evacuation drill for the warehouse.")
    page.get_by_label("Valid for (days)").fill("365")
    page.get_by_label("Warning (days before expiry)").fill("365")
    page.get_by_label("Course").select_option(label="Fire Drill Basics")
    page.get_by_label("Target").select_option(label="Warehouse Team")
    page.get_by_role("button", name="Create Requirement").click()

    # warning_days >= valid_days: the error sits in the warning field's own box,
    # and every value typed is still there.
    warning_field = page.locator(".field", has=page.locator("#id_warning_days"))
    expect(warning_field.locator(".field-errors")).to_have_text(
        "The warning must be fewer days than the validity (365 days): at most 364."
    )
    expect(page.locator("#id_warning_days")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("Please correct the error below.")
    expect(page.get_by_label("Name")).to_have_value("Fire Drill")
    expect(page.get_by_label("Description")).to_have_value("Yearly evacuation drill for the warehouse.")
    expect(page.get_by_label("Valid for (days)")).to_have_value("365")
    expect(page.get_by_label("Warning (days before expiry)")).to_have_value("365")
    expect(page.get_by_label("Type").locator("option:checked")).to_have_text("Health & Safety")
    expect(page.get_by_label("Course").locator("option:checked")).to_have_text("Fire Drill Basics")
    expect(page.get_by_label("Target").locator("option:checked")).to_have_text("Warehouse Team")
    assert not Requirement.objects.exists()

    page.get_by_label("Warning (days before expiry)").fill("30")
    page.get_by_role("button", name="Create Requirement").click()

    expect(page).to_have_url(re.compile(r"/learning/compliance/\d+/$"))
    requirement = Requirement.objects.get()
    assert page.url.endswith(f"/learning/compliance/{requirement.pk}/")
    assert (requirement.valid_days, requirement.warning_days, requirement.course.code) == (365, 30, "FD-101")
    expect(page.get_by_role("status").first).to_contain_text("Requirement “Fire Drill” created.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Fire Drill")

    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Compliance").click()
    expect(page).to_have_url(DASHBOARD)
    card = page.locator("article.requirement-card", has=page.get_by_role("heading", name="Fire Drill"))
    expect(card).to_have_count(1)
    expect(card.locator(".card-meta")).to_contain_text("Fire Drill Basics")
    expect(card.locator(".card-meta")).to_contain_text("Warehouse Team")
    expect(card.locator(".validity")).to_have_text("365d validity")
    expect(card.locator(".tag")).to_have_text("Health & Safety")
    assert errors == []


# --- 2. Overview ----------------------------------------------------------------------


def test_the_overview_draws_both_charts_and_shows_the_counts(browser_page, admin_user):
    gdpr = CourseFactory(code="GDPR-101", title="GDPR Essentials")
    requirement = RequirementFactory(name="Data Privacy", course=gdpr, valid_days=365, warning_days=30)
    learner("Ana", "Alves", course=gdpr, completed_days_ago=10)  # Compliant
    learner("Ben", "Brook", course=gdpr, completed_days_ago=40)  # Compliant
    learner("Caro", "Cruz", course=gdpr, completed_days_ago=400)  # Expired, outside the 12 months
    learner("Dev", "Dunn")  # Not Started
    page = browser_page
    sign_in(page)
    errors = watch_console(page)

    page.goto(f"/learning/compliance/{requirement.pk}/")

    charts_drawn(page)
    expect(page.locator('[data-chart="chart-status-donut"] .pielayer .slice')).to_have_count(5)
    expect(page.locator('[data-chart="chart-status-donut"]')).to_contain_text("50%")
    expect(page.locator('[data-chart="chart-monthly-completions"] .scatterlayer .trace')).to_have_count(1)
    expect(page.locator(".metric .metric-value").first).to_have_text("4")  # total in scope
    expect(metric(page, "metric-compliant")).to_have_text("2")
    expect(metric(page, "metric-expiring")).to_have_text("0")
    expect(metric(page, "metric-action")).to_have_text(re.compile(r"^\s*1\s*/\s*1\s*$"))
    expect(metric(page, "metric-rate")).to_have_text("50%")
    legend = page.locator("table.legend tbody")
    expect(legend.locator("th")).to_have_text(["Compliant", "Expiring Soon", "Expired", "In Progress", "Not Started"])
    expect(legend.locator("td")).to_have_text(["2", "0", "1", "0", "1"])
    monthly = page.locator("details.chart-data tbody td.num").all_text_contents()  # closed <details>
    assert len(monthly) == 12
    assert sum(int(n) for n in monthly) == 2  # Ana's and Ben's; Caro's is 400 days old
    assert errors == []


# --- 3. Report ------------------------------------------------------------------------


def report_rows(page: Page):
    return page.locator("#report-results tbody tr")


def url_with(**params: str) -> re.Pattern:
    """A URL whose query string has these parameters, in any order."""
    return re.compile("".join(rf"(?=.*[?&]{key}={re.escape(value)}(&|$))" for key, value in params.items()))


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def assert_no_reload(page: Page) -> None:
    assert page.evaluate("window.__marker") == 1, "the page was reloaded instead of swapped"


def test_report_tabs_search_and_keys_swap_without_a_reload(browser_page, admin_user):
    course = CourseFactory(code="FS-1", title="Fire Safety")
    requirement = RequirementFactory(name="Fire Safety", course=course, valid_days=365, warning_days=30)
    for i in range(50):
        learner(f"Ann{i:02d}", f"Archer{i:02d}", course=course, completed_days_ago=5)
    for first, last in [("Zoe", "Zedd"), ("Zack", "Zedmore"), ("Bea", "Bazed")]:
        learner(first, last, course=course, completed_days_ago=5)  # 53 Compliant, three match "zed"
    learner("Eve", "Evans", course=course, completed_days_ago=350)  # Expiring Soon
    learner("Yara", "Zedler", course=course, completed_days_ago=400)  # Expired, matches "zed"
    learner("Omar", "Oakes", course=course, completed_days_ago=500)  # Expired
    learner("Nia", "North")  # Not Started
    page = browser_page
    sign_in(page)
    errors = watch_console(page)

    page.goto(f"/learning/compliance/{requirement.pk}/report/")
    expect(page.locator(".report-summary")).to_contain_text("Showing 1\u201350 of 53 Compliant learners")
    expect(page.locator("#status-tab-compliant .count")).to_have_text("53")
    expect(page.locator("#status-tab-expired .count")).to_have_text("2")
    page.evaluate("window.__marker = 1")
    history_length = page.evaluate("history.length")

    # A status tab: the table swaps, the URL is pushed to history, no reload.
    page.locator("#status-tab-expired").click()
    expect(page).to_have_url(url_with(status="expired"))
    assert query_of(page) == {"status": ["expired"]}
    expect(page.locator("#status-tab-expired")).to_have_attribute("aria-current", "page")
    expect(report_rows(page)).to_have_count(2)
    expect(report_rows(page).locator(".name")).to_have_text(["Oakes, Omar", "Zedler, Yara"])
    assert page.evaluate("history.length") == history_length + 1
    assert_no_reload(page)

    # Keyboard: ArrowRight moves focus along the strip, Enter follows the link.
    page.locator("#status-tab-compliant").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#status-tab-expiring_soon")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(url_with(status="expiring_soon"))
    expect(page.locator("#status-tab-expiring_soon")).to_have_attribute("aria-current", "page")
    expect(report_rows(page).locator(".name")).to_have_text(["Evans, Eve"])
    assert_no_reload(page)

    # Page 2 of Compliant, then a search: rows, counts and URL follow, the page resets to 1.
    page.locator("#status-tab-compliant").click()
    expect(page).to_have_url(url_with(status="compliant"))
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Next").click()
    expect(page).to_have_url(url_with(status="compliant", page="2"))
    expect(page.locator(".pager-status")).to_have_text("Page 2 of 2")
    expect(report_rows(page)).to_have_count(3)

    page.locator("#report-q").press_sequentially("zed")
    expect(page).to_have_url(url_with(q="zed"))
    assert query_of(page) == {"status": ["compliant"], "q": ["zed"]}  # back to page 1
    expect(page.locator(".report-summary")).to_contain_text("Showing 1\u20133 of 3 Compliant learners matching “zed”")
    expect(report_rows(page).locator(".name")).to_have_text(["Bazed, Bea", "Zedd, Zoe", "Zedmore, Zack"])
    expect(page.locator(".pager")).to_have_count(0)
    expect(page.locator("#status-tab-compliant .count")).to_have_text("3")
    expect(page.locator("#status-tab-expiring_soon .count")).to_have_text("0")
    expect(page.locator("#status-tab-expired .count")).to_have_text("1")
    expect(page.locator("#status-tab-not_started .count")).to_have_text("0")
    assert_no_reload(page)

    # A tab keeps the search.
    page.locator("#status-tab-expired").click()
    expect(page).to_have_url(url_with(status="expired", q="zed"))
    expect(report_rows(page).locator(".name")).to_have_text(["Zedler, Yara"])
    expect(page.locator("#report-q")).to_have_value("zed")
    assert_no_reload(page)
    assert errors == []


# --- 4. Settings ----------------------------------------------------------------------


@pytest.fixture
def first_aid():
    """First Aid, 365 days: Ana and Ben completed 200 days ago, Caro 10 days ago (all Compliant)."""
    course = CourseFactory(code="FA-1", title="First Aid at Work")
    requirement = RequirementFactory(name="First Aid", course=course, valid_days=365, warning_days=30)
    learner("Ana", "Alves", course=course, completed_days_ago=200)
    learner("Ben", "Brook", course=course, completed_days_ago=200)
    learner("Caro", "Cruz", course=course, completed_days_ago=10)
    return requirement


def assert_first_aid_saved_with_100_days(page: Page, requirement: Requirement) -> None:
    expect(page).to_have_url(re.compile(rf"/learning/compliance/{requirement.pk}/$"))
    expect(page.get_by_role("status").first).to_contain_text("Settings saved. 2 learners moved, as previewed.")
    expect(metric(page, "metric-compliant")).to_have_text("1")
    expect(metric(page, "metric-action")).to_have_text(re.compile(r"^\s*2\s*/\s*0\s*$"))
    expect(metric(page, "metric-rate")).to_have_text("33%")
    requirement.refresh_from_db()
    assert requirement.valid_days == 100


def test_settings_preview_then_save_moves_learners(browser_page, admin_user, first_aid):
    page = browser_page
    sign_in(page)
    errors = watch_console(page)
    page.goto(f"/learning/compliance/{first_aid.pk}/settings/")
    expect(page.locator("#settings-preview")).to_contain_text("to see how many learners it moves before you save")

    page.get_by_label("Valid for (days)").fill("100")

    preview = page.locator("#settings-preview")
    expect(preview.locator(".preview-summary li")).to_have_text(["2 learners would become Expired"])
    expect(preview).not_to_contain_text("Save Changes again")
    first_aid.refresh_from_db()
    assert first_aid.valid_days == 365  # a preview changes nothing

    page.get_by_role("button", name="Save Changes").click()
    assert_first_aid_saved_with_100_days(page, first_aid)
    assert errors == []


def test_settings_saved_before_the_preview_arrives_ask_to_confirm(browser_page, admin_user, first_aid):
    page = browser_page
    sign_in(page)
    # The live preview never answers with content (204: htmx swaps nothing), so
    # Save Changes goes to the server without the preview's confirmation.
    page.route("**/settings/preview/", lambda route: route.fulfill(status=204))
    page.goto(f"/learning/compliance/{first_aid.pk}/settings/")

    page.get_by_label("Valid for (days)").fill("100")
    page.get_by_role("button", name="Save Changes").click()

    preview = page.locator("#settings-preview .preview-confirm")
    expect(preview).to_contain_text("Save Changes again to apply this to everyone at once.")
    expect(preview.locator(".preview-summary li")).to_have_text(["2 learners would become Expired"])
    expect(page.get_by_label("Valid for (days)")).to_have_value("100")
    first_aid.refresh_from_db()
    assert first_aid.valid_days == 365

    page.get_by_role("button", name="Save Changes").click()
    assert_first_aid_saved_with_100_days(page, first_aid)


# --- 5. Delete ------------------------------------------------------------------------


def test_delete_needs_the_exact_name_and_keeps_the_completions(browser_page, admin_user):
    course = CourseFactory(code="FS-1", title="Fire Safety Course")
    requirement = RequirementFactory(name="Fire Safety", course=course)
    RequirementFactory(name="Manual Handling")
    learner("Ana", "Alves", course=course, completed_days_ago=10)
    learner("Ben", "Brook", course=course, completed_days_ago=400)
    completions, learners = Completion.objects.count(), Learner.objects.count()
    page = browser_page
    sign_in(page)
    errors = watch_console(page)
    page.goto(f"/learning/compliance/{requirement.pk}/settings/")

    page.locator("#id_confirm_name").fill("Fire Safty")
    page.get_by_role("button", name="Delete Requirement").click()
    expect(page.locator("#id_confirm_name_error")).to_have_text(
        "The name you typed does not match this requirement's name."
    )
    expect(page.locator("#id_confirm_name")).to_have_attribute("aria-invalid", "true")
    assert Requirement.objects.filter(pk=requirement.pk).exists()

    page.locator("#id_confirm_name").fill("Fire Safety")
    page.get_by_role("button", name="Delete Requirement").click()

    expect(page).to_have_url(DASHBOARD)
    expect(page.get_by_role("status").first).to_contain_text(
        "Requirement “Fire Safety” deleted. Its learners' completions and enrollments are kept."
    )
    expect(page.locator("#cards").get_by_role("heading", name="Manual Handling")).to_be_visible()
    expect(page.locator("#cards")).not_to_contain_text("Fire Safety")
    assert not Requirement.objects.filter(pk=requirement.pk).exists()
    assert Completion.objects.count() == completions == 2
    assert Learner.objects.count() == learners
    assert errors == []


# --- 6. Hostile text ------------------------------------------------------------------


HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_LEARNER = '"><img src=x onerror=alert(2)>'


def test_hostile_names_show_as_text_and_never_run(browser_page, admin_user):
    requirement = RequirementFactory(name=HOSTILE_NAME)
    LearnerFactory(first_name=HOSTILE_LEARNER, last_name="Mallory", email="mallory@example.com")
    page = browser_page
    dialogs = watch_dialogs(page)
    sign_in(page)
    errors = watch_console(page)
    injected = page.locator("img[src='x'], script:has-text('alert(')")

    page.goto("/learning/compliance/")
    expect(page.locator("#cards").get_by_role("heading", level=2)).to_have_text(HOSTILE_NAME)
    expect(page.get_by_text(HOSTILE_NAME, exact=True)).to_be_visible()
    expect(injected).to_have_count(0)

    page.goto(f"/learning/compliance/{requirement.pk}/")
    expect(page).to_have_title(f"{HOSTILE_NAME} · Overview · Techclass")
    expect(page.get_by_role("heading", level=1)).to_have_text(HOSTILE_NAME)
    charts_drawn(page)
    expect(injected).to_have_count(0)

    page.goto(f"/learning/compliance/{requirement.pk}/report/?status=not_started")
    expect(page.get_by_text(f"Mallory, {HOSTILE_LEARNER}", exact=True)).to_be_visible()
    page.evaluate("window.__marker = 1")
    page.locator("#report-q").fill('"><img')  # the HTMX path echoes the search text too
    expect(page.locator(".report-summary")).to_contain_text('matching “"><img”')
    expect(report_rows(page).locator(".name")).to_have_text([f"Mallory, {HOSTILE_LEARNER}"])
    assert_no_reload(page)
    expect(injected).to_have_count(0)

    page.goto(f"/learning/compliance/{requirement.pk}/settings/")
    expect(page.get_by_label("Name")).to_have_value(HOSTILE_NAME)
    expect(page.locator(".confirm-name")).to_have_text(HOSTILE_NAME)
    expect(page.get_by_role("heading", level=1)).to_have_text(HOSTILE_NAME)
    expect(injected).to_have_count(0)

    assert dialogs == []
    assert errors == []


# --- 7. A 375 px phone ----------------------------------------------------------------


def test_no_page_scrolls_sideways_on_a_375px_phone(browser_page, admin_user, live_server):
    group = GroupFactory(name="Finance and Regulatory Compliance Operations")
    course = CourseFactory(code="AML-2026", title="Anti-Money Laundering and Counter-Terrorist Financing")
    requirement = RequirementFactory(
        name="Anti-Money Laundering and Counter-Terrorist Financing Annual Refresher",
        course=course,
        target_group=group,
    )
    for first, last in [("Maximiliane", "Oberhauser-Wittgenstein"), ("Bartholomew", "Featherstonehaugh")]:
        learner(first, last, course=course, completed_days_ago=30, group=group)
    context = browser_page.context.browser.new_context(base_url=live_server.url, viewport={"width": 375, "height": 800})
    try:
        page = context.new_page()
        errors = watch_console(page)
        sign_in(page)
        expect(page.get_by_role("heading", name=requirement.name)).to_be_visible()
        assert page_width(page) <= 375

        page.goto(f"/learning/compliance/{requirement.pk}/")
        charts_drawn(page)
        assert page_width(page) <= 375

        page.goto(f"/learning/compliance/{requirement.pk}/report/")
        expect(report_rows(page)).to_have_count(2)
        assert page_width(page) <= 375
        overflow, inner, box = page.locator(".table-scroll").evaluate(
            "el => [getComputedStyle(el).overflowX, el.scrollWidth, el.clientWidth]"
        )
        assert overflow == "auto" and inner > box, "the table is wider than the phone and scrolls in its own box"

        page.goto(f"/learning/compliance/{requirement.pk}/settings/")
        expect(page.get_by_role("button", name="Delete Requirement")).to_be_visible()
        assert page_width(page) <= 375
        assert errors == []
    finally:
        context.close()


# --- 8. Auditor -----------------------------------------------------------------------


def test_an_auditor_sees_every_page_without_change_controls(browser_page, auditor_user):
    course = CourseFactory(code="FS-1", title="Fire Safety Course")
    requirement = RequirementFactory(name="Fire Safety", course=course)
    learner("Ana", "Alves", course=course, completed_days_ago=10)
    page = browser_page
    sign_in(page, "bob")
    errors = watch_console(page)

    expect(page.locator(".user-role")).to_have_text("Auditor")
    expect(page.locator("#cards").get_by_role("heading", name="Fire Safety")).to_be_visible()
    expect(page.get_by_role("link", name="New Requirement")).to_have_count(0)

    page.goto(f"/learning/compliance/{requirement.pk}/")
    expect(metric(page, "metric-compliant")).to_have_text("1")
    charts_drawn(page)

    page.goto(f"/learning/compliance/{requirement.pk}/report/")
    expect(report_rows(page).locator(".name")).to_have_text(["Alves, Ana"])

    page.goto(f"/learning/compliance/{requirement.pk}/settings/")
    expect(page.get_by_text("only compliance admins can change them")).to_be_visible()
    expect(page.locator(".settings-list")).to_contain_text("365 days")
    expect(page.get_by_role("button", name="Save Changes")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete Requirement")).to_have_count(0)
    expect(page.locator("#id_confirm_name")).to_have_count(0)
    expect(page.locator("form[action$='/settings/'], form[action$='/delete/']")).to_have_count(0)
    assert errors == []

    response = page.goto("/learning/compliance/new/")
    assert response.status == 403


# --- Keyboard and screen-reader details of the report ----------------------------------


def test_paging_by_keyboard_keeps_focus_and_announces_the_new_rows(browser_page: Page, admin_user):
    requirement = RequirementFactory(name="Fire Safety")
    for i in range(60):
        LearnerFactory(first_name="Zed", last_name=f"Zulu{i:03d}", email=f"z{i:03d}@example.com")
    page = browser_page
    sign_in(page)
    page.goto(f"/learning/compliance/{requirement.pk}/report/?status=not_started")

    page.locator("#pager-next").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#report-summary")).to_contain_text("Showing 51\u201360 of 60")
    # No "Next" on the last page: focus lands on the summary, not on <body>.
    expect(page.locator("#report-summary")).to_be_focused()
    expect(page.locator("#announcer")).to_have_text(re.compile(r"^Showing 51\u201360 of 60 Not Started learners"))

    page.locator("#pager-prev").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#report-summary")).to_contain_text("Showing 1\u201350 of 60")
    expect(page.locator("#pager-next")).to_be_visible()

    page.locator("#report-q").fill("zulu05")
    expect(page.locator("#announcer")).to_contain_text("Showing 1\u201310 of 10")
    expect(page.locator("#report-q")).to_be_focused()
