"""User text renders as text on every portal page: names of requirements,
types, courses, groups and learners, descriptions, and what the user typed
(searches, form data, a bad status).

Each page is checked twice: the hostile strings appear only in their escaped
form, and the parsed page holds no element or attribute they could have made
(no ``img``/``svg``/``iframe``/``b``/``i`` element, no ``on…`` attribute, no
script other than the page's own files and ``json_script`` data).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser

import pytest
import time_machine
from django.urls import reverse
from django.utils.html import escape

from compliance.models import RequirementType
from tests.factories import (
    CompletionFactory,
    CourseFactory,
    GroupFactory,
    LearnerFactory,
    MembershipFactory,
    RequirementFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)

REQUIREMENT_NAME = "<script>alert(1)</script>"
TYPE_NAME = "<b>x</b>"
COURSE_TITLE = '"><img src=x onerror=alert(1)>'
GROUP_NAME = "</script><script>alert(3)</script>"
DESCRIPTION = "<img src=y onerror=alert(2)>\n'quoted' & \"double\" </textarea><script>alert(2)</script>"
FIRST_NAME = "<svg onload=alert(4)>"
LAST_NAME = "<iframe src=javascript:alert(5)>"
OTHER_FIRST_NAME = "O'Brien & <i>Co</i>"
OTHER_LAST_NAME = '"><script>alert(6)</script>'

#: What each page shows of the requirement (its header or its cards).
REQUIREMENT_TEXT = [REQUIREMENT_NAME, TYPE_NAME, COURSE_TITLE, GROUP_NAME]
LEARNER_TEXT = [FIRST_NAME, LAST_NAME, OTHER_FIRST_NAME, OTHER_LAST_NAME]
ALL_HOSTILE = [*REQUIREMENT_TEXT, DESCRIPTION, *LEARNER_TEXT]

FORBIDDEN_ELEMENTS = {"img", "svg", "iframe", "b", "i", "object", "embed"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def requirement(db):
    group = GroupFactory(name=GROUP_NAME, description="<script>alert('group')</script>")
    course = CourseFactory(code="HOSTILE-1", title=COURSE_TITLE)
    requirement = RequirementFactory(
        name=REQUIREMENT_NAME,
        type=RequirementType.objects.create(name=TYPE_NAME),
        description=DESCRIPTION,
        course=course,
        target_group=group,
        valid_days=365,
        warning_days=30,
    )
    for first, last, days_ago in [(FIRST_NAME, LAST_NAME, 40), (OTHER_FIRST_NAME, OTHER_LAST_NAME, 100)]:
        learner = LearnerFactory(first_name=first, last_name=last)
        MembershipFactory(learner=learner, group=group)
        CompletionFactory(learner=learner, course=course, day=NOW.date() - dt.timedelta(days=days_ago))
    return requirement


@pytest.fixture
def admin(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def auditor(client, auditor_user):
    client.force_login(auditor_user)
    return client


class Elements(HTMLParser):
    """Every start tag of a page, with its attributes, and the text of each script."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def assert_text_only(html: str, shown: list[str], absent: list[str] = ALL_HOSTILE) -> None:
    """``shown`` appear escaped; no hostile string appears raw; no markup got in."""
    for text in absent:
        assert text not in html, f"raw {text!r} in the page"
    for text in shown:
        assert escape(text) in html, f"{text!r} is not shown escaped ({escape(text)!r})"
    for tag, attrs in Elements(html).tags:
        assert tag not in FORBIDDEN_ELEMENTS, f"a <{tag}> element got into the page: {attrs}"
        handlers = [name for name in attrs if name.startswith("on")]
        assert not handlers, f"<{tag}> has event handler attributes {handlers}"
        if tag == "script":
            assert attrs.get("src") or attrs.get("type") == "application/json", f"an inline script: {attrs}"


def page(client, url: str, data=None, *, htmx: bool = False, status: int = 200) -> str:
    response = client.get(url, data or {}, headers={"HX-Request": "true"} if htmx else {})
    assert response.status_code == status, url
    html = response.content.decode()
    assert ("<html" in html) is not htmx, "an HTMX request gets the partial, a plain one the page"
    return html


# --- Pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx-cards"])
def test_the_dashboard_shows_names_as_text(admin, requirement, htmx):
    html = page(admin, reverse("requirement_list"), htmx=htmx)
    assert_text_only(html, REQUIREMENT_TEXT)


def test_the_dashboard_type_filter_shows_the_type_name_as_text(admin, requirement):
    html = page(admin, reverse("requirement_list"))
    assert f">{escape(TYPE_NAME)}</option>" in html


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx-cards"])
def test_the_dashboard_search_echoes_the_search_as_text(admin, requirement, htmx):
    typed = '"><script>alert(7)</script>'
    response = admin.get(reverse("requirement_list"), {"q": typed}, headers={"HX-Request": "true"} if htmx else {})
    assert response.status_code == 200
    html = response.content.decode()
    assert_text_only(html, [] if htmx else [typed], absent=[*ALL_HOSTILE, typed])
    assert "No requirement matches" in html


