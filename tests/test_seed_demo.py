import datetime as dt
import io
import re
from collections import Counter

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count
from django.utils import timezone

from compliance import demo
from compliance.dates import org_date
from compliance.demo import demo_database_is_empty, demo_seed
from compliance.management.commands import prepare_demo
from compliance.models import (
    AuditEvent,
    Completion,
    Course,
    Enrollment,
    Learner,
    LearnerGroup,
    LearnerRequirementState,
    Membership,
    RecomputeRun,
    Requirement,
)
from compliance.records import close_enrollments_by_completions
from compliance.rules import learner_statuses, qualifying_completions, requirement_status_counts, scope_learners
from compliance.statuses import Status
from tests.factories import CourseFactory, LearnerFactory, RequirementFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 28)
LEARNERS = 150
MAIN_REQUIREMENT = "Data Privacy (GDPR)"


def at_noon(day: dt.date):
    """Noon of ``day`` in the organisation's time zone, frozen."""
    return time_machine.travel(timezone.make_aware(dt.datetime(day.year, day.month, day.day, 12)), tick=False)


def seed(*, seed_value: int = 7, today: dt.date = TODAY, learners: int = LEARNERS) -> str:
    out = io.StringIO()
    with at_noon(today):
        call_command(
            "seed_demo", "--learners", str(learners), "--seed", str(seed_value), "--today", str(today), stdout=out
        )
    return out.getvalue()


def fingerprint() -> dict:
    """Everything the demo writes, by natural keys (not ids), in a fixed order."""
    return {
        "learners": sorted(Learner.objects.values_list("email", "first_name", "last_name", "active", "manager_email")),
        "memberships": sorted(Membership.objects.values_list("learner__email", "group__name")),
        "courses": sorted(Course.objects.values_list("code", "title", "url")),
        "completions": sorted(
            Completion.objects.values_list("learner__email", "course__code", "completed_on", "completed_at", "source")
        ),
        "enrollments": sorted(
            Enrollment.objects.values_list(
                "learner__email", "course__code", "enrolled_at", "started_at", "progress", "source"
            ),
            key=repr,
        ),
        "requirements": sorted(
            Requirement.objects.values_list(
                "name", "type__name", "course__code", "target_group__name", "valid_days", "warning_days", "created_at"
            ),
            key=repr,
        ),
        "course_history": sorted(
            Requirement.objects.filter(course_history__isnull=False).values_list(
                "name", "course_history__course__code", "course_history__mapped_at", "course_history__swapped_out_at"
            )
        ),
    }


def wipe_demo_data() -> None:
    Requirement.objects.all().delete()
    Enrollment.objects.all().delete()
    Completion.objects.all().delete()
    Learner.objects.all().delete()
    Course.objects.all().delete()
    LearnerGroup.objects.all().delete()


def monthly_completions(requirement: Requirement, today: dt.date) -> dict[tuple[int, int], int]:
    """Qualifying completions by learners now in scope, per month, for the 12 months ending with today's."""
    months = []
    year, month = today.year, today.month
    for _ in range(12):
        months.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    days = (
        qualifying_completions(requirement)
        .filter(learner__in=scope_learners(requirement), completed_on__lte=today)
        .values_list("completed_on", flat=True)
    )
    found = Counter((day.year, day.month) for day in days)
    return {m: found.get(m, 0) for m in reversed(months)}


# --- seed_demo ---------------------------------------------------------------------------


