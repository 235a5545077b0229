"""Import of completions: key (learner, course, org day); closes open enrollments."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from compliance.dates import org_day_start
from compliance.models import (
    AuditEvent,
    Completion,
    Enrollment,
    EnrollmentSource,
    LearnerRequirementState,
    RequirementCourseHistory,
)
from compliance.statuses import Status
from tests.factories import CompletionFactory, CourseFactory, EnrollmentFactory, LearnerFactory, RequirementFactory
from tests.import_helpers import import_csv, problems_of

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
HEADER = "email,course_code,completed_on\n"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def ana(db):
    return LearnerFactory(email="ana@example.com")


@pytest.fixture
def gdpr(db):
    return CourseFactory(code="GDPR-101")


def run(text: str, **kwargs):
    return import_csv("completions", text, **kwargs)


def rejected(text: str) -> list[str]:
    return problems_of("completions", text)


def completion_rows():
    return sorted(Completion.objects.values_list("learner__email", "course__code", "completed_at", "completed_on"))


def test_a_good_file_creates_completions_at_the_start_of_their_org_day(ana, gdpr):
    LearnerFactory(email="ben@example.com")

    result = run(HEADER + "ana@example.com,GDPR-101,2026-03-01\nBen@Example.com,gdpr-101,2026-04-02\n")

    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    assert completion_rows() == [
        ("ana@example.com", "GDPR-101", org_day_start(dt.date(2026, 3, 1)), dt.date(2026, 3, 1)),
        ("ben@example.com", "GDPR-101", org_day_start(dt.date(2026, 4, 2)), dt.date(2026, 4, 2)),
    ]
    assert set(Completion.objects.values_list("source", flat=True)) == {EnrollmentSource.IMPORT}


def test_a_datetime_with_an_offset_is_converted_to_the_org_day(ana, gdpr):
    run(HEADER + "ana@example.com,GDPR-101,2026-03-01T23:30:00-05:00\n")

    completion = Completion.objects.get()
    assert completion.completed_at == dt.datetime(2026, 3, 2, 4, 30, tzinfo=dt.UTC)
    assert completion.completed_on == dt.date(2026, 3, 2)


def test_a_datetime_without_an_offset_is_in_the_organisations_time_zone(ana, gdpr, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    with timezone.override("America/New_York"):  # whatever zone is active, the org's decides
        run(HEADER + "ana@example.com,GDPR-101,2026-03-01 00:30\n")

    completion = Completion.objects.get()
    assert completion.completed_at == dt.datetime(2026, 2, 28, 23, 30, tzinfo=dt.UTC)
    assert completion.completed_on == dt.date(2026, 3, 1)


def test_today_and_a_moment_before_now_are_accepted(ana, gdpr):
    course = CourseFactory(code="FIRE-1")

    result = run(HEADER + "ana@example.com,GDPR-101,2026-06-15\nana@example.com,FIRE-1,2026-06-15T11:59:00+00:00\n")

    assert result.created == 2
    assert Completion.objects.get(course=course).completed_at == dt.datetime(2026, 6, 15, 11, 59, tzinfo=dt.UTC)


def test_reimporting_the_same_file_adds_nothing_and_reports_every_row_unchanged(ana, gdpr):
    text = HEADER + "ana@example.com,GDPR-101,2026-03-01\nana@example.com,GDPR-101,2026-05-01T10:00:00+00:00\n"
    run(text)

    result = run(text)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert Completion.objects.count() == 2


def test_a_completion_already_recorded_on_that_org_day_keeps_its_moment(ana, gdpr):
    recorded = CompletionFactory(learner=ana, course=gdpr, completed_at=dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC))

    result = run(HEADER + "ana@example.com,GDPR-101,2026-03-01T16:00:00+00:00\n")

    assert result.unchanged == 1
    assert list(Completion.objects.values_list("pk", "completed_at")) == [(recorded.pk, recorded.completed_at)]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("nobody@example.com,GDPR-101,2026-03-01", "unknown learner nobody@example.com"),
        ("ana@example.com,NOPE-1,2026-03-01", "unknown course NOPE-1"),
        ("ana.example.com,GDPR-101,2026-03-01", 'email "ana.example.com" is not a valid email address'),
        ("ana@example.com,GDPR-101,", "completed_on is empty"),
        ("ana@example.com,GDPR-101,1/3/2026", 'completed_on "1/3/2026" is not a date (YYYY-MM-DD) or a date and time'),
        ("ana@example.com,GDPR-101,2026-13-01", 'completed_on "2026-13-01" is not a date (YYYY-MM-DD)'),
        ("ana@example.com,GDPR-101,2026-03-01T25:00", 'completed_on "2026-03-01T25:00" is not a date'),
        ("ana@example.com,GDPR-101,2026-06-16", "completed_on 2026-06-16 is in the future"),
        (
            "ana@example.com,GDPR-101,2026-06-15T12:01:00+00:00",
            "completed_on 2026-06-15T12:01:00+00:00 is in the future",
        ),
        (
            "ANA@example.com,gdpr-101,2026-03-01T18:00:00+00:00",
            "duplicate completion of gdpr-101 by ana@example.com on 2026-03-01 (also on line 2)",
        ),
    ],
)
def test_a_bad_row_is_reported_with_its_line_and_nothing_is_written(ana, gdpr, row, reason):
    EnrollmentFactory(learner=ana, course=gdpr, enrolled_at=org_day_start(dt.date(2026, 2, 1)))

    problems = rejected(HEADER + "ana@example.com,GDPR-101,2026-03-01\n" + row + "\n")

    assert len(problems) == 1
    assert problems[0].startswith(f"line 3: {reason}")
    assert Completion.objects.count() == 0
    assert Enrollment.objects.get().is_open


def test_a_completion_closes_the_open_enrollment_enrolled_on_or_before_its_day(ana, gdpr):
    ben = LearnerFactory(email="ben@example.com")
    on_the_day = EnrollmentFactory(learner=ana, course=gdpr, enrolled_at=dt.datetime(2026, 3, 1, 15, tzinfo=dt.UTC))
    later = EnrollmentFactory(learner=ben, course=gdpr, enrolled_at=org_day_start(dt.date(2026, 3, 2)), progress=30)

    result = run(HEADER + "ana@example.com,GDPR-101,2026-03-01T08:00:00+00:00\nben@example.com,GDPR-101,2026-03-01\n")

    assert result.enrollments_closed == 1
    on_the_day.refresh_from_db()
    later.refresh_from_db()
    assert (on_the_day.completed_at, on_the_day.progress) == (dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC), 100)
    assert (later.completed_at, later.progress) == (None, 30)


def test_an_import_leaves_the_open_enrollments_of_learners_it_does_not_name_alone(ana, gdpr):
    # Ben's open enrollment is one an older completion of his would close (data
    # that came in some other way); Ana's import must not touch it.
    ben = LearnerFactory(email="ben@example.com")
    bens = EnrollmentFactory(learner=ben, course=gdpr, enrolled_at=org_day_start(dt.date(2026, 1, 5)), progress=20)
    CompletionFactory(learner=ben, course=gdpr, day=dt.date(2026, 2, 1))

    result = run(HEADER + "ana@example.com,GDPR-101,2026-03-01\n")

    assert (result.created, result.enrollments_closed) == (1, 0)
    bens.refresh_from_db()
    assert (bens.completed_at, bens.progress) == (None, 20)
    assert not AuditEvent.objects.filter(object_type="enrollment").exists()


def test_an_import_leaves_a_named_learners_enrollments_in_other_courses_alone(ana, gdpr):
    # Ana and Fire-1 are both in the file, but not together: her Fire-1 enrollment is not the file's.
    fire = CourseFactory(code="FIRE-1")
    ben = LearnerFactory(email="ben@example.com")
    anas_fire = EnrollmentFactory(learner=ana, course=fire, enrolled_at=org_day_start(dt.date(2026, 1, 5)))
    CompletionFactory(learner=ana, course=fire, day=dt.date(2026, 2, 1))
    bens_fire = EnrollmentFactory(learner=ben, course=fire, enrolled_at=org_day_start(dt.date(2026, 1, 5)))

    result = run(HEADER + "ana@example.com,GDPR-101,2026-03-01\nben@example.com,FIRE-1,2026-03-01\n")

    assert result.enrollments_closed == 1
    anas_fire.refresh_from_db()
    bens_fire.refresh_from_db()
    assert anas_fire.is_open
    assert bens_fire.completed_at == org_day_start(dt.date(2026, 3, 1))


def test_a_dry_run_counts_like_a_real_run_and_writes_nothing(ana, gdpr):
    enrollment = EnrollmentFactory(learner=ana, course=gdpr, enrolled_at=org_day_start(dt.date(2026, 2, 1)))

    result = run(HEADER + "ana@example.com,GDPR-101,2026-03-01\n", dry_run=True)

    assert (result.dry_run, result.created, result.enrollments_closed) == (True, 1, 1)
    assert Completion.objects.count() == 0
    enrollment.refresh_from_db()
    assert enrollment.is_open
    assert AuditEvent.objects.count() == 0


def test_an_import_is_audited_once_in_sum_and_once_per_completion_and_recorded_by_its_actor(ana, gdpr, admin_user):
    run(HEADER + "ana@example.com,GDPR-101,2026-03-01\n", actor=admin_user)

    completion = Completion.objects.get()
    assert completion.recorded_by == admin_user
    summary = AuditEvent.objects.get(action="import.completions")
    assert (summary.object_type, summary.actor_label) == ("import", "alice")
    assert summary.after == {"rows": 1, "created": 1, "updated": 0, "unchanged": 0, "enrollments_closed": 0}
    created = AuditEvent.objects.get(action="import.create")
    assert (created.object_type, created.object_id, created.actor_id) == (
        "completion",
        str(completion.pk),
        admin_user.pk,
    )
    assert created.before is None
    assert created.after == {
        "learner": ana.pk,
        "course": gdpr.pk,
        "completed_at": "2026-03-01 00:00:00+00:00",
        "completed_on": "2026-03-01",
        "import_file": "upload.csv",
        "import_event": summary.pk,
    }
    assert AuditEvent.objects.count() == 2


def test_an_enrollment_the_import_closes_is_audited_with_its_before_and_after(ana, gdpr):
    enrollment = EnrollmentFactory(
        learner=ana, course=gdpr, enrolled_at=org_day_start(dt.date(2026, 2, 1)), progress=40
    )

    run(HEADER + "ana@example.com,GDPR-101,2026-03-01T08:00:00+00:00\n")

    event = AuditEvent.objects.get(action="import.update")
    assert (event.object_type, event.object_id, event.object_repr) == (
        "enrollment",
        str(enrollment.pk),
        "ana@example.com in GDPR-101 (closed)",
    )
    assert event.before == {"progress": 40, "completed_at": None}
    assert event.after == {
        "progress": 100,
        "completed_at": "2026-03-01 08:00:00+00:00",
        "import_file": "upload.csv",
        "import_event": AuditEvent.objects.get(action="import.completions").pk,
    }


def test_a_row_already_recorded_leaves_no_audit_event_of_its_own(ana, gdpr):
    CompletionFactory(learner=ana, course=gdpr, day=dt.date(2026, 3, 1))

    run(HEADER + "ana@example.com,GDPR-101,2026-03-01\n")

    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["import.completions"]


def test_an_import_recomputes_the_requirements_of_its_courses(ana, gdpr, django_capture_on_commit_callbacks):
    requirement = RequirementFactory(course=gdpr, valid_days=365, warning_days=30)
    RequirementFactory()  # another course: not recomputed

    with django_capture_on_commit_callbacks(execute=True):
        result = run(HEADER + "ana@example.com,GDPR-101,2026-03-01\n")

    assert result.requirement_ids == {requirement.pk}
    states = list(
        LearnerRequirementState.objects.values_list("requirement_id", "learner_id", "status", "last_completed_on")
    )
    assert states == [(requirement.pk, ana.pk, Status.COMPLIANT.value, dt.date(2026, 3, 1))]


def test_a_completion_of_a_swapped_out_course_recomputes_its_old_requirement(ana, gdpr):
    requirement = RequirementFactory()
    RequirementCourseHistory.objects.create(
        requirement=requirement, course=gdpr, mapped_at=NOW - dt.timedelta(days=400), swapped_out_at=NOW
    )

    result = run(HEADER + "ana@example.com,GDPR-101,2026-03-01\n", dry_run=True)

    assert result.requirement_ids == {requirement.pk}


def test_an_import_that_adds_nothing_queues_no_recompute(ana, gdpr, django_capture_on_commit_callbacks):
    RequirementFactory(course=gdpr)
    CompletionFactory(learner=ana, course=gdpr, day=dt.date(2026, 3, 1))

    with django_capture_on_commit_callbacks() as callbacks:
        result = run(HEADER + "ana@example.com,GDPR-101,2026-03-01\n")

    assert result.unchanged == 1
    assert callbacks == []
