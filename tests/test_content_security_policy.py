"""The Content Security Policy: sent on every response, scripts only from our
origin (no inline script, no eval), and no template or script of ours that
would need more. The browser test runs every page, charts and the admin
included, under the policy and fails on any console error or violation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from compliance.models import AuditEvent
from tests.factories import CompletionFactory, CourseFactory, LearnerFactory, RequirementFactory

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = [ROOT / "templates", *(ROOT / "compliance").glob("**/templates")]
OUR_SCRIPTS = sorted((ROOT / "static" / "js").glob("*.js"))


def directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/accounts/login/", "/learning/compliance/", "/learning/compliance/audit/", "/admin/", "/healthz", "/nowhere/"],
)
def test_every_response_carries_the_policy(admin_client, path):
    response = admin_client.get(path)
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_a_redirect_from_a_middleware_carries_the_policy_too(client):
    response = client.get("/accounts/login")  # CommonMiddleware adds the slash
    assert (response.status_code, response["Location"]) == (301, "/accounts/login/")
    assert directives(response["Content-Security-Policy"])["script-src"] == ["'self'"]


def test_only_styles_may_be_inline():
    policy = settings.CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in policy["script-src"] + policy["default-src"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]  # plotly sets inline styles


def templates() -> list[Path]:
    return sorted(path for directory in TEMPLATE_DIRS for path in directory.glob("**/*.html"))


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER_ATTRIBUTE = re.compile(r"\s(on[a-z]+|(?:data-)?hx-on[:\w-]*)\s*=", re.I)


@pytest.mark.parametrize("template", templates(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_template_has_inline_script_or_handlers(template):
    text = template.read_text()
    assert not INLINE_SCRIPT.findall(text), "inline <script>: use a file under static/js, data in json_script"
    assert not HANDLER_ATTRIBUTE.findall(text), "inline event handler: bind it in static/js"
    assert "javascript:" not in text.lower()


@pytest.mark.parametrize(
    "attribute",
    ['<a onclick="x()">', '<div hx-on:click="x()">', '<div data-hx-on:click="x()">', "<b hx-on::after-swap='x'>"],
)
def test_the_handler_scan_finds_every_kind_of_inline_handler(attribute):
    assert HANDLER_ATTRIBUTE.findall(attribute)


def test_htmx_may_not_eval_or_run_scripts_it_swaps_in():
    config = (ROOT / "templates" / "base.html").read_text()
    assert '"allowEval": false' in config and '"allowScriptTags": false' in config


def test_the_template_scan_finds_the_templates():
    assert {"base.html", "overview.html", "login.html"} <= {path.name for path in templates()}


@pytest.mark.parametrize("script", OUR_SCRIPTS, ids=lambda path: path.name)
def test_our_scripts_do_not_eval(script):
    text = script.read_text()
    assert not re.search(r"\beval\s*\(|new\s+Function\s*\(|set(Timeout|Interval)\s*\(\s*['\"]", text)


# --- In a browser ------------------------------------------------------------------------

#: Records violations of the page's CSP before any script of the page runs.
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " " + event.sourceFile + ":" + event.lineNumber);
});
"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_every_page_runs_under_the_policy_without_a_console_error(browser_page, admin_user):
    from playwright.sync_api import expect

    admin_user.is_staff = True
    admin_user.save()
    course = CourseFactory(title="Fire <b>drill</b>")
    requirement = RequirementFactory(name='Fire "safety" </script>', course=course, valid_days=365, warning_days=30)
    for i in range(4):
        learner = LearnerFactory(first_name=f"Ann{i}")
        if i % 2:
            CompletionFactory(learner=learner, course=course)
    page = browser_page
    page.add_init_script(WATCH_VIOLATIONS)
    errors: list[str] = []
    page.on(
        "console",
        lambda message: errors.append(f"{page.url} console: {message.text}") if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: errors.append(f"{page.url} page error: {error}"))

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/learning/compliance/$"))

    pk = requirement.pk
    event = AuditEvent.objects.order_by("-pk").first()
    paths = [
        reverse("requirement_list"),
        reverse("requirement_new"),
        reverse("requirement_overview", args=[pk]),
        reverse("requirement_report", args=[pk]) + "?status=not_started",
        reverse("requirement_settings", args=[pk]),
        reverse("audit_log"),
        reverse("requirement_audit_log", args=[pk]),
        reverse("requirement_remediate", args=[pk]) + "?status=not_started",
        reverse("notification_log"),
        reverse("requirement_notification_log", args=[pk]),
        "/admin/",
        reverse("admin:compliance_learner_changelist"),
        reverse("admin:compliance_learner_add"),
        reverse("admin:compliance_auditevent_change", args=[event.pk]),
        reverse("admin:compliance_notification_changelist"),
    ]
    for path in paths:
        page.goto(path)
        page.wait_for_load_state("load")
        if path == reverse("requirement_overview", args=[pk]):
            # plotly draws under the policy (its inline styles are allowed)
            for chart in ("chart-status-donut", "chart-monthly-completions"):
                expect(page.locator(f'[data-chart="{chart}"] .main-svg').first).to_be_visible()
        if path == reverse("requirement_report", args=[pk]) + "?status=not_started":
            page.locator("#status-tab-compliant").click()  # an HTMX swap
            expect(page).to_have_url(re.compile(r"status=compliant"))
        assert page.evaluate("window.__cspViolations") == [], path

    # The settings preview (an HTMX POST) and a sign-out, under the policy too.
    page.goto(reverse("requirement_settings", args=[pk]))
    with page.expect_response(lambda response: "/settings/preview/" in response.url) as preview:
        page.get_by_label("Valid for").fill("30")
    assert preview.value.status == 200
    assert page.evaluate("window.__cspViolations") == []
    assert errors == []
