"""Enroll and Remediate All through the Report (interfaces.md: HTMX POSTs that
also work as plain form POSTs, redirecting back with status, q and page)."""

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from compliance.models import AuditEvent, Enrollment, EnrollmentSource
from tests.factories import CompletionFactory, CourseFactory, EnrollmentFactory, LearnerFactory, RequirementFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]

HTMX = {"HX-Request": "true"}


@pytest.fixture
def gdpr():
    return CourseFactory(code="GDPR-101", title="GDPR Essentials")


@pytest.fixture
def requirement(gdpr):
    return RequirementFactory(name="Data Privacy", course=gdpr, valid_days=365, warning_days=30)


def learner(first: str, last: str = "Example", *, completed: dt.date | None = None, course=None):
    person = LearnerFactory(first_name=first, last_name=last, email=f"{first.lower()}@example.com")
    if completed:
        CompletionFactory(learner=person, course=course, day=completed)
    return person


@pytest.fixture
def people(gdpr):
    """Two Not Started learners (one enrolled already), an Expired one and a Compliant one."""
    enrolled = learner("Nina")
    EnrollmentFactory(learner=enrolled, course=gdpr, enrolled_at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
    return {
        "anna": learner("Anna"),
        "nina": enrolled,
        "ella": learner("Ella", completed=dt.date(2025, 10, 1), course=gdpr),
        "carl": learner("Carl", completed=dt.date(2026, 6, 1), course=gdpr),
    }


def enroll_url(requirement) -> str:
    return reverse("requirement_enroll", args=[requirement.pk])


def remediate_url(requirement) -> str:
    return reverse("requirement_remediate", args=[requirement.pk])


def report_url(requirement, **params) -> str:
    return reverse("requirement_report", args=[requirement.pk]) + (
        "?" + "&".join(f"{k}={v}" for k, v in params.items())
    )


def remediated():
    return {e.learner.email for e in Enrollment.objects.filter(source=EnrollmentSource.REMEDIATION)}


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


# --- Enroll -----------------------------------------------------------------------------


def test_enroll_by_htmx_answers_with_that_row_alone(admin_client, requirement, people):
    anna = people["anna"]
    response = admin_client.post(
        enroll_url(requirement), {"learner": anna.pk, "status": "not_started", "page": "1"}, headers=HTMX
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith(f'<tr id="learner-{anna.pk}"')
    assert html.count("<tr") == 1 and "<html" not in html
    assert "Enrolled on 28 Nov 2026" in html
    assert "<button" not in html
    assert response["HX-Retarget"] == f"#learner-{anna.pk}"
    assert response["HX-Reswap"] == "outerHTML"
    assert remediated() == {"anna@example.com"}


def test_enroll_without_javascript_redirects_back_to_where_the_admin_was(admin_client, requirement, people):
    data = {"learner": people["anna"].pk, "status": "not_started", "q": "ann", "page": "3"}
    response = admin_client.post(enroll_url(requirement), data)

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("requirement_report", args=[requirement.pk])
    assert query_of(response["Location"]) == {"status": ["not_started"], "q": ["ann"], "page": ["3"]}
    page = admin_client.get(response["Location"]).content.decode()
    assert "Enrolled anna@example.com in GDPR-101." in page
    assert remediated() == {"anna@example.com"}


def test_enroll_of_an_enrolled_learner_says_nobody_new_was_enrolled(admin_client, requirement, people):
    response = admin_client.post(enroll_url(requirement), {"learner": people["nina"].pk, "status": "not_started"})
    page = admin_client.get(response["Location"]).content.decode()
    assert "nina@example.com was already enrolled in GDPR-101; nobody new was enrolled." in page
    assert Enrollment.objects.filter(learner=people["nina"]).count() == 1


def test_enroll_by_htmx_of_an_enrolled_learner_says_nobody_new_was_enrolled(admin_client, requirement, people):
    nina = people["nina"]
    response = admin_client.post(enroll_url(requirement), {"learner": nina.pk, "status": "not_started"}, headers=HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Enrolled on 2 Nov 2026" in html
    assert "was enrolled already; nobody new was enrolled" in html
    assert "pill-new" not in html
    assert Enrollment.objects.filter(learner=nina).count() == 1


def test_enroll_of_a_compliant_learner_by_htmx_is_a_409_shown_in_the_row(admin_client, requirement, people):
    carl = people["carl"]
    events = AuditEvent.objects.count()
    response = admin_client.post(enroll_url(requirement), {"learner": carl.pk, "status": "expired"}, headers=HTMX)

    assert response.status_code == 409
    html = response.content.decode()
    assert "<html" not in html and 'role="alert"' in html
    assert "carl@example.com is Compliant today, so Enroll does not apply" in html
    assert response["HX-Retarget"] == f"#enrollment-{carl.pk}"
    assert response["HX-Reswap"] == "innerHTML"
    assert not Enrollment.objects.filter(learner=carl).exists()
    assert AuditEvent.objects.count() == events


def test_enroll_of_a_compliant_learner_without_javascript_is_a_409_page_with_a_way_back(
    admin_client, requirement, people
):
    response = admin_client.post(enroll_url(requirement), {"learner": people["carl"].pk, "status": "expired"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "<html" in html and "Enroll does not apply" in html
    assert f'href="{report_url(requirement, status="expired")}"' in html
    assert not remediated()


def test_enroll_of_an_unknown_learner_is_a_409(admin_client, requirement, people):
    response = admin_client.post(enroll_url(requirement), {"learner": 10**9, "status": "not_started"})
    assert response.status_code == 409
    assert "not in the requirement&#x27;s scope" in response.content.decode()
    assert not remediated()


@pytest.mark.parametrize("value", ["", "abc", "1.5", "0", "-3", str(2**63), "10000000000000000000"])
def test_enroll_without_a_learner_id_is_a_400(admin_client, requirement, people, value):
    response = admin_client.post(enroll_url(requirement), {"learner": value, "status": "not_started"})
    assert response.status_code == 400
    assert "Choose a learner to enroll." in response.content.decode()
    assert not remediated()


def test_an_auditor_cannot_enroll_even_a_real_learner(client, auditor_user, requirement, people):
    client.force_login(auditor_user)
    response = client.post(
        enroll_url(requirement), {"learner": people["anna"].pk, "status": "not_started"}, headers=HTMX
    )
    assert response.status_code == 403
    assert "Only compliance admins can make changes." in response.content.decode()
    assert not remediated()
    assert not AuditEvent.objects.exists()


# --- Remediate All: the confirmation ---------------------------------------------------------


def test_the_confirmation_page_counts_the_learners_to_enroll(admin_client, requirement, people):
    response = admin_client.get(remediate_url(requirement), {"status": "not_started"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html
    assert 'Enroll 1 learner in <span class="nowrap">GDPR-101</span>?' in html  # Anna; Nina is enrolled already
    assert 'name="status" value="not_started"' in html
    assert "matching the search" not in html
    assert f'href="{report_url(requirement, status="not_started")}"' in html  # Cancel
    assert not remediated(), "showing the confirmation enrolls nobody"


def test_the_confirmation_says_when_the_search_narrows_it(admin_client, requirement, gdpr):
    for name in ("Anna", "Annabel", "Bob"):
        learner(name)
    html = admin_client.get(remediate_url(requirement), {"status": "not_started", "q": "  ann  "}).content.decode()
    assert 'Enroll 2 learners in <span class="nowrap">GDPR-101</span>?' in html
    assert "matching the search “ann”" in html
    assert "Only learners matching the current search are included" in html
    assert 'name="q" value="ann"' in html


def test_the_confirmation_page_posts_as_a_plain_form(admin_client, requirement, people):
    """On its own page (no Report to swap into), the form must not be an htmx POST."""
    html = admin_client.get(remediate_url(requirement), {"status": "expired"}).content.decode()
    assert f'<form method="post" action="{remediate_url(requirement)}"' in html
    assert "hx-post" not in html[html.index('id="remediate-confirmation"') :]


def test_the_confirmation_by_htmx_is_the_dialog_content_alone(admin_client, requirement, people):
    response = admin_client.get(remediate_url(requirement), {"status": "expired"}, headers=HTMX)
    html = response.content.decode()
    assert "<html" not in html and 'id="remediate-confirmation"' in html
    assert 'Enroll 1 learner in <span class="nowrap">GDPR-101</span>?' in html  # Ella
    assert 'hx-post="' + remediate_url(requirement) + '"' in html


def test_the_confirmation_of_a_tab_where_everyone_is_enrolled_offers_no_button(admin_client, requirement, gdpr):
    EnrollmentFactory(learner=learner("Nina"), course=gdpr)
    html = admin_client.get(remediate_url(requirement), {"status": "not_started"}).content.decode()
    assert "Nobody to enroll" in html
    assert 'id="remediate-confirm"' not in html


@pytest.mark.parametrize("status", ["compliant", "expiring_soon", "in_progress"])
def test_remediate_all_is_a_400_on_other_tabs(admin_client, requirement, people, status):
    assert admin_client.get(remediate_url(requirement), {"status": status}).status_code == 400
    response = admin_client.post(remediate_url(requirement), {"status": status})
    assert response.status_code == 400
    assert "applies to the Not Started and Expired tabs" in response.content.decode()
    assert not remediated()


def test_an_unknown_status_is_a_400(admin_client, requirement, people):
    assert admin_client.post(remediate_url(requirement), {"status": "bogus"}).status_code == 400
    assert not remediated()


# --- Remediate All: the change ----------------------------------------------------------------


def test_remediate_all_by_htmx_refreshes_the_results_and_says_how_many(admin_client, requirement, people):
    response = admin_client.post(remediate_url(requirement), {"status": "not_started", "page": "1"}, headers=HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith('<div id="report-results"')
    # The dialog's form targets the dialog (where a refusal would show); success replaces the results.
    assert (response["HX-Retarget"], response["HX-Reswap"]) == ("#report-results", "outerHTML")
    assert "Enrolled 1 Not Started learner in GDPR-101." in html
    assert 'id="messages" hx-swap-oob="innerHTML"' in html
    assert 'id="report-actions" hx-swap-oob="true"' in html
    rows = re.findall(r'<tr id="learner-\d+">.*?</tr>', html, re.S)
    assert len(rows) == 2 and all("Enrolled on" in row for row in rows)
    assert "<button" not in "".join(rows)
    assert remediated() == {"anna@example.com"}


def test_remediate_all_without_javascript_redirects_back_with_the_message(admin_client, requirement, gdpr):
    for name in ("Anna", "Annabel", "Bob"):
        learner(name)
    response = admin_client.post(remediate_url(requirement), {"status": "not_started", "q": "ann", "page": "2"})

    assert response.status_code == 302
    assert query_of(response["Location"]) == {"status": ["not_started"], "q": ["ann"], "page": ["2"]}
    page = admin_client.get(response["Location"]).content.decode()
    assert "Enrolled 2 Not Started learners matching “ann” in GDPR-101." in page
    assert remediated() == {"anna@example.com", "annabel@example.com"}


def test_remediate_all_twice_says_nobody_new_the_second_time(admin_client, requirement, people):
    admin_client.post(remediate_url(requirement), {"status": "expired"})
    response = admin_client.post(remediate_url(requirement), {"status": "expired"})
    page = admin_client.get(response["Location"]).content.decode()
    assert "Nobody new to enroll: every Expired learner is already enrolled in GDPR-101, or there" in page
    assert remediated() == {"ella@example.com"}


def test_an_auditor_cannot_remediate(client, auditor_user, requirement, people):
    client.force_login(auditor_user)
    assert client.get(remediate_url(requirement), {"status": "not_started"}).status_code == 403
    assert client.post(remediate_url(requirement), {"status": "not_started"}, headers=HTMX).status_code == 403
    assert not remediated()
    assert not AuditEvent.objects.exists()


# --- The Report's controls ------------------------------------------------------------------


def test_the_report_offers_enroll_only_to_unenrolled_learners_of_the_two_tabs(admin_client, requirement, people):
    not_started = admin_client.get(report_url(requirement, status="not_started")).content.decode()
    assert f'name="learner" value="{people["anna"].pk}"' in not_started
    assert f'name="learner" value="{people["nina"].pk}"' not in not_started
    assert "Enrolled on 2 Nov 2026" in not_started
    assert 'id="remediate-all"' in not_started
    expired = admin_client.get(report_url(requirement, status="expired")).content.decode()
    assert f'name="learner" value="{people["ella"].pk}"' in expired
    compliant = admin_client.get(report_url(requirement, status="compliant")).content.decode()
    assert 'name="learner"' not in compliant and 'id="remediate-all"' not in compliant


def test_the_report_shows_an_auditor_no_enroll_controls_but_the_export(client, auditor_user, requirement, people):
    client.force_login(auditor_user)
    html = client.get(report_url(requirement, status="not_started")).content.decode()
    assert 'name="learner"' not in html
    assert 'id="remediate-all"' not in html
    assert 'id="export-csv"' in html


def test_the_export_link_carries_the_tab_and_search(admin_client, requirement, people):
    html = admin_client.get(report_url(requirement, status="expired", q="ella", page="4")).content.decode()
    export = re.search(r'id="export-csv" href="([^"]+)"', html)[1].replace("&amp;", "&")
    assert urlsplit(export).path == reverse("requirement_export", args=[requirement.pk])
    assert query_of(export) == {"status": ["expired"], "q": ["ella"]}


def test_an_htmx_tab_switch_refreshes_the_toolbar_out_of_band(admin_client, requirement, people):
    html = admin_client.get(report_url(requirement, status="expired"), headers=HTMX).content.decode()
    actions = html[html.index('id="report-actions" hx-swap-oob="true"') :]
    assert "status=expired" in actions and 'id="remediate-all"' in actions
    # An earlier action's message does not linger on the new tab.
    assert '<div class="messages" id="messages" hx-swap-oob="innerHTML"></div>' in html


# --- Queries ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [3, 60])
def test_remediate_all_runs_a_fixed_number_of_queries(admin_client, requirement, size, django_assert_num_queries):
    LearnerFactory.create_batch(size)
    # session, user, user's groups; requirement, its course history; savepoint, the
    # INSERT … SELECT, the audit event, release; the tab counts, the page of rows,
    # their groups; the session saved (savepoint, update, release).
    with django_assert_num_queries(15):
        admin_client.post(remediate_url(requirement), {"status": "not_started"}, headers=HTMX)
    assert Enrollment.objects.count() == size


def test_enroll_runs_a_fixed_number_of_queries(admin_client, requirement, people, django_assert_num_queries):
    # session, user, user's groups; requirement, its course history; savepoint, the
    # INSERT … SELECT, the learner's row, the audit event, release; the row's groups;
    # the session saved (savepoint, update, release).
    with django_assert_num_queries(14):
        admin_client.post(
            enroll_url(requirement), {"learner": people["anna"].pk, "status": "not_started"}, headers=HTMX
        )


@pytest.mark.parametrize("size", [3, 60])
def test_the_confirmation_runs_a_fixed_number_of_queries(admin_client, requirement, size, django_assert_num_queries):
    LearnerFactory.create_batch(size)
    # session, user, user's groups; requirement, its course history; the count;
    # the session saved (savepoint, update, release).
    with django_assert_num_queries(9):
        admin_client.get(remediate_url(requirement), {"status": "not_started"}, headers=HTMX)