def test_the_overview_shows_names_as_text(admin, requirement):
    html = page(admin, reverse("requirement_overview", args=[requirement.pk]))
    assert_text_only(html, REQUIREMENT_TEXT)
    assert f"<title>{escape(REQUIREMENT_NAME)} · Overview" in html


def test_the_overview_charts_carry_no_user_text(admin, requirement):
    html = page(admin, reverse("requirement_overview", args=[requirement.pk]))
    scripts = re.findall(r'<script id="([^"]+)" type="application/json">(.*?)</script>', html, flags=re.DOTALL)
    assert {name for name, _ in scripts} == {"chart-status-donut", "chart-monthly-completions"}
    for name, text in scripts:
        assert "</script" not in text.lower(), name
        assert "<" not in text, name
        figure = json.loads(text)
        assert set(figure) >= {"data", "layout"}, name
        decoded = json.dumps(figure)
        for user_text in [*ALL_HOSTILE, "alert", "HOSTILE-1", "O'Brien"]:
            assert user_text not in decoded, f"{name} carries user text {user_text!r}"
    # The charts have data: both learners are in scope, and completed this year.
    donut = json.loads(dict(scripts)["chart-status-donut"])
    assert sum(donut["data"][0]["values"]) == 2


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx-partial"])
def test_the_report_shows_names_as_text(admin, requirement, htmx):
    html = page(admin, reverse("requirement_report", args=[requirement.pk]), {"status": "compliant"}, htmx=htmx)
    # The partial is the table alone: learners and their groups, not the requirement's header.
    shown = [*LEARNER_TEXT, GROUP_NAME] if htmx else [*REQUIREMENT_TEXT, *LEARNER_TEXT]
    assert_text_only(html, shown)
    assert "Showing 1\N{EN DASH}2 of 2" in html


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx-partial"])
def test_the_report_echoes_the_search_as_text(admin, requirement, htmx):
    html = page(admin, reverse("requirement_report", args=[requirement.pk]), {"q": FIRST_NAME}, htmx=htmx)
    assert_text_only(html, [FIRST_NAME, LAST_NAME])
    assert f"matching “{escape(FIRST_NAME)}”" in html
    assert "Showing 1\N{EN DASH}1 of 1" in html


def test_settings_for_an_admin_show_names_as_text(admin, requirement):
    html = page(admin, reverse("requirement_settings", args=[requirement.pk]))
    assert_text_only(html, [*REQUIREMENT_TEXT, DESCRIPTION])
    assert f'value="{escape(REQUIREMENT_NAME)}"' in html  # the name field
    assert f">{escape(TYPE_NAME)}</option>" in html
    assert f">{escape(COURSE_TITLE)}</option>" in html
    assert f">{escape(GROUP_NAME)}</option>" in html
    assert f'<strong class="confirm-name">{escape(REQUIREMENT_NAME)}</strong>' in html  # the Danger Zone


def test_settings_for_an_auditor_show_names_as_text(auditor, requirement):
    html = page(auditor, reverse("requirement_settings", args=[requirement.pk]))
    first_line, second_line = DESCRIPTION.split("\n")
    assert_text_only(html, [*REQUIREMENT_TEXT, first_line, second_line])
    assert f"{escape(first_line)}<br>{escape(second_line)}" in html
    assert '<form method="post" action="/learning' not in html


def test_the_create_form_re_renders_posted_text_as_text(admin, requirement):
    name = '"><script>alert(8)</script>'
    description = "</textarea><script>alert(9)</script>"
    response = admin.post(reverse("requirement_new"), {"name": name, "description": description, "valid_days": "x"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Please correct the" in html
    shown = [name, description, TYPE_NAME, COURSE_TITLE, GROUP_NAME]
    assert_text_only(html, shown, absent=[*ALL_HOSTILE, name, description])
    assert f'value="{escape(name)}"' in html


def test_the_settings_preview_carries_no_raw_text(admin, requirement):
    change = {
        "type": requirement.type_id,
        "name": '"><script>alert(10)</script>',
        "description": DESCRIPTION,
        "valid_days": 30,  # both learners' completions become Expired
        "warning_days": 0,
        "course": requirement.course_id,
        "target_group": requirement.target_group_id,
    }
    response = admin.post(
        reverse("requirement_settings_preview", args=[requirement.pk]), change, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 learners would become Expired" in html
    assert_text_only(html, [], absent=[*ALL_HOSTILE, change["name"]])


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx-message"])
def test_a_bad_status_is_echoed_as_text(admin, requirement, htmx):
    bogus = "<script>alert(11)</script>"
    html = page(admin, reverse("requirement_report", args=[requirement.pk]), {"status": bogus}, htmx=htmx, status=400)
    assert_text_only(html, [bogus], absent=[bogus])
    assert "Unknown status" in html
