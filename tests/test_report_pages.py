"""Which learners a Report page shows (``selectors.report_page``): every way
of reaching a page (``selectors.tab_walk``) gives the same slice of the tab in
report order as the live rules, from either end, while the stored facts are
exact and after they stopped being; the report order is the learner's stored
sort key, and the search matches parts of names and emails."""

from __future__ import annotations

import datetime as dt

import pytest

from compliance import selectors
from compliance.dates import org_day_start
from compliance.models import Completion, Enrollment, Learner, Requirement
from compliance.recompute import requirement_recompute
from compliance.rules import filter_status, learner_statuses
from compliance.selectors import (
    PageWindow,
    TabWalk,
    in_report_order,
    page_window,
    report_page,
    search_learners,
    tab_walk,
)
from compliance.statuses import Status
from compliance.tallies import tally_is_fresh
from tests.factories import CourseFactory, GroupFactory, LearnerFactory, RequirementFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 1)
PAGE = 4

#: (days since the last completion, open enrollment) by ``i % 7``: every tab
#: has learners; valid 365 days, warned 30 before.
KINDS = [
    (10, None),  # Compliant
    (20, "begun"),  # Compliant, retaking
    (350, None),  # Expiring Soon
    (400, None),  # Expired
    (400, "begun"),  # In Progress
    (None, "enrolled"),  # Not Started
    (None, None),  # Not Started
]


def build(n: int = 60) -> Requirement:
    course = CourseFactory()
    requirement = RequirementFactory(course=course, valid_days=365, warning_days=30)
    learners = Learner.objects.bulk_create(
        Learner(email=f"l{i}@example.com", first_name=f"F{i % 5}", last_name=f"L{(i * 7) % 11}") for i in range(n)
    )
    for i, learner in enumerate(learners):
        days, enrollment = KINDS[i % len(KINDS)]
        if days is not None:
            day = TODAY - dt.timedelta(days=days)
            Completion.objects.create(learner=learner, course=course, completed_at=org_day_start(day), completed_on=day)
        if enrollment is not None:
            started = org_day_start(TODAY) if enrollment == "begun" else None
            Enrollment.objects.create(
                learner=learner, course=course, enrolled_at=org_day_start(TODAY), started_at=started
            )
    return requirement


def as_page_reads_it(requirement: Requirement) -> Requirement:
    return Requirement.objects.annotate(tally_fresh=tally_is_fresh()).get(pk=requirement.pk)


def live_tab(requirement: Requirement, status: Status, query: str = "") -> list[int]:
    learners = search_learners(learner_statuses(requirement, TODAY), query)
    return list(in_report_order(filter_status(learners, status)).values_list("pk", flat=True))


def pages_of(requirement: Requirement, status: Status, query: str = "") -> list[list[int]]:
    first = report_page(requirement, TODAY, status=status, query=query, page=1, page_size=PAGE)
    return [
        [
            row.status.learner_id
            for row in report_page(requirement, TODAY, status=status, query=query, page=number, page_size=PAGE).rows
        ]
        for number in range(1, first.page_count + 1)
    ]


def slices(ids: list[int]) -> list[list[int]]:
    return [ids[start : start + PAGE] for start in range(0, len(ids), PAGE)] or [[]]


@pytest.mark.parametrize("walk", list(TabWalk))
def test_every_walk_pages_through_each_tab_as_the_live_rules_order_it(monkeypatch, walk):
    requirement = build()
    requirement_recompute(requirement_id=requirement.pk, today=TODAY)
    page_requirement = as_page_reads_it(requirement)
    assert page_requirement.tally_fresh
    monkeypatch.setattr(selectors, "tab_walk", lambda *args: walk)

    for status in Status:
        assert pages_of(page_requirement, status) == slices(live_tab(requirement, status)), status


@pytest.mark.parametrize("walk", list(TabWalk))
def test_every_walk_pages_through_a_search(monkeypatch, walk):
    requirement = build()
    requirement_recompute(requirement_id=requirement.pk, today=TODAY)
    monkeypatch.setattr(selectors, "tab_walk", lambda *args: walk)

    for status in (Status.COMPLIANT, Status.NOT_STARTED):
        expected = slices(live_tab(requirement, status, "l1 f"))
        assert pages_of(as_page_reads_it(requirement), status, "l1 f") == expected, status


