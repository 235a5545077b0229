"""The portal's pages run a fixed number of queries, however many requirements
and learners there are (the same numbers on SQLite and PostgreSQL).

Every signed-in request starts with the same three queries and ends with the
same three:

- the session, the user, the user's groups (``compliance.roles``: is the user
  an Admin or an Auditor);
- ... the page's own queries, listed at each test ...;
- SAVEPOINT, UPDATE django_session, RELEASE SAVEPOINT: the session is saved on
  every request (``SESSION_SAVE_EVERY_REQUEST``, an idle timeout), inside a
  savepoint because each test runs in a transaction.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from compliance.dates import org_day_start
from compliance.models import (
    Completion,
    Enrollment,
    Learner,
    Membership,
    Requirement,
    RequirementCourseHistory,
    RequirementType,
)
from tests.factories import CourseFactory, GroupFactory, RequirementFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()

#: session, user, user's groups
BEFORE = 3
#: SAVEPOINT, UPDATE django_session, RELEASE SAVEPOINT
AFTER = 3
#: an admin's full page: whether the last full recompute is recent (the heartbeat banner)
HEARTBEAT = 1

#: The learner's facts by ``i % 6``: (days since the last completion, open enrollment).
#: Valid 365 days with a 30-day warning, every status has learners.
KINDS = {
    0: (30, None),  # Compliant
    1: (350, None),  # Expiring Soon
    2: (400, None),  # Expired
    3: (None, "started"),  # In Progress
    4: (None, "enrolled"),  # Not Started (enrolled, not begun)
    5: (20, "started"),  # Compliant, retaking
}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def course():
    return CourseFactory(title="Data protection basics")


@pytest.fixture
def groups():
    return [GroupFactory(name=name) for name in ("Finance", "HR", "Sales")]


def populate(course, groups, n: int) -> list[Learner]:
    """``n`` learners with completions, open enrollments (begun and not) and one to three groups each;
    every seventh is a Smith."""
    learners = Learner.objects.bulk_create(
        Learner(email=f"l{i}@example.com", first_name=f"First{i}", last_name="Smith" if i % 7 == 0 else f"Last{i}")
        for i in range(n)
    )
    completions, enrollments, memberships = [], [], []
    for i, learner in enumerate(learners):
        days_ago, enrollment = KINDS[i % len(KINDS)]
        if days_ago is not None:
            day = TODAY - dt.timedelta(days=days_ago)
            completions.append(
                Completion(learner=learner, course=course, completed_at=org_day_start(day), completed_on=day)
            )
        if enrollment is not None:
            started = NOW - dt.timedelta(days=9) if enrollment == "started" else None
            enrollments.append(
                Enrollment(
                    learner=learner,
                    course=course,
                    enrolled_at=NOW - dt.timedelta(days=10),
                    started_at=started,
                    progress=40 if started else 0,
                )
            )
        memberships += [Membership(learner=learner, group=group) for group in groups[: 1 + i % len(groups)]]
    Completion.objects.bulk_create(completions)
    Enrollment.objects.bulk_create(enrollments)
    Membership.objects.bulk_create(memberships)
    return learners


def with_course_history(requirement: Requirement) -> Requirement:
    """A swapped-out course, so that the history the engine reads is not empty."""
    RequirementCourseHistory.objects.create(
        requirement=requirement,
        course=CourseFactory(),
        mapped_at=NOW - dt.timedelta(days=800),
        swapped_out_at=NOW - dt.timedelta(days=200),
    )
    return requirement


@pytest.fixture
def signed_in(client, admin_user):
    client.force_login(admin_user)
    return client


# --- Dashboard -----------------------------------------------------------------------------

#: requirements with type, course and target group (one query), their course history
#: (prefetch), every card's counts (one UNION ALL), the requirement types (the filter's select)
DASHBOARD = BEFORE + 4 + HEARTBEAT + AFTER


@pytest.mark.parametrize("requirements", [3, 30])
def test_the_dashboard_runs_the_same_queries_for_3_or_30_requirements(
    signed_in, django_assert_num_queries, course, groups, requirements
):
    populate(course, groups, 24)
    types = list(RequirementType.objects.all())
    for i in range(requirements):
        requirement = RequirementFactory(
            name=f"Requirement {i}",
            type=types[i % len(types)],
            course=course if i % 2 else CourseFactory(),
            target_group=groups[i % len(groups)] if i % 3 else None,
        )
        if i % 4 == 0:
            with_course_history(requirement)

    with django_assert_num_queries(DASHBOARD):
        response = signed_in.get(reverse("requirement_list"))

    assert response.status_code == 200
    assert response.content.decode().count('class="card requirement-card"') == requirements


@pytest.mark.parametrize("requirements", [3, 30])
def test_the_filtered_dashboard_runs_the_same_queries_for_3_or_30_requirements(
    signed_in, django_assert_num_queries, course, requirements
):
    chosen = RequirementType.objects.first()
    for i in range(requirements):
        RequirementFactory(name=f"Fire safety {i}", type=chosen, course=course)

    # DASHBOARD, and the chosen type, which the filter form looks up to validate it
    with django_assert_num_queries(DASHBOARD + 1):
        response = signed_in.get(reverse("requirement_list"), {"type": chosen.pk, "q": "fire"})

    assert response.status_code == 200
    assert response.content.decode().count('class="card requirement-card"') == requirements


@pytest.mark.parametrize("requirements", [3, 30])
def test_the_dashboard_htmx_partial_runs_the_same_queries(signed_in, django_assert_num_queries, course, requirements):
    for i in range(requirements):
        RequirementFactory(name=f"Requirement {i}", course=course)
    # DASHBOARD without the requirement types and the heartbeat: the partial is the cards alone
    with django_assert_num_queries(DASHBOARD - 1 - HEARTBEAT):
        response = signed_in.get(reverse("requirement_list"), {"q": "requirement"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert html.count('class="card requirement-card"') == requirements


# --- Overview ------------------------------------------------------------------------------

#: the requirement with type, course and target group, its course history,
#: the counts per status, the completions per month
OVERVIEW = BEFORE + 4 + HEARTBEAT + AFTER


@pytest.mark.parametrize("target", ["all", "group"])
@pytest.mark.parametrize("learners", [10, 500])
def test_the_overview_runs_the_same_queries_for_10_or_500_learners(
    signed_in, django_assert_num_queries, course, groups, learners, target
):
    populate(course, groups, learners)
    requirement = with_course_history(
        RequirementFactory(course=course, target_group=groups[0] if target == "group" else None)
    )

    with django_assert_num_queries(OVERVIEW):
        response = signed_in.get(reverse("requirement_overview", args=[requirement.pk]))

    assert response.status_code == 200
    assert f'<span class="metric-value">{learners}</span>' in response.content.decode()


# --- Report --------------------------------------------------------------------------------

#: the requirement with type, course and target group, its course history,
#: the tab counts, the page of learners, the page's learners' groups (the HTMX
#: partial: without the heartbeat of the full page)
REPORT = BEFORE + 5 + AFTER

#: Each one shows at least one learner, with 10 learners as with 500.
REPORT_VIEWS = {
    "compliant (default)": {},
    "compliant": {"status": "compliant"},
    "expiring soon": {"status": "expiring_soon"},
    "expired": {"status": "expired"},
    "in progress": {"status": "in_progress"},
    "not started": {"status": "not_started"},
    "search": {"status": "compliant", "q": "  smith First "},
    "search in another tab": {"status": "expiring_soon", "q": "smith"},
    "second page": {"status": "expired", "page": "2"},
    "a page past the end": {"status": "not_started", "page": "99"},
}


@pytest.mark.parametrize("learners", [10, 500])
def test_the_report_runs_the_same_queries_for_10_or_500_learners(
    signed_in, django_assert_num_queries, course, groups, learners
):
    populate(course, groups, learners)
    requirement = with_course_history(RequirementFactory(course=course))
    url = reverse("requirement_report", args=[requirement.pk])

    for view, params in REPORT_VIEWS.items():
        for htmx in (False, True):
            headers = {"HX-Request": "true"} if htmx else {}
            with django_assert_num_queries(REPORT + (0 if htmx else HEARTBEAT), info=f"{view}, htmx={htmx}"):
                response = signed_in.get(url, params, headers=headers)

            assert response.status_code == 200, view
            html = response.content.decode()
            assert "@example.com" in html, view  # learners were listed: the page and groups queries ran
            assert "Finance" in html, view
            assert ("<html" in html) is not htmx, view


def test_an_empty_report_tab_saves_the_groups_query(signed_in, django_assert_num_queries, course, groups):
    populate(course, groups, 10)
    requirement = RequirementFactory(course=course)
    with django_assert_num_queries(REPORT - 1 + HEARTBEAT):
        response = signed_in.get(reverse("requirement_report", args=[requirement.pk]), {"q": "nobody-matches"})
    assert response.status_code == 200
    assert "No Compliant learner matches" in response.content.decode()


def test_the_report_for_a_group_runs_the_same_queries(signed_in, django_assert_num_queries, course, groups):
    populate(course, groups, 500)
    requirement = RequirementFactory(course=course, target_group=groups[1])
    with django_assert_num_queries(REPORT + HEARTBEAT):
        response = signed_in.get(reverse("requirement_report", args=[requirement.pk]), {"status": "expired"})
    assert response.status_code == 200
    assert "@example.com" in response.content.decode()


# --- Settings ------------------------------------------------------------------------------

#: the requirement with type, course and target group, its course history,
#: the options of the type, course and target group selects
SETTINGS_ADMIN = BEFORE + 5 + HEARTBEAT + AFTER
#: the requirement with type, course and target group, its course history (read-only: no selects)
SETTINGS_AUDITOR = BEFORE + 2 + AFTER


@pytest.mark.parametrize("learners", [10, 500])
def test_settings_for_an_admin_run_a_fixed_number_of_queries(
    signed_in, django_assert_num_queries, course, groups, learners
):
    populate(course, groups, learners)
    for i in range(5):
        CourseFactory(title=f"Other course {i}")
    requirement = with_course_history(RequirementFactory(course=course, target_group=groups[2]))

    with django_assert_num_queries(SETTINGS_ADMIN):
        response = signed_in.get(reverse("requirement_settings", args=[requirement.pk]))

    assert response.status_code == 200
    assert 'name="confirm_name"' in response.content.decode()


def test_settings_for_an_auditor_run_a_fixed_number_of_queries(
    client, auditor_user, django_assert_num_queries, course, groups
):
    populate(course, groups, 10)
    requirement = RequirementFactory(course=course, target_group=groups[2])
    client.force_login(auditor_user)

    with django_assert_num_queries(SETTINGS_AUDITOR):
        response = client.get(reverse("requirement_settings", args=[requirement.pk]))

    assert response.status_code == 200
    assert "only compliance admins can change them" in response.content.decode()


#: the requirement with type, course and target group, its course history,
#: the chosen type, course and target group (the form checks each choice),
#: the name's uniqueness, the transitions (one query over both scopes)
PREVIEW = BEFORE + 7 + AFTER


@pytest.mark.parametrize("learners", [10, 500])
def test_the_settings_preview_runs_the_same_queries_for_10_or_500_learners(
    signed_in, django_assert_num_queries, course, groups, learners
):
    populate(course, groups, learners)
    requirement = with_course_history(RequirementFactory(course=course, valid_days=365, warning_days=30))
    change = {
        "type": requirement.type_id,
        "name": requirement.name,
        "description": "",
        "valid_days": 300,
        "warning_days": 30,
        "course": course.pk,
        "target_group": groups[0].pk,
    }

    with django_assert_num_queries(PREVIEW):
        response = signed_in.post(
            reverse("requirement_settings_preview", args=[requirement.pk]), change, headers={"HX-Request": "true"}
        )

    assert response.status_code == 200
    assert "would become Expired" in response.content.decode()


# --- Deep Report pages, new requirement -------------------------------------------------------


@pytest.mark.parametrize("learners", [180, 900])
def test_the_last_page_of_the_largest_tab_runs_the_same_queries_as_the_first(
    signed_in, django_assert_num_queries, course, groups, learners
):
    populate(course, groups, learners)
    requirement = RequirementFactory(course=course)
    url = reverse("requirement_report", args=[requirement.pk])
    compliant = learners // 3  # KINDS 0 and 5
    last_page = -(-compliant // 50)

    for page in (1, last_page):
        with django_assert_num_queries(REPORT + HEARTBEAT, info=f"page {page}"):
            response = signed_in.get(url, {"status": "compliant", "page": str(page)})

        assert response.status_code == 200
        html = response.content.decode()
        assert f"Showing {(page - 1) * 50 + 1}\u2013{min(page * 50, compliant)} of {compliant} Compliant" in html
        assert f"Page {page} of {last_page}" in html


#: the requirement types, courses and groups (the form's selects)
NEW_REQUIREMENT = BEFORE + 3 + HEARTBEAT + AFTER


@pytest.mark.parametrize("learners", [10, 500])
def test_the_new_requirement_page_runs_a_fixed_number_of_queries(
    signed_in, django_assert_num_queries, course, groups, learners
):
    populate(course, groups, learners)

    with django_assert_num_queries(NEW_REQUIREMENT):
        assert signed_in.get(reverse("requirement_new")).status_code == 200


# --- The same pages when the counts come from the tallies ----------------------------------


@pytest.mark.parametrize("learners", [60, 600])
def test_pages_read_from_the_tallies_run_the_queries_of_the_live_ones(
    signed_in, django_assert_num_queries, course, groups, learners
):
    """After a recompute the pages count from the tallies and read the stored
    facts (``tallies``): the same number of queries as counting live, at any size."""
    from compliance.recompute import recompute
    from compliance.tallies import tally_is_fresh

    requirement = with_course_history(RequirementFactory(course=course))
    populate(course, groups, learners)
    recompute(requirement_ids=[requirement.pk], trigger="test")
    assert Requirement.objects.annotate(fresh=tally_is_fresh()).get(pk=requirement.pk).fresh
    pages = {
        reverse("requirement_list"): DASHBOARD,
        reverse("requirement_overview", args=[requirement.pk]): OVERVIEW,
        reverse("requirement_report", args=[requirement.pk]) + "?status=compliant&page=2": REPORT + HEARTBEAT,
        reverse("requirement_report", args=[requirement.pk]) + "?status=compliant&page=999": REPORT + HEARTBEAT,
    }
    for url, queries in pages.items():
        with django_assert_num_queries(queries, info=url) as captured:
            response = signed_in.get(url)
        assert response.status_code == 200, url
        sql = [q["sql"] for q in captured.captured_queries]
        assert any("compliance_requirementtally" in q for q in sql), url  # the counts come from the tallies
        if url == reverse("requirement_list"):
            assert not [q for q in sql if "compliance_completion" in q], url  # no completion is read
        if "/report/" in url:
            assert any("compliance_learnerrequirementstate" in q for q in sql), url  # rows from the stored facts
