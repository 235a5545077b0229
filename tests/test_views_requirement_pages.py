"""The requirement's Overview and Report tabs through the views."""

import datetime as dt
import json
import re

import pytest

from compliance.statuses import Status
from tests.factories import (
    GroupFactory,
    LearnerFactory,
    RequirementFactory,
)
from tests.worked_example import worked_example

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]

TODAY = dt.date(2026, 11, 28)


@pytest.fixture
def requirement():
    """The worked example of compliance-rules.md (tests/worked_example.py)."""
    return worked_example()


def overview(client, requirement) -> str:
    return client.get(f"/learning/compliance/{requirement.pk}/").content.decode()


def report(client, requirement, **params):
    return client.get(f"/learning/compliance/{requirement.pk}/report/", params)


def json_data(html: str, element_id: str) -> dict:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


# --- Overview -------------------------------------------------------------------------


def test_the_header_names_type_course_target_and_validity(admin_client, requirement):
    html = overview(admin_client, requirement)
    assert "<h1>Data Privacy</h1>" in html
    assert "GDPR Essentials" in html and "All Learners" in html and "365 days, warning 30 days before" in html
    assert 'aria-current="page">Overview</a>' in html


def test_metric_cards_show_the_worked_example_counts_and_link_to_their_tabs(admin_client, requirement):
    html = overview(admin_client, requirement)
    metrics = html[html.index('<section class="metrics"') : html.index("</section>", html.index('class="metrics"'))]
    values = re.findall(r'<span class="metric-value">(.*?)</span>\s*<span class="metric-note">', metrics, re.S)
    assert values[0] == "7" and values[1] == "1" and values[2] == "2"  # total, compliant, expiring soon
    assert ">1</a>" in values[3] and ">2</a>" in values[3]  # expired (caro) / not started (finn, gus)
    assert values[4] == "42%"  # 3 of 7, rounded down
    for slug in ("compliant", "expiring_soon", "expired", "not_started"):
        assert f'/report/?status={slug}"' in metrics


def test_the_donut_has_the_five_counts_and_the_legend_gives_them_as_text(admin_client, requirement):
    html = overview(admin_client, requirement)
    donut = json_data(html, "chart-status-donut")
    assert donut["data"][0]["values"] == [1, 2, 1, 1, 2]
    assert donut["data"][0]["labels"] == [s.label for s in Status]
    legend = html[html.index('<table class="legend">') : html.index("</table>", html.index('<table class="legend">'))]
    cells = re.findall(r">([A-Za-z ]+)</a></th><td class=\"num\">(\d+)</td>", legend)
    assert cells == [
        ("Compliant", "1"),
        ("Expiring Soon", "2"),
        ("Expired", "1"),
        ("In Progress", "1"),
        ("Not Started", "2"),
    ]


def test_the_monthly_chart_and_its_table_count_completions_of_learners_in_scope(admin_client, requirement):
    html = overview(admin_client, requirement)
    chart = json.dumps(json_data(html, "chart-monthly-completions"))
    assert "Nov" in chart
    table = html[html.index('<details class="chart-data">') : html.index("</details>")]
    rows = dict(re.findall(r"<td>(\w{3} \d{4})</td><td class=\"num\">(\d+)</td>", table))
    assert len(rows) == 12 and rows["Dec 2025"] == "2" and rows["Mar 2026"] == "1"
    assert rows["Oct 2026"] == "0"  # Hana's completion: she is deactivated
    assert "Nov 2025" not in rows and "Nov 2026" in rows  # the 12 months end with this one


def test_only_the_overview_loads_plotly(admin_client, requirement):
    assert "plotly-basic-4.1.1.min.js" in overview(admin_client, requirement)
    assert "plotly" not in report(admin_client, requirement).content.decode()
    assert "plotly" not in admin_client.get("/learning/compliance/").content.decode()


def test_an_empty_scope_shows_no_rate(admin_client):
    requirement = RequirementFactory(target_group=GroupFactory())
    html = overview(admin_client, requirement)
    assert '<span class="metric-value">—</span>' in html and "nobody in scope" in html


def test_an_unknown_requirement_is_404(admin_client):
    assert admin_client.get("/learning/compliance/999999/").status_code == 404


# --- Report -------------------------------------------------------------------------------


def names_in(html: str) -> list[str]:
    return re.findall(r'<span class="name">(.*?)</span>', html)


