"""The reads behind the portal's pages: counts of many requirements at once,
monthly completions, and what a change of settings would do (the preview)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
import time_machine

from compliance.models import Requirement
from compliance.requirements import requirement_change_preview, requirement_update
from compliance.rules import (
    Transition,
    learner_statuses,
    month_starts,
    monthly_completions,
    requirement_status_counts,
    status_counts_by_requirement,
)
from compliance.statuses import Status
from tests.factories import (
    CompletionFactory,
    CourseFactory,
    EnrollmentFactory,
    GroupFactory,
    LearnerFactory,
    MembershipFactory,
    RequirementFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

D = dt.date
TODAY = D(2026, 11, 28)


def statuses_by_learner(requirement, today) -> dict[int, Status]:
    return {pk: Status(s) for pk, s in learner_statuses(requirement, today).values_list("pk", "status")}


# --- Counts of many requirements in one query -------------------------------------------


def test_counts_of_many_requirements_equal_each_requirements_own_counts(django_assert_num_queries):
    group = GroupFactory()
    course = CourseFactory()
    learners = LearnerFactory.create_batch(6)
    for learner in learners[:3]:
        MembershipFactory(learner=learner, group=group)
    CompletionFactory(learner=learners[0], course=course, day=D(2026, 6, 1))  # compliant
    CompletionFactory(learner=learners[1], course=course, day=D(2025, 11, 1))  # expired
    CompletionFactory(learner=learners[4], course=course, day=D(2025, 12, 10))  # expiring soon
    requirements = [
        RequirementFactory(course=course),
        RequirementFactory(course=course, target_group=group),
        RequirementFactory(target_group=GroupFactory()),  # nobody in scope
    ]
    requirements = list(Requirement.objects.prefetch_related("course_history").order_by("pk"))
    with django_assert_num_queries(1):
        together = status_counts_by_requirement(requirements, TODAY)
    for requirement in requirements:
        assert together[requirement.pk] == requirement_status_counts(requirement, TODAY)
    assert together[requirements[2].pk].total == 0 and together[requirements[2].pk].rate is None
    assert together[requirements[1].pk][Status.EXPIRED] == 1


def test_counts_of_more_requirements_than_one_query_holds(monkeypatch, django_assert_num_queries):
    monkeypatch.setattr("compliance.rules.COUNTS_PER_QUERY", 2)
    LearnerFactory.create_batch(2)
    RequirementFactory.create_batch(5)
    requirements = list(Requirement.objects.prefetch_related("course_history"))
    with django_assert_num_queries(3):
        counts = status_counts_by_requirement(requirements, TODAY)
    assert [counts[r.pk][Status.NOT_STARTED] for r in requirements] == [2] * 5


def test_counts_of_no_requirements_run_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert status_counts_by_requirement([], TODAY) == {}


# --- Monthly completions ------------------------------------------------------------------


def test_month_starts_are_the_twelve_months_ending_with_this_one():
    months = month_starts(TODAY)
    assert months[0] == D(2025, 12, 1) and months[-1] == D(2026, 11, 1) and len(months) == 12
    assert month_starts(D(2026, 1, 31), 3) == [D(2025, 11, 1), D(2025, 12, 1), D(2026, 1, 1)]


def test_monthly_completions_count_qualifying_completions_of_learners_in_scope():
    course, other = CourseFactory(), CourseFactory()
    requirement = RequirementFactory(course=course)
    ana, ben = LearnerFactory(), LearnerFactory()
    gone = LearnerFactory(active=False)
    CompletionFactory(learner=ana, course=course, day=D(2026, 11, 2))
    CompletionFactory(learner=ben, course=course, day=D(2026, 11, 28))  # today counts
    CompletionFactory(learner=ana, course=course, day=D(2026, 3, 31))
    CompletionFactory(learner=ana, course=course, day=D(2025, 12, 1))  # first day of the window
    CompletionFactory(learner=ana, course=course, day=D(2025, 11, 30))  # just before it
    CompletionFactory(learner=gone, course=course, day=D(2026, 11, 3))  # out of scope
    CompletionFactory(learner=ben, course=other, day=D(2026, 11, 4))  # another course
    months = dict(monthly_completions(requirement, TODAY))
    assert list(months) == month_starts(TODAY)
    assert months[D(2026, 11, 1)] == 2
    assert months[D(2026, 3, 1)] == 1
    assert months[D(2025, 12, 1)] == 1
    assert sum(months.values()) == 4
    assert months[D(2026, 7, 1)] == 0


def test_monthly_completions_count_retakes_not_distinct_learners():
    course = CourseFactory()
    requirement = RequirementFactory(course=course)
    ana = LearnerFactory()
    CompletionFactory(learner=ana, course=course, day=D(2026, 10, 1))
    CompletionFactory(learner=ana, course=course, day=D(2026, 10, 20))
    assert dict(monthly_completions(requirement, TODAY))[D(2026, 10, 1)] == 2


def test_monthly_completions_of_a_swapped_out_course_count_only_before_the_swap(admin_user):
    old, new = CourseFactory(), CourseFactory()
    ana = LearnerFactory()
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        requirement = RequirementFactory(course=old)
    CompletionFactory(learner=ana, course=old, day=D(2026, 7, 1))
    with time_machine.travel(dt.datetime(2026, 8, 15, 12, tzinfo=dt.UTC), tick=False):
        requirement_update(actor=admin_user, requirement=requirement, course=new)
    CompletionFactory(learner=ana, course=old, day=D(2026, 9, 1))  # after the swap: does not count
    CompletionFactory(learner=ana, course=new, day=D(2026, 10, 1))
    months = dict(monthly_completions(requirement, TODAY))
    assert (months[D(2026, 7, 1)], months[D(2026, 9, 1)], months[D(2026, 10, 1)]) == (1, 0, 1)


# --- The Settings preview -------------------------------------------------------------------


@pytest.fixture
def admin(db):
    return UserFactory(is_superuser=True)


@pytest.fixture
def population():
    """A course, a requirement (365 days, warning 30) and learners in every status."""
    course = CourseFactory()
    requirement = RequirementFactory(course=course, valid_days=365, warning_days=30)
    days = [D(2026, 6, 1), D(2026, 1, 15), D(2025, 12, 20), D(2025, 10, 1), D(2026, 9, 1)]
    for day in days:
        CompletionFactory(learner=LearnerFactory(), course=course, day=day)
    retaker = LearnerFactory()
    CompletionFactory(learner=retaker, course=course, day=D(2025, 6, 1))
    EnrollmentFactory(learner=retaker, course=course, started_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    LearnerFactory.create_batch(2)  # not started
    return requirement


def actual_transitions(requirement, change, admin) -> list[tuple]:
    """Apply the change and compare every learner's status before and after."""
    before = statuses_by_learner(requirement, TODAY)
    requirement_update(actor=admin, requirement=requirement, **change)
    after = statuses_by_learner(Requirement.objects.get(pk=requirement.pk), TODAY)
    moves = Counter(
        (before.get(pk), after.get(pk)) for pk in before.keys() | after.keys() if before.get(pk) != after.get(pk)
    )
    return sorted(moves.items(), key=str)


