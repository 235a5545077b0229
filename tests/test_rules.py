"""The status engine (compliance/rules.py) against compliance-rules.md."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from compliance.dates import org_day_start
from compliance.models import Completion, Enrollment, Learner, LearnerRequirementState, Membership, Requirement
from compliance.recompute import recompute
from compliance.records import completion_record
from compliance.requirements import requirement_update
from compliance.rules import (
    compliance_rate,
    filter_status,
    learner_status,
    learner_statuses,
    requirement_status_counts,
    status_rows,
)
from compliance.selectors import in_report_order, search_learners
from compliance.statuses import Status
from tests.factories import (
    CompletionFactory,
    CourseFactory,
    EnrollmentFactory,
    GroupFactory,
    LearnerFactory,
    MembershipFactory,
    RequirementFactory,
)

pytestmark = pytest.mark.django_db

D = dt.date
UTC = dt.UTC

# A completion on 2026-01-10 with valid_days 365 and warning_days 30 (the spec's own example).
C = D(2026, 1, 10)
WARN_ON = D(2026, 12, 11)
EXPIRES_ON = D(2027, 1, 10)


# --- Helpers ------------------------------------------------------------------------


def complete(learner, course, day: dt.date) -> Completion:
    return CompletionFactory(learner=learner, course=course, day=day)


def complete_at(learner, course, moment: dt.datetime) -> Completion:
    """completed_on is the org day of ``moment`` (``org_date``), as every write path stores it."""
    return CompletionFactory(learner=learner, course=course, completed_at=moment)


def enroll(learner, course, day: dt.date, *, begun: bool = False, progress: int = 0, closed: bool = False):
    enrolled_at = org_day_start(day) + dt.timedelta(hours=9)
    return EnrollmentFactory(
        learner=learner,
        course=course,
        enrolled_at=enrolled_at,
        started_at=enrolled_at + dt.timedelta(hours=1) if begun else None,
        progress=progress,
        completed_at=enrolled_at + dt.timedelta(hours=2) if closed else None,
    )


def status_of(requirement, learner, today: dt.date) -> Status:
    return row_of(requirement, learner, today).status


def row_of(requirement, learner, today: dt.date):
    row = learner_status(requirement, learner.pk, today)
    assert row is not None, f"{learner} is not in scope"
    return row


def rows_by_email(requirement, today: dt.date) -> dict:
    return {row.email: row for row in status_rows(learner_statuses(requirement, today), today)}


def counts_dict(requirement, today: dt.date) -> dict[Status, int]:
    return dict(requirement_status_counts(requirement, today).by_status)


def counts_of(**by_status: int) -> dict[Status, int]:
    return {status: by_status.get(status.name.lower(), 0) for status in Status}


def bulk_learners(n: int, prefix: str = "bulk", **fields) -> list[Learner]:
    Learner.objects.bulk_create(Learner(email=f"{prefix}{i}@example.com", **fields) for i in range(n))
    return list(Learner.objects.filter(email__startswith=prefix).order_by("pk"))


def bulk_complete(learners, course, days) -> None:
    Completion.objects.bulk_create(
        Completion(learner=learner, course=course, completed_at=org_day_start(day), completed_on=day)
        for learner, day in zip(learners, days, strict=True)
    )


@pytest.fixture
def course():
    return CourseFactory(code="GDPR-101")


@pytest.fixture
def requirement(course):
    """Valid 365 days, warning 30 days, All Learners."""
    return RequirementFactory(name="Data Privacy", valid_days=365, warning_days=30, course=course)


@pytest.fixture
def learner():
    return LearnerFactory(email="learner@example.com")


# --- The worked example -------------------------------------------------------------

TODAY = D(2026, 11, 28)


@pytest.fixture
def worked_example(requirement, course):
    people = {
        name: LearnerFactory(email=f"{name}@example.com", first_name=name.title())
        for name in ["ana", "ben", "caro", "dev", "eve", "finn", "gus"]
    }
    people["hana"] = LearnerFactory(email="hana@example.com", first_name="Hana", active=False)
    complete(people["ana"], course, D(2026, 3, 1))
    complete(people["ben"], course, D(2025, 12, 20))
    complete(people["caro"], course, D(2025, 11, 28))
    complete(people["dev"], course, D(2025, 6, 1))
    enroll(people["dev"], course, D(2026, 11, 20), begun=True, progress=40)
    complete(people["eve"], course, D(2025, 12, 25))
    enroll(people["eve"], course, D(2026, 11, 26), begun=True, progress=10)
    enroll(people["finn"], course, D(2026, 11, 1))
    complete(people["hana"], course, D(2026, 10, 1))
    return people


# (status, last_completed_on, warn_on, expires_on, days_left, enrolled_on, started, progress)
WORKED_EXAMPLE_ROWS = {
    "ana": (Status.COMPLIANT, D(2026, 3, 1), D(2027, 1, 30), D(2027, 3, 1), 93, None, False, None),
    "ben": (Status.EXPIRING_SOON, D(2025, 12, 20), D(2026, 11, 20), D(2026, 12, 20), 22, None, False, None),
    "caro": (Status.EXPIRED, D(2025, 11, 28), D(2026, 10, 29), D(2026, 11, 28), 0, None, False, None),
    "dev": (Status.IN_PROGRESS, D(2025, 6, 1), D(2026, 5, 2), D(2026, 6, 1), -180, D(2026, 11, 20), True, 40),
    "eve": (Status.EXPIRING_SOON, D(2025, 12, 25), D(2026, 11, 25), D(2026, 12, 25), 27, D(2026, 11, 26), True, 10),
    "finn": (Status.NOT_STARTED, None, None, None, None, D(2026, 11, 1), False, 0),
    "gus": (Status.NOT_STARTED, None, None, None, None, None, False, None),
}
ROW_FACTS = ("status", "last_completed_on", "warn_on", "expires_on", "days_left", "enrolled_on", "started", "progress")


@pytest.mark.parametrize("name", list(WORKED_EXAMPLE_ROWS))
def test_worked_example_row_shows_the_status_and_facts_of_the_spec(worked_example, requirement, name):
    row = rows_by_email(requirement, TODAY)[f"{name}@example.com"]

    shown = tuple(dataclasses.asdict(row)[fact] for fact in ROW_FACTS)

    assert shown == WORKED_EXAMPLE_ROWS[name]


def test_worked_example_deactivated_learner_is_not_in_scope(worked_example, requirement):
    rows = rows_by_email(requirement, TODAY)

    assert "hana@example.com" not in rows
    assert learner_status(requirement, worked_example["hana"].pk, TODAY) is None
    assert len(rows) == 7


def test_worked_example_counts_and_rate(worked_example, requirement):
    counts = requirement_status_counts(requirement, TODAY)

    assert dict(counts.by_status) == counts_of(compliant=1, expiring_soon=2, expired=1, in_progress=1, not_started=2)
    assert counts.total == 7
    assert counts.valid == 3
    assert counts.rate == 42  # 3 of 7 = 42.86 %, rounded down


@pytest.mark.parametrize(
    ("status", "names"),
    [
        (Status.COMPLIANT, {"ana"}),
        (Status.EXPIRING_SOON, {"ben", "eve"}),
        (Status.EXPIRED, {"caro"}),
        (Status.IN_PROGRESS, {"dev"}),
        (Status.NOT_STARTED, {"finn", "gus"}),
    ],
)
def test_worked_example_report_tab_lists_the_learners_of_its_status(worked_example, requirement, status, names):
    tab = filter_status(learner_statuses(requirement, TODAY), status)

    assert set(tab.values_list("email", flat=True)) == {f"{name}@example.com" for name in names}


# --- The rules table, around warn_on and expires_on ---------------------------------

AROUND_THE_BOUNDARIES = [
    pytest.param(C, "completion-day", id="completion-day"),
    pytest.param(WARN_ON - dt.timedelta(days=1), "before-warn", id="day-before-warn_on"),
    pytest.param(WARN_ON, "warn", id="warn_on"),
    pytest.param(WARN_ON + dt.timedelta(days=1), "after-warn", id="day-after-warn_on"),
    pytest.param(EXPIRES_ON - dt.timedelta(days=1), "before-expiry", id="day-before-expires_on"),
    pytest.param(EXPIRES_ON, "expiry", id="expires_on"),
    pytest.param(EXPIRES_ON + dt.timedelta(days=1), "after-expiry", id="day-after-expires_on"),
]
WITHOUT_RETAKE = {
    "completion-day": Status.COMPLIANT,
    "before-warn": Status.COMPLIANT,
    "warn": Status.EXPIRING_SOON,
    "after-warn": Status.EXPIRING_SOON,
    "before-expiry": Status.EXPIRING_SOON,
    "expiry": Status.EXPIRED,
    "after-expiry": Status.EXPIRED,
}


def test_spec_example_dates_of_warn_on_and_expires_on(requirement, course, learner):
    complete(learner, course, C)

    row = row_of(requirement, learner, C)

    assert (row.last_completed_on, row.warn_on, row.expires_on) == (C, WARN_ON, EXPIRES_ON)


@pytest.mark.parametrize(("today", "moment"), AROUND_THE_BOUNDARIES)
def test_status_moves_with_the_calendar_from_compliant_to_expiring_soon_to_expired(
    requirement, course, learner, today, moment
):
    complete(learner, course, C)

    row = row_of(requirement, learner, today)

    assert row.status == WITHOUT_RETAKE[moment]
    assert row.days_left == (EXPIRES_ON - today).days


@pytest.mark.parametrize(("today", "moment"), AROUND_THE_BOUNDARIES)
def test_begun_retake_keeps_a_valid_status_and_turns_expired_into_in_progress(
    requirement, course, learner, today, moment
):
    complete(learner, course, C)
    enroll(learner, course, C + dt.timedelta(days=200), begun=True, progress=30)
    expected = Status.IN_PROGRESS if WITHOUT_RETAKE[moment] == Status.EXPIRED else WITHOUT_RETAKE[moment]

    row = row_of(requirement, learner, today)

    assert row.status == expected
    assert row.started is True
    assert row.progress == 30


@pytest.mark.parametrize(("today", "moment"), AROUND_THE_BOUNDARIES)
def test_enrollment_not_begun_never_changes_the_status(requirement, course, learner, today, moment):
    complete(learner, course, C)
    enroll(learner, course, C + dt.timedelta(days=200))

    row = row_of(requirement, learner, today)

    assert row.status == WITHOUT_RETAKE[moment]
    assert row.enrolled_on == C + dt.timedelta(days=200)
    assert row.started is False


def test_expired_learner_with_begun_retake_is_in_progress(requirement, course, learner):
    complete(learner, course, D(2025, 6, 1))
    enroll(learner, course, D(2026, 11, 20), begun=True)

    assert status_of(requirement, learner, TODAY) == Status.IN_PROGRESS


def test_expired_learner_enrolled_but_not_begun_stays_expired_shown_as_enrolled(requirement, course, learner):
    complete(learner, course, D(2025, 6, 1))
    enroll(learner, course, D(2026, 11, 20))

    row = row_of(requirement, learner, TODAY)

    assert row.status == Status.EXPIRED
    assert row.enrolled_on == D(2026, 11, 20)
    assert row.started is False


def test_compliant_learner_with_begun_retake_stays_compliant_with_the_retake_shown(requirement, course, learner):
    complete(learner, course, D(2026, 3, 1))
    enroll(learner, course, D(2026, 11, 20), begun=True, progress=55)

    row = row_of(requirement, learner, TODAY)

    assert row.status == Status.COMPLIANT
    assert (row.started, row.progress, row.enrolled_on) == (True, 55, D(2026, 11, 20))


def test_expiring_soon_learner_with_begun_retake_stays_expiring_soon(requirement, course, learner):
    complete(learner, course, D(2025, 12, 25))
    enroll(learner, course, D(2026, 11, 26), begun=True)

    assert status_of(requirement, learner, TODAY) == Status.EXPIRING_SOON


def test_learner_never_completed_with_begun_enrollment_is_in_progress(requirement, course, learner):
    enroll(learner, course, D(2026, 11, 20), begun=True, progress=5)

    row = row_of(requirement, learner, TODAY)

    assert row.status == Status.IN_PROGRESS
    assert row.last_completed_on is None
    assert row.expires_on is None
    assert row.days_left is None


def test_learner_enrolled_but_not_begun_is_not_started_shown_as_enrolled(requirement, course, learner):
    enroll(learner, course, D(2026, 11, 1))

    row = row_of(requirement, learner, TODAY)

    assert row.status == Status.NOT_STARTED
    assert row.enrolled_on == D(2026, 11, 1)
    assert row.started is False


def test_learner_never_enrolled_is_not_started_with_no_dates(requirement, learner):
    row = row_of(requirement, learner, TODAY)

    assert row.status == Status.NOT_STARTED
    assert (row.last_completed_on, row.warn_on, row.expires_on, row.days_left) == (None, None, None, None)
    assert (row.enrolled_on, row.started, row.progress) == (None, False, None)


def test_begun_enrollment_in_another_course_does_not_make_an_expired_learner_in_progress(requirement, course, learner):
    complete(learner, course, D(2025, 6, 1))
    enroll(learner, CourseFactory(), D(2026, 11, 20), begun=True)

    row = row_of(requirement, learner, TODAY)

    assert row.status == Status.EXPIRED
    assert row.enrolled_on is None


def test_begun_enrollment_in_another_course_does_not_make_a_never_completed_learner_in_progress(requirement, learner):
    enroll(learner, CourseFactory(), D(2026, 11, 20), begun=True)

    assert status_of(requirement, learner, TODAY) == Status.NOT_STARTED


def test_closed_begun_enrollment_in_the_current_course_does_not_make_anyone_in_progress(requirement, course, learner):
    complete(learner, course, D(2025, 6, 1))
    enroll(learner, course, D(2026, 11, 20), begun=True, closed=True)

    row = row_of(requirement, learner, TODAY)

    assert row.status == Status.EXPIRED
    assert row.enrolled_on is None
    assert row.started is False


def test_completion_of_an_unrelated_course_does_not_count(requirement, learner):
    complete(learner, CourseFactory(), D(2026, 11, 1))

    assert status_of(requirement, learner, TODAY) == Status.NOT_STARTED


# --- warning_days = 0 and valid_days = 1 ---------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (EXPIRES_ON - dt.timedelta(days=1), Status.COMPLIANT),
        (EXPIRES_ON, Status.EXPIRED),
        (EXPIRES_ON + dt.timedelta(days=1), Status.EXPIRED),
    ],
    ids=["day-before-expires_on", "expires_on", "day-after-expires_on"],
)
def test_without_warning_days_compliant_turns_expired_on_expires_on(course, learner, today, expected):
    requirement = RequirementFactory(valid_days=365, warning_days=0, course=course)
    complete(learner, course, C)

    row = row_of(requirement, learner, today)

    assert row.status == expected
    assert row.warn_on == row.expires_on == EXPIRES_ON


@pytest.mark.parametrize(("warning_days", "expiring_soon"), [(0, 0), (30, 30), (364, 364)])
def test_every_day_of_the_validity_falls_in_compliant_or_expiring_soon_by_warning_days(
    course, warning_days, expiring_soon
):
    """One learner per age of completion, 0 to 399 days: a sweep of every day of the cycle."""
    requirement = RequirementFactory(valid_days=365, warning_days=warning_days, course=course)
    learners = bulk_learners(400)
    bulk_complete(learners, course, [TODAY - dt.timedelta(days=age) for age in range(400)])

    counts = counts_dict(requirement, TODAY)

    assert counts == counts_of(compliant=365 - expiring_soon, expiring_soon=expiring_soon, expired=35)


@pytest.mark.parametrize(
    ("today", "expected"),
    [(C, Status.COMPLIANT), (C + dt.timedelta(days=1), Status.EXPIRED), (C + dt.timedelta(days=2), Status.EXPIRED)],
    ids=["completion-day", "next-day", "day-after-next"],
)
def test_with_one_valid_day_a_completion_is_valid_on_its_own_day_only(course, learner, today, expected):
    requirement = RequirementFactory(valid_days=1, warning_days=0, course=course)
    complete(learner, course, C)

    row = row_of(requirement, learner, today)

    assert row.status == expected
    assert row.expires_on == C + dt.timedelta(days=1)


# --- Retakes -----------------------------------------------------------------------


def test_latest_completion_wins_over_an_older_one(requirement, course, learner):
    complete(learner, course, D(2024, 2, 1))
    complete(learner, course, D(2026, 3, 1))

    row = row_of(requirement, learner, TODAY)

    assert row.status == Status.COMPLIANT
    assert row.last_completed_on == D(2026, 3, 1)
    assert row.expires_on == D(2027, 3, 1)


def test_older_completion_recorded_after_a_newer_one_does_not_win(requirement, course, learner):
    complete(learner, course, D(2026, 3, 1))
    complete(learner, course, D(2024, 2, 1))  # imported later, happened earlier

    row = row_of(requirement, learner, TODAY)

    assert row.status == Status.COMPLIANT
    assert row.last_completed_on == D(2026, 3, 1)


def test_retake_completion_makes_an_expired_learner_compliant_again(requirement, course, learner):
    complete(learner, course, D(2025, 6, 1))
    assert status_of(requirement, learner, TODAY) == Status.EXPIRED

    complete(learner, course, D(2026, 11, 27))

    row = row_of(requirement, learner, TODAY)
    assert row.status == Status.COMPLIANT
    assert row.expires_on == D(2027, 11, 27)


def test_valid_completion_decides_before_an_open_begun_enrollment(requirement, course, learner):
    """A begun retake next to a newer valid completion: the completion decides (rule 1 before rule 3)."""
    complete(learner, course, D(2025, 6, 1))
    enroll(learner, course, D(2026, 11, 20), begun=True)
    complete(learner, course, D(2026, 11, 27))

    assert status_of(requirement, learner, TODAY) == Status.COMPLIANT


# --- Course swaps -------------------------------------------------------------------

SWAP_AT = dt.datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def old_course():
    return CourseFactory(code="GDPR-OLD")


@pytest.fixture
def new_course():
    return CourseFactory(code="GDPR-NEW")


@pytest.fixture
def swapped_requirement(old_course, new_course):
    """Mapped to GDPR-OLD, swapped for GDPR-NEW at SWAP_AT through the audited service."""
    requirement = RequirementFactory(name="Swapped", valid_days=365, warning_days=30, course=old_course)
    with time_machine.travel(SWAP_AT, tick=False):
        requirement_update(actor=None, requirement=requirement, course=new_course)
    requirement.refresh_from_db()
    assert requirement.course_id == new_course.pk
    return requirement


def test_course_swap_keeps_the_old_course_in_the_history_at_the_swap_moment(swapped_requirement, old_course):
    history = list(swapped_requirement.course_history.values_list("course_id", "swapped_out_at"))

    assert history == [(old_course.pk, SWAP_AT)]


def test_old_course_completion_made_before_the_swap_keeps_counting(swapped_requirement, old_course, learner):
    complete_at(learner, old_course, SWAP_AT - dt.timedelta(minutes=1))

    row = row_of(swapped_requirement, learner, TODAY)

    assert row.status == Status.COMPLIANT
    assert row.last_completed_on == D(2026, 6, 15)


def test_old_course_completion_counts_until_it_expires(swapped_requirement, old_course, learner):
    complete_at(learner, old_course, dt.datetime(2025, 12, 1, 10, tzinfo=UTC))

    assert status_of(swapped_requirement, learner, D(2026, 11, 30)) == Status.EXPIRING_SOON
    assert status_of(swapped_requirement, learner, D(2026, 12, 1)) == Status.EXPIRED


def test_old_course_completion_made_after_the_swap_does_not_count(swapped_requirement, old_course, learner):
    complete_at(learner, old_course, SWAP_AT + dt.timedelta(minutes=1))

    row = row_of(swapped_requirement, learner, TODAY)

    assert row.status == Status.NOT_STARTED
    assert row.last_completed_on is None


def test_old_course_completion_at_the_very_moment_of_the_swap_does_not_count(swapped_requirement, old_course, learner):
    complete_at(learner, old_course, SWAP_AT)

    assert status_of(swapped_requirement, learner, TODAY) == Status.NOT_STARTED


def test_old_course_completion_after_the_swap_does_not_outrank_an_earlier_one(swapped_requirement, old_course, learner):
    complete_at(learner, old_course, dt.datetime(2025, 12, 10, 9, tzinfo=UTC))
    complete_at(learner, old_course, dt.datetime(2026, 9, 1, 9, tzinfo=UTC))

    row = row_of(swapped_requirement, learner, TODAY)

    assert row.last_completed_on == D(2025, 12, 10)
    assert row.status == Status.EXPIRING_SOON


@pytest.mark.parametrize(
    "completed_at",
    [dt.datetime(2024, 12, 20, 9, tzinfo=UTC), SWAP_AT - dt.timedelta(days=1), SWAP_AT + dt.timedelta(days=1)],
    ids=["long-before-the-swap", "just-before-the-swap", "after-the-swap"],
)
def test_current_course_completion_counts_whenever_it_was_made(swapped_requirement, new_course, learner, completed_at):
    complete_at(learner, new_course, completed_at)

    row = row_of(swapped_requirement, learner, TODAY)

    assert row.last_completed_on == completed_at.date()


def test_completion_made_before_the_requirement_existed_counts(course, learner):
    complete(learner, course, D(2026, 8, 28))
    with time_machine.travel(dt.datetime(2026, 11, 27, 9, tzinfo=UTC), tick=False):
        requirement = RequirementFactory(valid_days=365, warning_days=30, course=course)

    assert status_of(requirement, learner, TODAY) == Status.COMPLIANT


def test_begun_enrollment_in_the_swapped_out_course_does_not_make_anyone_in_progress(
    swapped_requirement, old_course, learner
):
    complete_at(learner, old_course, dt.datetime(2025, 6, 1, 9, tzinfo=UTC))
    enroll(learner, old_course, D(2026, 5, 1), begun=True)

    row = row_of(swapped_requirement, learner, TODAY)

    assert row.status == Status.EXPIRED
    assert row.enrolled_on is None


def test_begun_enrollment_in_the_new_course_makes_an_expired_learner_in_progress(
    swapped_requirement, old_course, new_course, learner
):
    complete_at(learner, old_course, dt.datetime(2025, 6, 1, 9, tzinfo=UTC))
    enroll(learner, new_course, D(2026, 11, 1), begun=True)

    assert status_of(swapped_requirement, learner, TODAY) == Status.IN_PROGRESS


def test_course_swapped_back_in_counts_all_its_completions_again(swapped_requirement, old_course, new_course, learner):
    complete_at(learner, old_course, dt.datetime(2026, 9, 1, 9, tzinfo=UTC))
    assert status_of(swapped_requirement, learner, TODAY) == Status.NOT_STARTED
    with time_machine.travel(dt.datetime(2026, 10, 1, 9, tzinfo=UTC), tick=False):
        requirement_update(actor=None, requirement=swapped_requirement, course=old_course)

    row = row_of(swapped_requirement, learner, TODAY)

    assert row.last_completed_on == D(2026, 9, 1)
    assert row.status == Status.COMPLIANT


def test_new_course_completion_made_while_it_was_mapped_keeps_counting_after_swapping_back(
    swapped_requirement, old_course, new_course, learner
):
    complete_at(learner, new_course, dt.datetime(2026, 9, 1, 9, tzinfo=UTC))
    complete_at(learner, old_course, dt.datetime(2026, 1, 1, 9, tzinfo=UTC))
    with time_machine.travel(dt.datetime(2026, 10, 1, 9, tzinfo=UTC), tick=False):
        requirement_update(actor=None, requirement=swapped_requirement, course=old_course)

    assert row_of(swapped_requirement, learner, TODAY).last_completed_on == D(2026, 9, 1)


def test_swap_history_of_one_requirement_does_not_count_for_another(
    swapped_requirement, old_course, new_course, learner
):
    other = RequirementFactory(name="Other", valid_days=365, warning_days=30, course=new_course)
    complete_at(learner, old_course, SWAP_AT - dt.timedelta(days=1))

    assert status_of(swapped_requirement, learner, TODAY) == Status.COMPLIANT
    assert status_of(other, learner, TODAY) == Status.NOT_STARTED


# --- Scope: deactivated learners and group targets ----------------------------------


def test_deactivated_learner_is_in_no_scope_and_counted_nowhere(requirement, course):
    gone = LearnerFactory(active=False)
    complete(gone, course, D(2026, 11, 1))
    stays = LearnerFactory()

    assert set(learner_statuses(requirement, TODAY).values_list("pk", flat=True)) == {stays.pk}
    assert requirement_status_counts(requirement, TODAY).total == 1


@pytest.fixture
def hr():
    return GroupFactory(name="HR Department")


@pytest.fixture
def sales():
    return GroupFactory(name="Sales Team")


def test_group_target_measures_only_the_active_members_of_the_group(course, hr, sales):
    requirement = RequirementFactory(course=course, target_group=hr)
    member = MembershipFactory(group=hr).learner
    MembershipFactory(group=hr, learner=LearnerFactory(active=False))
    MembershipFactory(group=sales)
    LearnerFactory()  # in no group

    in_scope = set(learner_statuses(requirement, TODAY).values_list("pk", flat=True))

    assert in_scope == {member.pk}
    assert requirement_status_counts(requirement, TODAY).total == 1


def test_learner_in_two_groups_is_counted_once(course, hr, sales):
    both = LearnerFactory()
    MembershipFactory(learner=both, group=hr)
    MembershipFactory(learner=both, group=sales)
    complete(both, course, D(2026, 11, 1))
    by_group = RequirementFactory(name="By group", course=course, target_group=hr)
    for_all = RequirementFactory(name="For all", course=course)

    for requirement in (by_group, for_all):
        rows = list(status_rows(learner_statuses(requirement, TODAY), TODAY))
        assert [row.learner_id for row in rows] == [both.pk]
        assert counts_dict(requirement, TODAY) == counts_of(compliant=1)


def test_learner_leaving_the_target_group_leaves_the_scope_at_once(course, hr):
    requirement = RequirementFactory(course=course, target_group=hr)
    membership = MembershipFactory(group=hr)
    assert requirement_status_counts(requirement, TODAY).total == 1

    Membership.objects.filter(pk=membership.pk).delete()

    assert requirement_status_counts(requirement, TODAY).total == 0


def test_target_group_change_changes_the_scope_at_once(course, hr, sales):
    requirement = RequirementFactory(course=course, target_group=hr)
    MembershipFactory(group=hr)
    seller = MembershipFactory(group=sales).learner

    requirement_update(actor=None, requirement=requirement, target_group=sales)

    assert set(learner_statuses(requirement, TODAY).values_list("pk", flat=True)) == {seller.pk}


# --- Counts and the compliance rate --------------------------------------------------


def test_five_statuses_partition_the_scope(worked_example, requirement, course):
    # More of each, plus people out of scope, so no status is counted twice or missed.
    LearnerFactory(active=False)
    for day in (D(2026, 5, 1), D(2025, 12, 10), D(2024, 1, 1)):
        complete(LearnerFactory(), course, day)

    counts = requirement_status_counts(requirement, TODAY)

    assert all(counts[status] > 0 for status in Status)
    assert sum(counts.by_status.values()) == counts.total == Learner.objects.filter(active=True).count()
    assert counts.total == 10


@pytest.mark.parametrize(
    ("valid", "total", "rate"),
    [(2, 3, 66), (1, 3, 33), (199, 200, 99), (200, 200, 100), (0, 5, 0), (1, 7, 14)],
)
def test_compliance_rate_is_rounded_down(course, requirement, valid, total, rate):
    learners = bulk_learners(total)
    bulk_complete(learners[:valid], course, [D(2026, 11, 1)] * valid)

    counts = requirement_status_counts(requirement, TODAY)

    assert (counts.valid, counts.total, counts.rate) == (valid, total, rate)


def test_compliance_rate_counts_expiring_soon_as_valid(requirement, course):
    complete(LearnerFactory(), course, D(2026, 11, 1))  # compliant
    complete(LearnerFactory(), course, D(2025, 12, 20))  # expiring soon
    complete(LearnerFactory(), course, D(2025, 1, 1))  # expired

    assert requirement_status_counts(requirement, TODAY).rate == 66


def test_compliance_rate_is_100_only_when_everyone_holds_a_valid_certification(requirement, course):
    learners = bulk_learners(3)
    bulk_complete(learners, course, [D(2026, 11, 1), D(2025, 12, 20), D(2026, 1, 1)])
    assert requirement_status_counts(requirement, TODAY).rate == 100

    LearnerFactory()  # one more, never completed

    assert requirement_status_counts(requirement, TODAY).rate == 75


def test_compliance_rate_is_undefined_with_nobody_in_scope(course, hr):
    requirement = RequirementFactory(course=course, target_group=hr)
    MembershipFactory(group=hr, learner=LearnerFactory(active=False))
    LearnerFactory()  # active, but not in the group

    counts = requirement_status_counts(requirement, TODAY)

    assert counts.total == 0
    assert counts.rate is None
    assert dict(counts.by_status) == counts_of()


def test_compliance_rate_helper_rounds_down_and_is_none_for_nobody():
    assert compliance_rate(2, 3) == 66
    assert compliance_rate(0, 0) is None
    assert compliance_rate(0, 1) == 0


# --- The org day --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time_zone", "completed_at", "org_day"),
    [
        ("UTC", dt.datetime(2026, 1, 9, 23, 30, tzinfo=UTC), D(2026, 1, 9)),
        ("Europe/Berlin", dt.datetime(2026, 1, 9, 23, 30, tzinfo=UTC), D(2026, 1, 10)),
        ("Europe/Berlin", dt.datetime(2026, 7, 9, 22, 30, tzinfo=UTC), D(2026, 7, 10)),  # summer time, UTC+2
        ("America/New_York", dt.datetime(2026, 1, 10, 3, 30, tzinfo=UTC), D(2026, 1, 9)),
    ],
    ids=["utc", "berlin-winter", "berlin-summer", "new-york"],
)
def test_completion_day_is_the_org_day_and_the_boundaries_follow_it(
    settings, requirement, course, learner, time_zone, completed_at, org_day
):
    settings.TIME_ZONE = time_zone
    with time_machine.travel(completed_at + dt.timedelta(hours=1), tick=False):
        completion, _ = completion_record(learner=learner, course=course, completed_at=completed_at)
    expires_on = org_day + dt.timedelta(days=365)
    warn_on = expires_on - dt.timedelta(days=30)

    row = row_of(requirement, learner, org_day)

    assert completion.completed_on == org_day
    assert (row.last_completed_on, row.warn_on, row.expires_on) == (org_day, warn_on, expires_on)
    assert status_of(requirement, learner, warn_on - dt.timedelta(days=1)) == Status.COMPLIANT
    assert status_of(requirement, learner, warn_on) == Status.EXPIRING_SOON
    assert status_of(requirement, learner, expires_on - dt.timedelta(days=1)) == Status.EXPIRING_SOON
    assert status_of(requirement, learner, expires_on) == Status.EXPIRED


def test_today_is_the_org_day_so_expiry_starts_at_org_midnight(settings, requirement, course, learner):
    settings.TIME_ZONE = "Europe/Berlin"
    complete_at(learner, course, dt.datetime(2026, 1, 9, 23, 30, tzinfo=UTC))
    # expires_on is 2027-01-10 (org day); Berlin midnight is 23:00 UTC the evening before.

    with time_machine.travel(dt.datetime(2027, 1, 9, 22, 59, tzinfo=UTC), tick=False):
        assert timezone.localdate() == D(2027, 1, 9)
        before_midnight = requirement_status_counts(requirement, timezone.localdate())
    with time_machine.travel(dt.datetime(2027, 1, 9, 23, 0, tzinfo=UTC), tick=False):
        assert timezone.localdate() == D(2027, 1, 10)
        after_midnight = requirement_status_counts(requirement, timezone.localdate())

    assert before_midnight[Status.EXPIRING_SOON] == 1
    assert after_midnight[Status.EXPIRED] == 1


def test_enrolled_on_is_the_org_day_of_the_enrollment(settings, requirement, course, learner):
    settings.TIME_ZONE = "Europe/Berlin"
    Enrollment.objects.create(learner=learner, course=course, enrolled_at=dt.datetime(2026, 11, 1, 23, 30, tzinfo=UTC))

    assert row_of(requirement, learner, TODAY).enrolled_on == D(2026, 11, 2)


# --- Statuses move with the calendar alone ------------------------------------------


def test_statuses_move_with_the_clock_without_any_recompute(requirement, course):
    compliant_until_december = LearnerFactory()
    complete(compliant_until_december, course, C)  # warn_on 2026-12-11, expires_on 2027-01-10
    with time_machine.travel(dt.datetime(2026, 12, 10, 12, tzinfo=UTC), tick=False) as clock:
        recompute(requirement_ids=[requirement.pk], trigger="test")
        stored = LearnerRequirementState.objects.get(requirement=requirement, learner=compliant_until_december)
        assert stored.status == Status.COMPLIANT
        assert requirement_status_counts(requirement, timezone.localdate())[Status.COMPLIANT] == 1

        clock.move_to(dt.datetime(2026, 12, 11, 12, tzinfo=UTC))
        on_warn_on = requirement_status_counts(requirement, timezone.localdate())

        clock.move_to(dt.datetime(2027, 1, 10, 12, tzinfo=UTC))
        on_expires_on = requirement_status_counts(requirement, timezone.localdate())

    assert on_warn_on[Status.EXPIRING_SOON] == 1
    assert on_expires_on[Status.EXPIRED] == 1
    # No recompute ran in between: the stored status is stale, the engine is not.
    stored.refresh_from_db()
    assert stored.status == Status.COMPLIANT


# --- Query counts -------------------------------------------------------------------


@pytest.mark.parametrize("scope_size", [10, 2000])
@pytest.mark.parametrize("target", ["all-learners", "group"])
def test_counts_and_rows_take_a_fixed_number_of_queries_whatever_the_scope(
    django_assert_num_queries, course, hr, scope_size, target
):
    old = CourseFactory()
    requirement = RequirementFactory(course=old, target_group=hr if target == "group" else None)
    requirement_update(actor=None, requirement=requirement, course=course)  # old completions count via the history
    learners = bulk_learners(scope_size)
    Membership.objects.bulk_create(Membership(learner=learner, group=hr) for learner in learners)
    bulk_complete(learners[::2], course, [D(2026, 1, 1)] * len(learners[::2]))
    bulk_complete(learners[1::2], old, [D(2026, 2, 1)] * len(learners[1::2]))
    Enrollment.objects.bulk_create(
        Enrollment(learner=learner, course=course, started_at=timezone.now()) for learner in learners[::3]
    )

    # 1: SELECT the requirement's course history (the swapped-out courses)
    # 2: SELECT status, COUNT(*) ... GROUP BY status (scope, latest completion, open enrollment in one statement)
    with django_assert_num_queries(2):
        counts = requirement_status_counts(requirement, TODAY)
    # 1: SELECT the requirement's course history
    # 2: SELECT the rows with every fact, in report order
    with django_assert_num_queries(2):
        rows = list(status_rows(in_report_order(learner_statuses(requirement, TODAY)), TODAY))

    assert counts.total == len(rows) == scope_size
    assert counts[Status.COMPLIANT] + counts[Status.EXPIRING_SOON] == scope_size  # the old course's completions count


@pytest.mark.parametrize("scope_size", [10, 2000])
def test_counts_and_rows_take_one_query_when_the_course_history_is_prefetched(
    django_assert_num_queries, course, scope_size
):
    old = CourseFactory()
    requirement = RequirementFactory(course=old)
    requirement_update(actor=None, requirement=requirement, course=course)
    learners = bulk_learners(scope_size)
    bulk_complete(learners, old, [D(2026, 1, 1)] * scope_size)
    requirement = Requirement.objects.prefetch_related("course_history").get(pk=requirement.pk)

    # 1: SELECT status, COUNT(*) ... GROUP BY status
    with django_assert_num_queries(1):
        counts = requirement_status_counts(requirement, TODAY)
    # 1: SELECT the rows with every fact
    with django_assert_num_queries(1):
        rows = list(status_rows(learner_statuses(requirement, TODAY), TODAY))

    assert counts[Status.COMPLIANT] == len(rows) == scope_size


def test_a_course_swap_on_a_prefetched_requirement_is_seen_by_the_engine():
    old_course, new_course = CourseFactory(), CourseFactory()
    requirement = RequirementFactory(course=old_course)
    learner = LearnerFactory()
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        CompletionFactory(learner=learner, course=old_course, day=dt.date(2026, 5, 1))
        requirement = Requirement.objects.prefetch_related("course_history").get(pk=requirement.pk)
        list(requirement.course_history.all())  # the prefetch is filled, and empty
        requirement_update(actor=None, requirement=requirement, course=new_course)
        counts = requirement_status_counts(requirement, dt.date(2026, 6, 1))
    assert counts[Status.COMPLIANT] == 1


def test_search_needs_every_term_to_match_a_name_or_the_email_case_insensitively():
    requirement = RequirementFactory()
    ana = LearnerFactory(first_name="Ana", last_name="García", email="ana.garcia@example.com")
    LearnerFactory(first_name="Ana", last_name="Smith", email="ana.smith@example.com")
    LearnerFactory(first_name="Ben", last_name="Garcia", email="ben@example.com")
    found = search_learners(learner_statuses(requirement, TODAY), "  ana   GARCIA@ ")
    assert list(found.values_list("pk", flat=True)) == [ana.pk]


def test_report_order_is_last_name_first_name_email_then_id():
    requirement = RequirementFactory()
    b = LearnerFactory(first_name="Zoe", last_name="adams", email="b@example.com")
    a = LearnerFactory(first_name="Zoe", last_name="Adams", email="a@example.com")
    c = LearnerFactory(first_name="amy", last_name="Brown", email="c@example.com")
    d = LearnerFactory(first_name="Amy", last_name="Adams", email="d@example.com")
    ordered = in_report_order(learner_statuses(requirement, TODAY)).values_list("pk", flat=True)
    assert list(ordered) == [d.pk, a.pk, b.pk, c.pk]