def test_seed_builds_the_organisation_it_describes():
    output = seed()

    assert Learner.objects.count() == LEARNERS
    assert set(LearnerGroup.objects.values_list("name", flat=True)) >= {
        "HR Department",
        "Sales Team",
        "Engineering",
        "Finance",
        "Operations",
        "Customer Support",
        "Legal",
        "Warehouse",
    }
    assert set(Course.objects.values_list("code", flat=True)) >= {
        "GDPR-101",
        "GDPR-102",
        "FIRE-100",
        "ABC-200",
        "ISEC-110",
        "HS-120",
        "DEI-101",
    }
    assert 8 <= Course.objects.count() <= 10
    requirements = {r.name: r for r in Requirement.objects.select_related("target_group", "type")}
    assert len(requirements) == 6
    assert len({r.valid_days for r in requirements.values()}) >= 3
    assert len({r.type.name for r in requirements.values()}) >= 4
    assert requirements["Manual Handling"].target_group.name == "Warehouse"
    assert requirements["Code of Conduct"].target_group.name == "HR Department"
    assert requirements[MAIN_REQUIREMENT].target_group is None
    # Created through the audited services, as the system.
    assert set(AuditEvent.objects.values_list("action", "actor_label")) == {
        ("requirement.create", "system"),
        ("requirement.update", "system"),
    }
    assert AuditEvent.objects.filter(action="requirement.create").count() == 6
    assert f"learners      {LEARNERS}" in output
    assert f"completions   {Completion.objects.count()}" in output


def test_every_learner_is_in_one_or_two_groups_with_a_unique_firstname_lastname_email():
    seed()

    per_learner = Learner.objects.annotate(n=Count("memberships")).values_list("n", flat=True)
    assert set(per_learner) <= {1, 2}
    assert 2 in set(per_learner)
    emails = list(Learner.objects.values_list("email", "first_name", "last_name"))
    assert len({e for e, _, _ in emails}) == len(emails)
    domain = demo.demo_domain()
    for email, first, last in emails:
        assert email == email.lower()
        assert re.fullmatch(rf"[a-z]+\.[a-z]+\d*@{re.escape(domain)}", email), email
        assert email.startswith(demo._email_local_part(first, last))


def test_about_two_percent_are_deactivated_and_some_have_a_manager():
    seed()

    inactive = Learner.objects.filter(active=False).count()
    assert 0.01 <= inactive / LEARNERS <= 0.03
    with_manager = Learner.objects.exclude(manager_email="")
    assert with_manager.count() > LEARNERS // 3
    managers = set(with_manager.values_list("manager_email", flat=True))
    assert managers <= set(Learner.objects.values_list("email", flat=True))


def test_every_status_shows_in_at_least_one_requirement():
    seed()

    seen = Counter()
    for requirement in Requirement.objects.all():
        counts = requirement_status_counts(requirement, TODAY)
        seen.update({status: counts[status] for status in Status})
    assert all(seen[status] > 0 for status in Status), seen


def test_main_requirement_shows_every_status():
    seed()

    counts = requirement_status_counts(Requirement.objects.get(name=MAIN_REQUIREMENT), TODAY)
    assert all(counts[status] > 0 for status in Status), counts.by_status
    assert counts.total == Learner.objects.filter(active=True).count()


@pytest.mark.parametrize("today", [TODAY, dt.date(2027, 3, 1)], ids=["mid-month", "first-of-month"])
def test_main_requirement_has_completions_in_each_of_the_last_twelve_months(today):
    seed(today=today)

    monthly = monthly_completions(Requirement.objects.get(name=MAIN_REQUIREMENT), today)
    assert len(monthly) == 12
    assert all(n > 0 for n in monthly.values()), monthly


def test_history_goes_back_two_to_three_years_with_retakes():
    seed()

    days = Completion.objects.values_list("completed_on", flat=True)
    assert TODAY - dt.timedelta(days=3 * 366) <= min(days) <= TODAY - dt.timedelta(days=2 * 365)
    retakers = Completion.objects.values("learner", "course").annotate(n=Count("pk")).filter(n__gte=2).values("learner")
    assert retakers.count() > LEARNERS // 2