@pytest.mark.parametrize("walk", list(TabWalk))
def test_pages_follow_the_live_rules_once_a_write_moved_the_clock(monkeypatch, walk):
    """The page's first query found the tallies exact; a completion recorded
    afterwards makes the rows query take its live branch."""
    requirement = build()
    requirement_recompute(requirement_id=requirement.pk, today=TODAY)
    page_requirement = as_page_reads_it(requirement)
    expired = live_tab(requirement, Status.EXPIRED)
    Completion.objects.create(
        learner_id=expired[0], course=requirement.course, completed_at=org_day_start(TODAY), completed_on=TODAY
    )
    assert not as_page_reads_it(requirement).tally_fresh
    monkeypatch.setattr(selectors, "tab_walk", lambda *args: walk)

    for status in (Status.COMPLIANT, Status.EXPIRED):
        assert pages_of(page_requirement, status)[0] == live_tab(requirement, status)[:PAGE], status


def test_pages_of_a_group_requirement_hold_its_members_only():
    requirement = build()
    group = GroupFactory()
    members = list(Learner.objects.order_by("pk")[::2])
    group.learners.add(*members)
    Requirement.objects.filter(pk=requirement.pk).update(target_group=group)
    requirement.refresh_from_db()
    requirement_recompute(requirement_id=requirement.pk, today=TODAY)

    for status in Status:
        expected = slices(live_tab(requirement, status))
        assert pages_of(as_page_reads_it(requirement), status) == expected, status
        assert {pk for page in expected for pk in page} <= {m.pk for m in members}


# --- The window and the walk ------------------------------------------------------------


def test_a_page_in_the_back_half_of_a_tab_is_read_from_its_end():
    assert page_window(103, 0, 50) == PageWindow(backwards=False, offset=0, limit=50)
    assert page_window(103, 50, 50) == PageWindow(backwards=True, offset=3, limit=50)
    assert page_window(103, 100, 50) == PageWindow(backwards=True, offset=0, limit=3)
    assert page_window(0, 0, 50) == PageWindow(backwards=False, offset=0, limit=50)


def test_small_tabs_and_group_requirements_are_joined_large_tabs_walked():
    everyone, group = RequirementFactory(), RequirementFactory(target_group=GroupFactory())
    first, middle = PageWindow(False, 0, 50), PageWindow(False, 35_000, 50)

    assert tab_walk(everyone, 1_500, 98_000, middle) is TabWalk.JOIN
    assert tab_walk(group, 70_000, 98_000, middle) is TabWalk.JOIN
    assert tab_walk(everyone, 70_000, 98_000, first) is TabWalk.PROBE
    assert tab_walk(everyone, 70_000, 98_000, middle) is TabWalk.HASH_OTHERS
    assert tab_walk(everyone, 11_000, 98_000, PageWindow(False, 5_000, 50)) is TabWalk.HASH_TAB


# --- The report order and the search ------------------------------------------------------


def test_the_report_order_is_last_first_email_case_insensitively_then_id():
    names = [("ab", "c"), ("a", "bc"), ("A", "z"), ("", "x"), ("a", "B"), ("Ab", "a"), ("b", "")]
    learners = [
        LearnerFactory(last_name=last, first_name=first, email=f"e{i}@example.com")
        for i, (last, first) in enumerate(names)
    ]
    expected = sorted(learners, key=lambda x: (x.last_name.lower(), x.first_name.lower(), x.email, x.pk))

    ordered = list(in_report_order(Learner.objects.all()).values_list("pk", flat=True))

    assert ordered == [learner.pk for learner in expected]


def test_the_sort_key_follows_a_rename():
    learner = LearnerFactory(last_name="Zed", first_name="Ann", email="ann@example.com")
    other = LearnerFactory(last_name="Moss", first_name="Bo", email="bo@example.com")
    Learner.objects.filter(pk=learner.pk).update(last_name="Abel")

    assert list(in_report_order(Learner.objects.all()).values_list("pk", flat=True)) == [learner.pk, other.pk]


def test_a_search_term_matches_within_a_name_or_the_email_never_across_them():
    smith = LearnerFactory(last_name="Smith", first_name="John", email="js@example.com")
    LearnerFactory(last_name="Jones", first_name="Ann", email="a_100%@example.com")

    def found(text):
        return set(search_learners(Learner.objects.all(), text).values_list("last_name", flat=True))

    assert found("MITH") == {"Smith"}
    assert found("th jo") == {"Smith"}
    assert found("thjo") == set()  # last name, then first name: no match across the two
    assert found("_100%") == {"Jones"}
    assert found("%") == {"Jones"}  # a literal percent sign, not a wildcard
    assert found("s_") == set()  # a literal underscore
    assert smith.pk in set(search_learners(Learner.objects.all(), "JS@").values_list("pk", flat=True))