def test_the_report_defaults_to_compliant(admin_client, requirement):
    html = report(admin_client, requirement).content.decode()
    assert names_in(html) == ["Alves, Ana"]
    assert 'id="status-tab-compliant" href="/learning/compliance/' in html
    assert re.search(r'status-tab-compliant"[^>]*aria-current="page"', html)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("expiring_soon", ["Brown, Ben", "Evans, Eve"]),
        ("expired", ["Costa, Caro"]),
        ("in_progress", ["Diaz, Dev"]),
        ("not_started", ["Fox, Finn", "Green, Gus"]),
    ],
)
def test_each_tab_lists_its_learners_sorted_by_name(admin_client, requirement, status, expected):
    assert names_in(report(admin_client, requirement, status=status).content.decode()) == expected


def test_tabs_show_their_counts(admin_client, requirement):
    html = report(admin_client, requirement).content.decode()
    counts = dict(re.findall(r'id="status-tab-(\w+)".*?<span class="count">(\d+)</span>', html, re.S))
    assert counts == {"compliant": "1", "expiring_soon": "2", "expired": "1", "in_progress": "1", "not_started": "2"}


def test_rows_show_groups_dates_days_left_and_enrollment(admin_client, requirement):
    html = report(admin_client, requirement, status="not_started").content.decode()
    finn = html[html.index("Fox, Finn") : html.index("</tr>", html.index("Fox, Finn"))]
    assert "finn@example.com" in finn and "HR Department, Sales" in finn and "Enrolled on 1 Nov 2026" in finn
    html = report(admin_client, requirement, status="expiring_soon").content.decode()
    eve = html[html.index("Evans, Eve") : html.index("</tr>", html.index("Evans, Eve"))]
    assert "25 Dec 2025" in eve and "25 Dec 2026" in eve and ">27</td>" in eve and "Retake · 10%" in eve
    html = report(admin_client, requirement, status="expired").content.decode()
    caro = html[html.index("Costa, Caro") : html.index("</tr>", html.index("Costa, Caro"))]
    assert 'negative">0</td>' not in caro and ">0</td>" in caro and "Enroll caro@example.com in GDPR-101" in caro
    html = report(admin_client, requirement, status="in_progress").content.decode()
    assert "In progress · 40%" in html


def test_search_matches_every_term_in_names_or_email_and_the_counts_follow(admin_client, requirement):
    html = report(admin_client, requirement, status="expiring_soon", q="  EVE  example ").content.decode()
    assert names_in(html) == ["Evans, Eve"]
    counts = dict(re.findall(r'id="status-tab-(\w+)".*?<span class="count">(\d+)</span>', html, re.S))
    assert counts == {"compliant": "0", "expiring_soon": "1", "expired": "0", "in_progress": "0", "not_started": "0"}
    assert 'value="EVE example"' in html  # the search box keeps the text, tidied
    assert "q=EVE+example" in html  # tab links keep the search, trimmed


def test_an_unknown_status_is_a_bad_request(admin_client, requirement):
    response = report(admin_client, requirement, status="overdue")
    assert response.status_code == 400 and "Unknown status" in response.content.decode()


def test_pages_of_fifty_and_a_page_past_the_end_shows_the_last(admin_client, requirement):
    for i in range(120):
        LearnerFactory(first_name="Zed", last_name=f"Zulu{i:03d}", email=f"z{i:03d}@example.com")
    first = report(admin_client, requirement, status="not_started").content.decode()
    assert len(names_in(first)) == 50 and "Page 1 of 3" in first and "Showing 1\u201350 of 122" in first
    last = report(admin_client, requirement, status="not_started", page="99").content.decode()
    assert "Page 3 of 3" in last and len(names_in(last)) == 22 and names_in(last)[-1] == "Zulu119, Zed"
    assert report(admin_client, requirement, status="not_started", page="abc").status_code == 200
    assert 'rel="next" href="/learning/compliance/' in first and "page=2" in first


def test_the_htmx_request_gets_only_the_results(admin_client, requirement):
    response = admin_client.get(
        f"/learning/compliance/{requirement.pk}/report/", {"status": "expired"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.strip().startswith('<div id="report-results"') and "<html" not in html
    assert names_in(html) == ["Costa, Caro"]
    assert 'name="status" value="expired" form="report-search"' in html


def test_a_history_restore_gets_the_whole_page(admin_client, requirement):
    response = admin_client.get(
        f"/learning/compliance/{requirement.pk}/report/",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in response.content.decode()