def test_course_swap_keeps_completions_made_before_it_counting():
    seed()

    requirement = Requirement.objects.get(name=MAIN_REQUIREMENT)
    assert requirement.course.code == "GDPR-102"
    [swap] = requirement.course_history.select_related("course")
    assert swap.course.code == "GDPR-101"
    assert swap.mapped_at < swap.swapped_out_at < timezone.make_aware(dt.datetime(2026, 11, 1))
    old = Completion.objects.filter(course=swap.course)
    assert not old.filter(completed_at__gte=swap.swapped_out_at).exists()
    # Learners whose latest completion is of the old course, before the swap, are still valid.
    valid_on_old_course = (
        learner_statuses(requirement, TODAY)
        .filter(status__in=[Status.COMPLIANT, Status.EXPIRING_SOON])
        .filter(last_completed_on__lt=org_date(swap.swapped_out_at))
    )
    assert valid_on_old_course.exists()


def test_no_completion_is_in_the_future_and_completed_on_is_its_org_day():
    seed()

    with at_noon(TODAY):
        now = timezone.now()
    assert not Completion.objects.filter(completed_at__gt=now).exists()
    for completed_at, completed_on in Completion.objects.values_list("completed_at", "completed_on"):
        assert completed_on == org_date(completed_at)
    assert not Enrollment.objects.filter(enrolled_at__gt=now).exists()
    assert not Enrollment.objects.filter(started_at__gt=now).exists()


def test_open_enrollments_are_one_per_course_and_none_would_be_closed_by_a_completion():
    seed()

    open_enrollments = Enrollment.objects.filter(completed_at__isnull=True)
    assert open_enrollments.count() > 0
    assert not open_enrollments.values("learner", "course").annotate(n=Count("pk")).filter(n__gt=1).exists()
    # The project's own closing rule finds nothing to close.
    assert close_enrollments_by_completions(Enrollment.objects.all()) == 0


def test_some_open_enrollments_have_begun_and_some_have_not():
    seed()

    begun = Enrollment.objects.filter(completed_at__isnull=True, started_at__isnull=False)
    not_begun = Enrollment.objects.filter(completed_at__isnull=True, started_at__isnull=True)
    assert begun.exists() and not_begun.exists()
    assert all(10 <= p <= 90 for p in begun.values_list("progress", flat=True))
    assert set(not_begun.values_list("progress", flat=True)) == {0}
    for enrolled_at, started_at in begun.values_list("enrolled_at", "started_at"):
        assert started_at >= enrolled_at


def test_same_seed_and_day_give_the_same_data():
    seed(seed_value=11)
    first = fingerprint()
    wipe_demo_data()

    seed(seed_value=11)

    assert fingerprint() == first


def test_a_different_seed_gives_different_data():
    seed(seed_value=11)
    first = fingerprint()
    wipe_demo_data()

    seed(seed_value=12)

    second = fingerprint()
    assert second["learners"] != first["learners"]
    assert second["completions"] != first["completions"]


def test_the_recompute_runs_once_at_the_end():
    seed()

    [run] = RecomputeRun.objects.all()
    assert (run.trigger, run.full, run.as_of, run.state) == ("seed", True, TODAY, RecomputeRun.State.SUCCEEDED)
    for requirement in Requirement.objects.all():
        stored = Counter(
            LearnerRequirementState.objects.filter(requirement=requirement).values_list("status", flat=True)
        )
        counts = requirement_status_counts(requirement, TODAY)
        assert {Status(s): n for s, n in stored.items()} == {s: counts[s] for s in Status if counts[s]}


@pytest.mark.parametrize(
    "existing",
    [LearnerFactory, RequirementFactory, CourseFactory],
    ids=["a learner", "a requirement", "a course"],
)
def test_refuses_a_database_that_already_holds_data(existing):
    existing()
    before = fingerprint()

    with pytest.raises(CommandError, match="only added to an empty database"):
        seed()

    assert fingerprint() == before