def previewed(transitions: list[Transition]) -> list[tuple]:
    return sorted((((t.before, t.after), t.count) for t in transitions), key=str)


@pytest.mark.parametrize(
    "change",
    [
        {"valid_days": 200},
        {"valid_days": 700, "warning_days": 60},
        {"warning_days": 0},
        {"warning_days": 200},
    ],
)
@time_machine.travel(dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC), tick=False)
def test_the_preview_of_a_validity_change_is_exactly_what_saving_does(population, admin, change):
    requirement = Requirement.objects.prefetch_related("course_history").get(pk=population.pk)
    preview = requirement_change_preview(requirement=requirement, changes=change, today=TODAY)
    assert preview, "the change moves somebody"
    assert previewed(preview) == actual_transitions(requirement, change, admin)


@time_machine.travel(dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC), tick=False)
def test_the_preview_of_a_new_target_counts_who_leaves_and_who_joins(population, admin):
    group = GroupFactory()
    insider = LearnerFactory()
    MembershipFactory(learner=insider, group=group)
    requirement = Requirement.objects.get(pk=population.pk)
    preview = requirement_change_preview(requirement=requirement, changes={"target_group": group}, today=TODAY)
    leaving = sum(t.count for t in preview if t.after is None)
    assert leaving == 8  # everyone but the one member, who stays Not Started
    assert all(t.before is not None for t in preview)
    assert previewed(preview) == actual_transitions(requirement, {"target_group": group}, admin)

    back = requirement_change_preview(
        requirement=Requirement.objects.get(pk=population.pk), changes={"target_group": None}, today=TODAY
    )
    assert sum(t.count for t in back if t.before is None) == 8
    assert all(t.after is not None for t in back)


@time_machine.travel(dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC), tick=False)
def test_the_preview_of_a_course_swap_keeps_earlier_completions_of_the_old_course(population, admin):
    new_course = CourseFactory()
    requirement = Requirement.objects.get(pk=population.pk)
    preview = requirement_change_preview(requirement=requirement, changes={"course": new_course}, today=TODAY)
    # Completions of the old course made before now keep counting: only the retaker,
    # whose begun retake is in the old course, stops being In Progress and is Expired.
    assert previewed(preview) == [((Status.IN_PROGRESS, Status.EXPIRED), 1)]
    assert previewed(preview) == actual_transitions(requirement, {"course": new_course}, admin)


def test_a_change_that_moves_nobody_previews_nothing(population):
    requirement = Requirement.objects.get(pk=population.pk)
    assert requirement_change_preview(requirement=requirement, changes={"name": "Renamed"}, today=TODAY) == []
    assert requirement_change_preview(requirement=requirement, changes={"valid_days": 366}, today=TODAY) == []


def test_the_preview_changes_nothing(population):
    requirement = Requirement.objects.get(pk=population.pk)
    before = statuses_by_learner(requirement, TODAY)
    requirement_change_preview(
        requirement=requirement, changes={"valid_days": 10, "course": CourseFactory()}, today=TODAY
    )
    fresh = Requirement.objects.get(pk=population.pk)
    assert (fresh.valid_days, fresh.course_id, fresh.course_history.count()) == (365, population.course_id, 0)
    assert requirement.valid_days == 365 and requirement.course_id == population.course_id
    assert statuses_by_learner(fresh, TODAY) == before


def test_a_change_of_name_type_or_description_previews_nothing_without_a_query(population, django_assert_num_queries):
    requirement = Requirement.objects.get(pk=population.pk)
    changes = {"name": "Renamed", "description": "New text", "valid_days": 365, "course": requirement.course}
    with django_assert_num_queries(0):
        assert requirement_change_preview(requirement=requirement, changes=changes, today=TODAY) == []
