"""The audit log pages (global, and a requirement's tab) and their CSV export:
order, pages, filters, readable summaries, escaping, formula protection,
roles, invalid filters and a fixed number of queries."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse
from django.utils.html import escape

from compliance.audit_log import (
    AuditFilters,
    audit_export_rows,
    audit_log_page,
    filter_events,
    resolve_names,
    summarize,
)
from compliance.models import AuditEvent, Course
from compliance.requirements import requirement_create, requirement_delete, requirement_update
from tests.factories import CourseFactory, GroupFactory, RequirementFactory, RequirementTypeFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)
HEADER = ["at", "actor", "action", "object_type", "object_id", "object", "requirement_id", "summary", "before", "after"]


def event(minutes_ago: int = 0, *, action: str = "admin.change", **fields) -> AuditEvent:
    """An audit event ``minutes_ago`` before now (or at ``at``)."""
    values = {
        "at": NOW - dt.timedelta(minutes=minutes_ago),
        "actor_label": "alice",
        "action": action,
        "object_type": "learner",
        "object_id": "1",
        "object_repr": "ana@example.com",
    }
    return AuditEvent.objects.create(**(values | fields))


def rows_of(html: str) -> list[str]:
    """The object cell of each row of the table, in order."""
    return [escape_free(cell) for cell in re.findall(r'<td class="audit-object">(.*?)</td>', html, flags=re.DOTALL)]


def escape_free(html: str) -> str:
    """The text of an HTML fragment, tags dropped (as a space) and entities decoded."""
    parser = HTMLParser(convert_charrefs=True)
    parts: list[str] = []
    parser.handle_data = parts.append
    parser.feed(html)
    parser.close()
    return " ".join(" ".join(parts).split())


def get(client, url: str, params=None, *, status: int = 200, htmx: bool = False) -> str:
    response = client.get(url, params or {}, headers={"HX-Request": "true"} if htmx else {})
    assert response.status_code == status
    return response.content.decode()


def download(client, url: str, params=None) -> tuple[list[list[str]], object]:
    response = client.get(url, params or {})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")
    return list(csv.reader(io.StringIO(content[1:]))), response


@pytest.fixture(autouse=True)
def frozen(request):
    """Noon UTC on 2026-11-28, except in the browser test, whose browser keeps real time."""
    if request.node.get_closest_marker("browser"):
        yield
        return
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def auditor(client, auditor_user):
    client.force_login(auditor_user)
    return client


@pytest.fixture
def gdpr(admin_user):
    """A requirement created and changed through the services, as an admin does in the portal."""
    old, new = CourseFactory(code="GDPR-101", title="GDPR basics"), CourseFactory(code="GDPR-102", title="GDPR 2027")
    requirement = requirement_create(
        actor=admin_user, type=RequirementTypeFactory(), name="GDPR", valid_days=365, warning_days=30, course=old
    )
    requirement_update(actor=admin_user, requirement=requirement, valid_days=180, course=new)
    return requirement


# --- Order and pages -----------------------------------------------------------------------


def test_events_are_listed_newest_first(auditor):
    event(30, object_repr="middle@example.com")
    event(60, object_repr="oldest@example.com")
    event(0, object_repr="newest@example.com")
    same_moment = [event(90, object_repr=f"tie{i}@example.com") for i in range(2)]

    html = get(auditor, reverse("audit_log"))

    assert rows_of(html) == [
        "Learner newest@example.com",
        "Learner middle@example.com",
        "Learner oldest@example.com",
        f"Learner {same_moment[1].object_repr}",  # the same moment: the later event first
        f"Learner {same_moment[0].object_repr}",
    ]
    assert "Showing 1\N{EN DASH}5 of 5 events, newest first" in html


def test_fifty_events_a_page_and_a_page_past_the_end_shows_the_last(auditor):
    for i in range(120):
        event(i, object_repr=f"l{i:03d}@example.com")
    url = reverse("audit_log")

    first = get(auditor, url)
    third = get(auditor, url, {"page": "3"})
    past_the_end = get(auditor, url, {"page": "99"})
    not_a_number = get(auditor, url, {"page": "two"})

    assert len(rows_of(first)) == 50
    assert rows_of(first)[0] == "Learner l000@example.com"
    assert "Page 1 of 3" in first
    assert f'href="{url}?page=2"' in first
    assert rows_of(third)[0] == "Learner l100@example.com"
    assert len(rows_of(third)) == 20
    assert "Showing 101\N{EN DASH}120 of 120 events" in third
    assert rows_of(past_the_end) == rows_of(third)
    assert "Page 3 of 3" in past_the_end
    assert rows_of(not_a_number) == rows_of(first)


def test_the_pager_and_the_export_link_carry_the_filters(auditor):
    for i in range(60):
        event(i, action="requirement.export" if i % 2 else "admin.change")
    url = reverse("audit_log")

    html = get(auditor, url, {"action": "admin.change", "actor": "", "from": "2026-11-27", "page": "1"})

    assert "Showing 1\N{EN DASH}30 of 30 events matching the filters" in html
    assert (
        'id="audit-export" href="/learning/compliance/audit/export.csv?action=admin.change&amp;from=2026-11-27"' in html
    )
    assert "pager" not in html  # 30 events fit on one page

    for i in range(40):
        event(100 + i, action="admin.change")
    html = get(auditor, url, {"action": "admin.change"})
    assert f'href="{url}?action=admin.change&amp;page=2"' in html


def test_an_htmx_request_gets_only_the_results_and_a_clean_address(auditor):
    event(0, action="admin.change")
    event(1, action="requirement.export")

    response = auditor.get(
        reverse("audit_log"),
        {"action": "admin.change", "actor": "", "from": "", "to": ""},
        headers={"HX-Request": "true"},
    )

    html = response.content.decode()
    assert "<html" not in html
    assert 'id="audit-filters"' not in html
    assert html.strip().startswith('<div id="audit-results"')
    assert len(rows_of(html)) == 1
    assert response["HX-Push-Url"] == "/learning/compliance/audit/?action=admin.change"
    assert "HX-Request" in response["Vary"]


def test_an_empty_log_says_what_will_appear_there(auditor):
    html = get(auditor, reverse("audit_log"))
    assert "No events yet" in html
    assert 'id="audit-export"' not in html


def test_the_sidebar_highlights_the_audit_log(auditor):
    html = get(auditor, reverse("audit_log"))
    assert '<a href="/learning/compliance/audit/" aria-current="page">Audit log</a>' in html


# --- Filters -------------------------------------------------------------------------------


def test_filter_by_action_offers_the_actions_present(auditor):
    event(0, action="requirement.update", object_type="requirement", object_repr="GDPR")
    event(1, action="admin.change", object_repr="ana@example.com")

    page = get(auditor, reverse("audit_log"))
    filtered = get(auditor, reverse("audit_log"), {"action": "requirement.update"})

    assert '<option value="requirement.update">Settings changed</option>' in page
    assert '<option value="admin.change">Changed in admin</option>' in page
    assert "requirement.remediate" not in page  # not in the log, not offered
    assert rows_of(filtered) == ["Requirement “GDPR”"]
    assert '<option value="requirement.update" selected>' in filtered


def test_filter_by_actor(auditor):
    event(0, actor_label="alice", object_repr="by-alice@example.com")
    event(1, actor_label="system (cron)", object_repr="by-cron@example.com")

    html = get(auditor, reverse("audit_log"), {"actor": "system (cron)"})

    assert rows_of(html) == ["Learner by-cron@example.com"]
    assert '<option value="alice">alice</option>' in html
    assert '<option value="system (cron)" selected>system (cron)</option>' in html


def test_filter_by_requirement_on_the_global_log(auditor):
    gdpr, fire = RequirementFactory(name="GDPR"), RequirementFactory(name="Fire safety")
    event(0, requirement_id=gdpr.pk, object_repr="gdpr-learner@example.com")
    event(1, requirement_id=fire.pk, object_repr="fire-learner@example.com")
    event(2, object_repr="no-requirement@example.com")

    html = get(auditor, reverse("audit_log"), {"requirement": str(gdpr.pk)})

    assert rows_of(html) == ["Learner gdpr-learner@example.com in GDPR"]
    assert f'<option value="{fire.pk}">Fire safety</option>' in html


@override_settings(TIME_ZONE="Europe/Berlin")
def test_filter_by_org_days_around_midnight_in_berlin(auditor):
    # Berlin is UTC+1 in November: its 27 Nov runs from 26 Nov 23:00 to 27 Nov 23:00 UTC.
    event(at=dt.datetime(2026, 11, 26, 22, 59, 59, tzinfo=dt.UTC), object_repr="26-last@example.com")
    event(at=dt.datetime(2026, 11, 26, 23, 0, tzinfo=dt.UTC), object_repr="27-first@example.com")
    event(at=dt.datetime(2026, 11, 27, 22, 59, 59, tzinfo=dt.UTC), object_repr="27-last@example.com")
    event(at=dt.datetime(2026, 11, 27, 23, 0, tzinfo=dt.UTC), object_repr="28-first@example.com")
    url = reverse("audit_log")

    one_day = get(auditor, url, {"from": "2026-11-27", "to": "2026-11-27"})
    from_only = get(auditor, url, {"from": "2026-11-28"})
    to_only = get(auditor, url, {"to": "2026-11-26"})

    assert rows_of(one_day) == ["Learner 27-last@example.com", "Learner 27-first@example.com"]
    assert rows_of(from_only) == ["Learner 28-first@example.com"]
    assert rows_of(to_only) == ["Learner 26-last@example.com"]
    # Times are shown in the org's zone, and machine-readable in UTC.
    assert '<time datetime="2026-11-26T23:00:00Z">27 Nov 2026 00:00</time>' in one_day
    assert "times in Europe/Berlin" in one_day


def test_invalid_filters_give_a_message_and_show_no_events(auditor):
    requirement = RequirementFactory(name="GDPR")
    event(0, requirement_id=requirement.pk)
    url = reverse("audit_log")

    bad_date = get(auditor, url, {"from": "2026-02-30"})
    not_a_date = get(auditor, url, {"to": "yesterday"})
    unknown_requirement = get(auditor, url, {"requirement": "99999"})
    not_an_id = get(auditor, url, {"requirement": "abc"})
    backwards = get(auditor, url, {"from": "2026-11-28", "to": "2026-11-01"})
    unknown_action = get(auditor, url, {"action": "requirement.explode"})
    unknown_actor = get(auditor, url, {"actor": "mallory"})

    for html in (bad_date, not_a_date, unknown_requirement, not_an_id, backwards, unknown_action, unknown_actor):
        assert "No events are shown" in html
        assert rows_of(html) == []
        assert 'id="audit-export"' not in html
    assert '<a href="#audit-from">From</a>: Enter the day as YYYY-MM-DD' in bad_date
    assert '<a href="#audit-to">To</a>: Enter the day as YYYY-MM-DD' in not_a_date
    assert "There is no requirement “99999” in the audit log" in unknown_requirement
    assert "There is no requirement “abc” in the audit log" in not_an_id
    assert "“From” (28 Nov 2026) is after “To” (1 Nov 2026)" in backwards
    assert "No event in this log has the action “requirement.explode”" in unknown_action
    assert "No event in this log was made by “mallory”" in unknown_actor


def test_dates_at_the_ends_of_the_calendar_filter_without_error(auditor):
    event(0, object_repr="today@example.com")
    html = get(auditor, reverse("audit_log"), {"from": "0001-01-01", "to": "9999-12-31"})
    assert rows_of(html) == ["Learner today@example.com"]


def test_a_filter_matching_nothing_says_so(auditor):
    event(0)
    html = get(auditor, reverse("audit_log"), {"from": "2026-11-29"})
    assert "No event matches these filters" in html
    assert 'href="/learning/compliance/audit/">show every event</a>' in html


# --- A requirement's own log ---------------------------------------------------------------


def test_a_requirements_page_shows_only_its_own_events(auditor, gdpr):
    other = RequirementFactory(name="Fire safety")
    event(0, requirement_id=other.pk, object_repr="fire-learner@example.com")
    event(1, object_repr="no-requirement@example.com")
    event(2, action="requirement.enroll", requirement_id=gdpr.pk, object_repr="ana@example.com", after={"course": "X"})

    html = get(auditor, reverse("requirement_audit_log", args=[gdpr.pk]))

    assert rows_of(html) == ["Requirement “GDPR”", "Requirement “GDPR”", "Learner ana@example.com"]
    assert 'id="tab-audit" aria-current="page"' in html
    assert 'name="requirement"' not in html  # no requirement filter on a requirement's own log
    # Its filters offer only what its own log holds.
    assert '<option value="admin.change">' not in html
    assert '<option value="requirement.enroll">Learner enrolled</option>' in html


def test_a_requirements_page_filters_by_action(auditor, gdpr):
    html = get(auditor, reverse("requirement_audit_log", args=[gdpr.pk]), {"action": "requirement.create"})
    assert [escape_free(cell) for cell in re.findall(r'<td class="audit-action">(.*?)</td>', html)] == [
        "Requirement created requirement.create"
    ]


def test_an_unknown_requirement_is_404(auditor):
    assert auditor.get(reverse("requirement_audit_log", args=[99999])).status_code == 404
    assert auditor.get(reverse("requirement_audit_log_export", args=[99999])).status_code == 404


# --- Readable summaries --------------------------------------------------------------------


def test_a_settings_change_reads_field_by_field_with_course_names(auditor, gdpr):
    html = get(auditor, reverse("requirement_audit_log", args=[gdpr.pk]), {"action": "requirement.update"})

    assert "Settings changed" in html
    summary = escape_free(re.search(r'<td class="audit-summary">(.*?)</td>', html, flags=re.DOTALL)[1])
    assert summary == (
        "Valid for: 365 → changed to 180 days Course: GDPR-101 · GDPR basics → changed to GDPR-102 · GDPR 2027"
    )


def test_a_created_requirement_lists_its_settings_by_name(gdpr):
    created = AuditEvent.objects.get(action="requirement.create")
    summary = audit_log_page(filter_events(AuditEvent.objects.filter(pk=created.pk), _no_filters()), page=1)
    assert summary.rows[0].summary.text == (
        "Type: Data & Privacy; Name: GDPR; Valid for: 365 days; Warning: 30 days before expiry; "
        "Course: GDPR-101 · GDPR basics; Target: All Learners"
    )


def test_a_deleted_requirement_stays_findable_and_a_deleted_course_shows_its_id(auditor, admin_user):
    course = CourseFactory(code="OLD-1", title="Old course")
    group = GroupFactory(name="Night shift")
    requirement = requirement_create(
        actor=admin_user, type=RequirementTypeFactory(), name="Night safety", valid_days=30, course=course
    )
    requirement_update(actor=admin_user, requirement=requirement, target_group=group)
    requirement_id, course_id = requirement.pk, course.pk
    requirement_delete(actor=admin_user, requirement=requirement)
    Course.objects.filter(pk=course_id).delete()  # nothing refers to it any more

    page = get(auditor, reverse("audit_log"))
    filtered = get(auditor, reverse("audit_log"), {"requirement": str(requirement_id)})

    assert '<optgroup label="Deleted requirements">' in page
    assert f'<option value="{requirement_id}">Night safety (deleted, #{requirement_id})</option>' in page
    actions = [escape_free(c) for c in re.findall(r'<td class="audit-action">(.*?)</td>', filtered)]
    assert actions == [
        "Requirement deleted requirement.delete",
        "Settings changed requirement.update",
        "Requirement created requirement.create",
    ]
    assert f"Course: #{course_id} (deleted)" in escape_free(filtered)
    assert "Target: All Learners → changed to Night shift" in escape_free(filtered)


def test_names_of_a_page_are_resolved_once_per_model(django_assert_num_queries):
    courses = [CourseFactory() for _ in range(3)]
    groups = [GroupFactory() for _ in range(3)]
    for i in range(30):
        event(
            i,
            action="requirement.update",
            object_type="requirement",
            before={"course": courses[i % 3].pk, "target_group": None},
            after={"course": courses[(i + 1) % 3].pk, "target_group": groups[i % 3].pk},
        )
    # the count, the page, the courses, the groups
    with django_assert_num_queries(4):
        page = audit_log_page(filter_events(AuditEvent.objects.all(), _no_filters()), page=1)
    assert page.rows[0].summary.changes[0].before == str(courses[0])


@pytest.mark.parametrize(
    ("action", "after", "sentence"),
    [
        (
            "requirement.enroll",
            {"course": "GDPR-101", "enrolled": 1, "enrolled_on": "2026-11-28"},
            "Enrolled in GDPR-101",
        ),
        (
            "requirement.enroll",
            {"course": "GDPR-101", "enrolled": 0, "enrolled_on": "2026-11-20"},
            "Already enrolled in GDPR-101 since 20 Nov 2026; nobody new enrolled",
        ),
        (
            "requirement.remediate",
            {"course": "GDPR-101", "status": "expired", "q": "smith", "enrolled": 214},
            "Enrolled 214 learners in GDPR-101 from the Expired tab, search “smith”",
        ),
        (
            "requirement.remediate",
            {"course": "GDPR-101", "status": "not_started", "q": "", "enrolled": 1},
            "Enrolled 1 learner in GDPR-101 from the Not Started tab",
        ),
        ("requirement.export", {"status": "expired", "q": ""}, "Exported the Expired tab as CSV"),
        ("requirement.export", {"status": "all", "q": "smith"}, "Exported everyone in scope as CSV, search “smith”"),
    ],
)
def test_actions_with_a_specific_meaning_read_as_a_sentence(action, after, sentence):
    assert summarize(event(action=action, after=after), _names()).text == sentence


def test_imports_and_admin_passwords_read_as_sentences():
    summary = event(
        action="import.learners",
        object_type="import",
        object_id="",
        object_repr="people.csv",
        after={"rows": 120, "created": 5, "updated": 3, "unchanged": 112, "groups_created": 2},
    )
    password = event(
        action="admin.password", object_type="user", before={"usable_password": True}, after={"usable_password": True}
    )
    created = event(
        action="import.create",
        after={"email": "ana@example.com", "active": True, "import_file": "people.csv", "import_event": 1},
    )

    assert summarize(summary, _names()).text == "120 rows: 5 created, 3 updated, 112 unchanged; 2 groups created"
    assert summarize(password, _names()).text == "Password changed"
    assert summarize(created, _names()).text == "From “people.csv”; Email: ana@example.com; Active: Yes"


def test_odd_snapshots_never_break_the_page(auditor):
    event(0, before="not a dict", after=[1, 2])
    event(1, action="requirement.enroll", after={"course": "X", "enrolled": 0, "enrolled_on": "2026-02-30"})
    event(2, action="requirement.remediate", after={})
    event(3, before={"completed_at": "garbage", "completed_on": "2026-13-01"}, after={"completed_at": None})
    event(4, action="somebody.new", after={"nested": {"b": 1, "a": [1, "x"]}})

    html = get(auditor, reverse("audit_log"))

    assert len(rows_of(html)) == 5
    assert "Already enrolled in X; nobody new enrolled" in html
    assert "Enrolled learners in the course from a report tab" in html
    assert "Completed at: garbage → changed to —" in escape_free(html)
    assert "Completed on: 2026-13-01" in escape_free(html)
    assert 'Nested: {"a":[1,"x"],"b":1}' in escape_free(html)


def _no_filters() -> AuditFilters:
    return AuditFilters()


def _names():
    return resolve_names([])


# --- Escaping ------------------------------------------------------------------------------

HOSTILE_ACTOR = "<script>alert(1)</script>"
HOSTILE_OBJECT = '"><img src=x onerror=alert(2)>'
HOSTILE_VALUE = "</td><script>alert(3)</script>"
HOSTILE_SEARCH = '"><svg onload=alert(4)>'
HOSTILE_REQUIREMENT = "<b onmouseover=alert(5)>GDPR</b>"


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_user_text_is_escaped_everywhere(auditor, htmx):
    requirement = RequirementFactory(name=HOSTILE_REQUIREMENT)
    event(
        0,
        actor_label=HOSTILE_ACTOR,
        object_type="learnergroup",
        object_repr=HOSTILE_OBJECT,
        after={"name": HOSTILE_VALUE},
    )
    event(
        1,
        action="requirement.remediate",
        object_type="requirement",
        object_repr=HOSTILE_REQUIREMENT,
        requirement_id=requirement.pk,
        after={"course": HOSTILE_VALUE, "status": "expired", "q": HOSTILE_SEARCH, "enrolled": 2},
    )
    event(2, requirement_id=requirement.pk, object_repr=HOSTILE_OBJECT)

    html = get(auditor, reverse("audit_log"), htmx=htmx)

    for text in (HOSTILE_ACTOR, HOSTILE_OBJECT, HOSTILE_VALUE, HOSTILE_SEARCH, HOSTILE_REQUIREMENT):
        assert text not in html
    for text in (
        HOSTILE_ACTOR,
        HOSTILE_OBJECT,
        HOSTILE_VALUE,
        f"search “{HOSTILE_SEARCH}”",
        f"in {HOSTILE_REQUIREMENT}",
    ):
        assert escape(text) in html
    if not htmx:  # the filter options
        assert f'<option value="{escape(HOSTILE_ACTOR)}">{escape(HOSTILE_ACTOR)}</option>' in html
        assert f">{escape(HOSTILE_REQUIREMENT)}</option>" in html
    tags = _start_tags(html)
    assert not {"img", "svg", "b"} & {tag for tag, _ in tags}
    assert not [name for _, attrs in tags for name in attrs if name.startswith("on")]


def test_a_hostile_filter_value_is_echoed_escaped(auditor):
    event(0)
    html = get(auditor, reverse("audit_log"), {"actor": HOSTILE_OBJECT, "requirement": HOSTILE_ACTOR})
    assert HOSTILE_OBJECT not in html and HOSTILE_ACTOR not in html
    assert escape(f"made by “{HOSTILE_OBJECT}”") in html
    assert escape(f"no requirement “{HOSTILE_ACTOR}”") in html


def _start_tags(html: str) -> list[tuple[str, dict]]:
    tags = []
    parser = HTMLParser(convert_charrefs=True)
    parser.handle_starttag = lambda tag, attrs: tags.append((tag, dict(attrs)))
    parser.feed(html)
    parser.close()
    return tags


# --- CSV export ----------------------------------------------------------------------------


def test_the_export_has_the_columns_and_readable_rows(auditor, gdpr):
    rows, response = download(auditor, reverse("audit_log_export"))

    assert rows[0] == HEADER
    update = rows[1]
    assert update[:8] == [
        "2026-11-28T12:00:00Z",
        "alice",
        "requirement.update",
        "requirement",
        str(gdpr.pk),
        "GDPR",
        str(gdpr.pk),
        "Valid for: 365 → 180 days; Course: GDPR-101 · GDPR basics → GDPR-102 · GDPR 2027",
    ]
    old, new = Course.objects.get(code="GDPR-101"), Course.objects.get(code="GDPR-102")
    assert update[8] == f'{{"course":{old.pk},"valid_days":365}}'  # compact, keys sorted
    assert update[9] == f'{{"course":{new.pk},"valid_days":180}}'
    assert rows[2][2] == "requirement.create"
    assert rows[2][8] == ""  # no state before a create
    assert len(rows) == 3
    assert response["Content-Disposition"] == 'attachment; filename="audit-log-2026-11-28.csv"'


def test_a_requirements_export_is_named_after_it_and_holds_only_its_events(auditor, gdpr):
    event(0, object_repr="elsewhere@example.com")
    rows, response = download(auditor, reverse("requirement_audit_log_export", args=[gdpr.pk]))
    assert [row[2] for row in rows[1:]] == ["requirement.update", "requirement.create"]
    assert response["Content-Disposition"] == 'attachment; filename="gdpr-audit-log-2026-11-28.csv"'


def test_a_requirement_without_a_slug_names_its_export_by_id(auditor):
    requirement = RequirementFactory(name="★★★")
    _, response = download(auditor, reverse("requirement_audit_log_export", args=[requirement.pk]))
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="requirement-{requirement.pk}-audit-log-2026-11-28.csv"'
    )


@pytest.mark.parametrize("formula", ['=HYPERLINK("http://evil.example","x")', "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_text_cells_that_start_like_a_formula_are_protected(auditor, formula):
    event(0, actor_label=formula, object_type=formula, object_id=formula, object_repr=formula, action=formula)

    rows, _ = download(auditor, reverse("audit_log_export"))

    row = rows[1]
    for column in ("actor", "action", "object_type", "object_id", "object"):
        assert row[HEADER.index(column)] == f"'{formula}", column


def test_a_summary_starts_with_words_so_a_formula_in_a_value_cannot_lead_it(auditor):
    event(0, action="requirement.export", object_type="requirement", after={"status": "=cmd", "q": ""})
    event(1, action="admin.change", before={"last_name": "x"}, after={"last_name": "=1+1"})
    # The summary of a change starts with the field's label, so only a sentence can start with a value.
    rows, _ = download(auditor, reverse("audit_log_export"))
    assert [row[HEADER.index("summary")] for row in rows[1:]] == [
        "Exported the =cmd tab as CSV",
        "Last name: x → =1+1",
    ]


def test_the_export_respects_the_filters(auditor):
    event(0, action="admin.change", actor_label="alice", object_repr="keep@example.com")
    event(1, action="admin.change", actor_label="bob", object_repr="other-actor@example.com")
    event(2, action="requirement.export", actor_label="alice", object_type="requirement", object_repr="GDPR")
    event(60 * 24 * 3, action="admin.change", actor_label="alice", object_repr="too-old@example.com")

    rows, _ = download(
        auditor, reverse("audit_log_export"), {"action": "admin.change", "actor": "alice", "from": "2026-11-27"}
    )

    assert [row[HEADER.index("object")] for row in rows[1:]] == ["keep@example.com"]


def test_an_export_with_invalid_filters_is_refused_with_the_reason(auditor):
    response = auditor.get(reverse("audit_log_export"), {"from": "2026-11-28", "to": "2026-11-01"})
    assert response.status_code == 400
    assert "“From” (28 Nov 2026) is after “To” (1 Nov 2026)" in response.content.decode()


# --- Roles ---------------------------------------------------------------------------------


def _urls() -> list[str]:
    requirement = RequirementFactory()
    return [
        reverse("audit_log"),
        reverse("audit_log_export"),
        reverse("requirement_audit_log", args=[requirement.pk]),
        reverse("requirement_audit_log_export", args=[requirement.pk]),
    ]


def test_auditors_and_admins_can_read_and_export(client, auditor_user, admin_user):
    urls = _urls()
    for user in (auditor_user, admin_user):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 200, (user.username, url)


def test_other_users_are_refused(client, outsider_user):
    client.force_login(outsider_user)
    for url in _urls():
        assert client.get(url).status_code == 403, url


def test_anonymous_users_are_sent_to_sign_in(client):
    for url in _urls():
        response = client.get(url, {"action": "admin.change"})
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url


def test_the_log_cannot_be_written_through_these_addresses(auditor, admin_client):
    for client in (auditor, admin_client):
        for url in _urls():
            assert client.post(url).status_code == 405, url


# --- Queries -------------------------------------------------------------------------------

#: session, user, user's groups
BEFORE = 3
#: SAVEPOINT, UPDATE django_session, RELEASE SAVEPOINT (the session is saved on every request)
AFTER = 3
#: the names the events refer to: courses, groups, requirement types (one query per model)
NAMES = 3
#: the actions present, the actors present, the requirements, the deleted requirements (their delete events)
GLOBAL_OPTIONS = 4
#: the actions and the actors present in the requirement's events
REQUIREMENT_OPTIONS = 2
#: the requirement with type, course and target group, its course history (``requirement_for_page``)
REQUIREMENT = 2


def populate(requirement, n: int) -> None:
    """``n`` settings changes naming courses, groups and types, and enrollments, by three actors."""
    courses = [CourseFactory() for _ in range(3)]
    groups = [GroupFactory() for _ in range(3)]
    types = [RequirementTypeFactory(name=f"Type {i}") for i in range(3)]
    AuditEvent.objects.bulk_create(
        AuditEvent(
            at=NOW - dt.timedelta(minutes=i),
            actor_label=f"actor{i % 3}",
            action="requirement.update" if i % 2 else "requirement.enroll",
            object_type="requirement",
            object_id=str(requirement.pk),
            object_repr=requirement.name,
            requirement_id=requirement.pk,
            before={"course": courses[i % 3].pk, "target_group": None, "type": types[i % 3].pk},
            after={"course": courses[(i + 1) % 3].pk, "target_group": groups[i % 3].pk, "type": types[(i + 1) % 3].pk}
            if i % 2
            else {"course": "GDPR-101", "enrolled": 1, "enrolled_on": "2026-11-28"},
        )
        for i in range(n)
    )


@pytest.mark.parametrize("events", [5, 120])
def test_the_global_log_runs_the_same_queries_however_many_events(auditor, django_assert_num_queries, events):
    populate(RequirementFactory(name="GDPR"), events)
    deleted = RequirementFactory(name="Gone")
    requirement_delete(actor=None, requirement=deleted)

    # BEFORE, the filter options, the count, the page, the names, AFTER
    with django_assert_num_queries(BEFORE + GLOBAL_OPTIONS + 2 + NAMES + AFTER):
        html = get(auditor, reverse("audit_log"), {"actor": "actor1", "page": "1"})
    assert "Settings changed" in html
    assert "Gone (deleted" in html

    with django_assert_num_queries(BEFORE + GLOBAL_OPTIONS + 2 + NAMES + AFTER):
        get(auditor, reverse("audit_log"), {"action": "requirement.update", "page": "2"}, htmx=True)


@pytest.mark.parametrize("events", [5, 120])
def test_a_requirements_log_runs_the_same_queries_however_many_events(auditor, django_assert_num_queries, events):
    requirement = RequirementFactory(name="GDPR")
    populate(requirement, events)

    with django_assert_num_queries(BEFORE + REQUIREMENT + REQUIREMENT_OPTIONS + 2 + NAMES + AFTER):
        html = get(auditor, reverse("requirement_audit_log", args=[requirement.pk]))
    assert f"of {events} events" in html


def test_invalid_filters_read_only_the_options(auditor, django_assert_num_queries):
    populate(RequirementFactory(name="GDPR"), 5)
    with django_assert_num_queries(BEFORE + GLOBAL_OPTIONS + AFTER):
        get(auditor, reverse("audit_log"), {"from": "not a day"})


@pytest.mark.parametrize("events", [5, 120])
def test_the_export_runs_the_same_queries_however_many_events(auditor, django_assert_num_queries, events):
    requirement = RequirementFactory(name="GDPR")
    populate(requirement, events)

    # BEFORE, the filter options (to validate the filters), the export's own audit event,
    # AFTER (the session is saved before the body streams), then the events from a
    # server-side cursor and the names they refer to
    with django_assert_num_queries(BEFORE + GLOBAL_OPTIONS + 1 + AFTER + 1 + NAMES):
        rows, _ = download(auditor, reverse("audit_log_export"))
    assert len(rows) == 1 + events

    with django_assert_num_queries(BEFORE + REQUIREMENT + REQUIREMENT_OPTIONS + 1 + AFTER + 1 + NAMES):
        rows, _ = download(auditor, reverse("requirement_audit_log_export", args=[requirement.pk]))
    assert len(rows) == 1 + events


def test_an_export_of_the_log_is_itself_logged_and_holds_what_came_before(auditor):
    requirement = RequirementFactory(name="GDPR")
    populate(requirement, 3)

    rows, _ = download(auditor, reverse("requirement_audit_log_export", args=[requirement.pk]), {"actor": "actor1"})

    recorded = AuditEvent.objects.get(action="audit_log.export")
    assert (recorded.actor_label, recorded.requirement_id, recorded.after) == (
        "bob",
        requirement.pk,
        {"actor": "actor1"},
    )
    assert recorded.object_repr == "Audit log of GDPR"
    assert "audit_log.export" not in {row[2] for row in rows[1:]}, "the file holds what was recorded before it"
    html = get(auditor, reverse("requirement_audit_log", args=[requirement.pk]))
    assert "Audit log exported" in html
    assert "Exported the audit log as CSV, filtered by actor “actor1”" in html


@pytest.mark.django_db(transaction=True)
def test_a_long_export_names_its_events_a_chunk_at_a_time(django_assert_num_queries):
    # Outside a transaction, as in production: the names are read while the
    # server-side cursor (PostgreSQL: WITH HOLD) is open.
    populate(RequirementFactory(name="GDPR"), 25)

    # the events (one cursor), then per chunk of 10 the courses, groups and types they name
    with django_assert_num_queries(1 + 3 * NAMES):
        rows = list(audit_export_rows(AuditEvent.objects.order_by("-at", "-id"), chunk_size=10))

    assert len(rows) == 25
    assert all("deleted" not in row[HEADER.index("summary")] for row in rows)  # every id found its name
    assert rows[1][HEADER.index("summary")].startswith("Type: Type ")


# --- In a browser --------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_filters_and_pages_swap_the_results_without_a_reload(browser_page, auditor_user):
    from playwright.sync_api import expect

    now = dt.datetime.now(dt.UTC)
    for i in range(55):
        event(at=now - dt.timedelta(minutes=i), action="admin.change", object_repr=f"l{i:02d}@example.com")
    event(at=now - dt.timedelta(hours=2), action="requirement.export", object_type="requirement", object_repr="GDPR")
    page = browser_page
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(auditor_user.username)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    page.goto(reverse("audit_log"))
    # the 56 events, and the auditor's sign-in
    expect(page.locator("#audit-summary")).to_contain_text("Showing 1\N{EN DASH}50 of 57 events")
    page.evaluate("window.__marker = 1")

    # Choosing an action applies it at once: only the results swap, the clean URL is pushed.
    page.get_by_label("Action").select_option("admin.change")
    expect(page).to_have_url(re.compile(r"/learning/compliance/audit/\?action=admin\.change$"))
    expect(page.locator("#audit-summary")).to_contain_text("of 55 events matching the filters")
    expect(page.locator("#audit-export")).to_have_attribute(
        "href", "/learning/compliance/audit/export.csv?action=admin.change"
    )

    # The pager keeps the filter.
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"\?action=admin\.change&page=2$"))
    expect(page.locator(".pager-status")).to_have_text("Page 2 of 2")
    expect(page.locator(".audit-table tbody tr")).to_have_count(5)

    # Days are applied with the Filter button; a range the wrong way round explains itself.
    page.get_by_label("From", exact=True).fill("2026-11-28")
    page.get_by_label("To", exact=True).fill("2026-11-01")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(".audit-errors")).to_contain_text("is after")
    expect(page.locator(".audit-table")).to_have_count(0)
    assert page.evaluate("window.__marker") == 1  # never reloaded


AXE = Path(__file__).parent / "assets" / "axe-4.14.1.min.js"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 375])
def test_the_audit_log_pages_have_no_wcag_aa_violations(browser_page, admin_user, width):
    now = dt.datetime.now(dt.UTC)
    requirement = RequirementFactory(name="GDPR")
    for i in range(60):
        event(
            at=now - dt.timedelta(minutes=i),
            action="requirement.update",
            object_type="requirement",
            object_id=str(requirement.pk),
            object_repr="GDPR",
            requirement_id=requirement.pk,
            before={"valid_days": 365, "course": requirement.course_id},
            after={"valid_days": 180, "course": 999_999},
        )
    page = browser_page
    page.set_viewport_size({"width": width, "height": 800})
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(admin_user.username)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/learning/compliance/")

    for path in (
        reverse("audit_log"),
        reverse("audit_log") + "?from=2026-11-28&to=2026-11-01&requirement=abc",
        reverse("audit_log") + "?from=2000-01-01&to=2000-01-02",
        reverse("requirement_audit_log", args=[requirement.pk]) + "?page=2",
    ):
        page.goto(path)
        page.evaluate(AXE.read_text())  # not a <script> tag: the page's CSP forbids inline script
        violations = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
            ".then(r => r.violations.map(v => v.id + ': ' + v.help + ' @ ' + v.nodes.map(n => n.target.join(' ')).join(', ')))",
            ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"],
        )
        assert violations == [], path