def test_refuses_a_day_in_the_future():
    with at_noon(TODAY), pytest.raises(CommandError, match="in the future"):
        call_command("seed_demo", "--learners", "50", "--today", "2026-11-29", stdout=io.StringIO())
    assert demo_database_is_empty()


def test_refuses_a_malformed_day():
    with pytest.raises(CommandError, match="not a date"):
        call_command("seed_demo", "--today", "28/11/2026", stdout=io.StringIO())


def test_refuses_too_few_learners():
    with at_noon(TODAY), pytest.raises(CommandError, match="at least 20 learners"):
        call_command("seed_demo", "--learners", "5", stdout=io.StringIO())
    assert demo_database_is_empty()


def test_a_failure_while_writing_the_history_leaves_the_database_empty(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo, "_create_completions", broken)

    with at_noon(TODAY), pytest.raises(RuntimeError, match="disk full"):
        demo_seed(learners=50, seed=1, today=TODAY)

    assert demo_database_is_empty()
    assert not LearnerGroup.objects.exists()
    assert AuditEvent.objects.filter(action="requirement.delete").count() == 6


# --- prepare_demo ------------------------------------------------------------------------


def prepare(monkeypatch) -> str:
    monkeypatch.setattr(prepare_demo, "DEMO_LEARNERS", LEARNERS)
    monkeypatch.setattr(django_settings, "DEBUG", True)
    out = io.StringIO()
    with at_noon(TODAY):
        call_command("prepare_demo", stdout=out)
    return out.getvalue()


def printed_password(output: str) -> str | None:
    match = re.search(r"^\s*password:\s*(\S+)\s*$", output, re.MULTILINE)
    return match.group(1) if match else None


def test_prepare_demo_seeds_an_empty_database_and_creates_the_admin(monkeypatch):
    output = prepare(monkeypatch)

    assert Learner.objects.count() == LEARNERS
    assert Requirement.objects.count() == 6
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.is_active
    password = printed_password(output)
    assert password and len(password) >= 16
    assert admin.check_password(password)
    assert "http://127.0.0.1:8000/" in output
    assert "username: admin" in output
    assert output.count(password) == 1
    # The seed's recompute is the only one.
    assert list(RecomputeRun.objects.values_list("trigger", flat=True)) == ["seed"]


def test_prepare_demo_a_second_time_neither_prints_nor_changes_the_password(monkeypatch):
    prepare(monkeypatch)
    hashed = get_user_model().objects.get(username="admin").password
    learners = fingerprint()["learners"]

    output = prepare(monkeypatch)

    assert printed_password(output) is None
    assert "already exists" in output
    assert "python manage.py changepassword admin" in output
    assert get_user_model().objects.get(username="admin").password == hashed
    assert fingerprint()["learners"] == learners
    assert RecomputeRun.objects.filter(trigger="demo", state=RecomputeRun.State.SUCCEEDED).count() == 1


def test_prepare_demo_generates_a_new_random_password_each_time_it_creates_the_admin(monkeypatch):
    first = printed_password(prepare(monkeypatch))
    get_user_model().objects.filter(username="admin").delete()

    second = printed_password(prepare(monkeypatch))

    assert first and second and first != second


def test_prepare_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="for a local demo"):
        call_command("prepare_demo", stdout=io.StringIO())
    assert not get_user_model().objects.exists()
    assert not Learner.objects.exists()


def test_prepare_demo_leaves_existing_data_alone_and_recomputes(monkeypatch):
    learner = LearnerFactory()
    requirement = RequirementFactory()

    output = prepare(monkeypatch)

    assert "leaving it alone" in output
    assert list(Learner.objects.all()) == [learner]
    assert list(Requirement.objects.all()) == [requirement]
    assert not LearnerGroup.objects.exists()
    [run] = RecomputeRun.objects.all()
    assert (run.trigger, run.full, run.as_of) == ("demo", True, TODAY)
    assert LearnerRequirementState.objects.filter(requirement=requirement, learner=learner).exists()
