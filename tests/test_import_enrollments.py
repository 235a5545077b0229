"""Import of enrollments: key (learner, course) open enrollment; the order of
imports of enrollments and completions does not matter."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from compliance.dates import org_day_start
from compliance.models import AuditEvent, Completion, Enrollment, EnrollmentSource, LearnerRequirementState
from compliance.statuses import Status
from tests.factories import CompletionFactory, CourseFactory, EnrollmentFactory, LearnerFactory, RequirementFactory
from tests.import_helpers import import_csv, problems_of

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
HEADER = "email,course_code,enrolled_on,started_on,progress\n"


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


def run(text: str, kind: str = "enrollments", **kwargs):
    return import_csv(kind, text, **kwargs)


def rejected(text: str) -> list[str]:
    return problems_of("enrollments", text)


def day(text: str) -> dt.datetime:
    return org_day_start(dt.date.fromisoformat(text))


def enrollment_rows():
    return sorted(
        Enrollment.objects.values_list(
            "learner__email", "course__code", "enrolled_at", "started_at", "progress", "completed_at"
        )
    )


def test_a_good_file_creates_open_enrollments_at_the_start_of_their_org_days(ana, gdpr):
    LearnerFactory(email="ben@example.com")

    result = run(HEADER + "ana@example.com,GDPR-101,2026-03-01,2026-03-02,40\nben@example.com,GDPR-101,2026-03-05,,\n")

    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    assert enrollment_rows() == [
        ("ana@example.com", "GDPR-101", day("2026-03-01"), day("2026-03-02"), 40, None),
        ("ben@example.com", "GDPR-101", day("2026-03-05"), None, 0, None),
    ]
    assert set(Enrollment.objects.values_list("source", flat=True)) == {EnrollmentSource.IMPORT}


def test_dates_are_org_days_in_the_organisations_time_zone(ana, gdpr, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    with timezone.override("America/New_York"):  # whatever zone is active, the org's decides
        run(HEADER + "ana@example.com,GDPR-101,2026-03-01,,\n")

    assert Enrollment.objects.get().enrolled_at == dt.datetime(2026, 2, 28, 23, 0, tzinfo=dt.UTC)


def test_emails_and_course_codes_match_whatever_their_case(ana, gdpr):
    result = run(HEADER + "ANA@Example.com,gdpr-101,2026-03-01,,\n")

    assert result.created == 1
    assert Enrollment.objects.get().learner == ana


def test_the_started_on_and_progress_columns_may_be_left_out(ana, gdpr):
    result = run("email,course_code,enrolled_on\nana@example.com,GDPR-101,2026-03-01\n")

    assert result.created == 1
    assert enrollment_rows() == [("ana@example.com", "GDPR-101", day("2026-03-01"), None, 0, None)]


def test_reimporting_the_same_file_duplicates_nothing_and_reports_every_row_unchanged(ana, gdpr):
    text = HEADER + "ana@example.com,GDPR-101,2026-03-01,2026-03-02,40\n"
    run(text)

    result = run(text)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
    assert Enrollment.objects.count() == 1


def test_a_row_updates_the_open_enrollment_of_its_learner_and_course(ana, gdpr):
    EnrollmentFactory(learner=ana, course=gdpr, enrolled_at=day("2026-03-01"), progress=10)

    result = run(HEADER + "ana@example.com,GDPR-101,2026-03-01,2026-03-04,60\n")

    assert (result.created, result.updated) == (0, 1)
    assert enrollment_rows() == [("ana@example.com", "GDPR-101", day("2026-03-01"), day("2026-03-04"), 60, None)]


def test_the_open_enrollment_takes_the_files_enrolled_day(ana, gdpr):
    EnrollmentFactory(learner=ana, course=gdpr, enrolled_at=dt.datetime(2026, 3, 9, 15, 30, tzinfo=dt.UTC))

    result = run(HEADER + "ana@example.com,GDPR-101,2026-03-01,,\n")

    assert result.updated == 1
    assert enrollment_rows() == [("ana@example.com", "GDPR-101", day("2026-03-01"), None, 0, None)]


def test_an_enrollment_made_on_the_same_day_keeps_its_moment(ana, gdpr):
    moment = dt.datetime(2026, 3, 1, 15, 30, tzinfo=dt.UTC)
    EnrollmentFactory(learner=ana, course=gdpr, enrolled_at=moment, source=EnrollmentSource.REMEDIATION)

    result = run(HEADER + "ana@example.com,GDPR-101,2026-03-01,,\n")

    assert result.unchanged == 1
    assert Enrollment.objects.get().enrolled_at == moment


def test_an_empty_started_on_never_resets_an_enrollment_that_has_begun(ana, gdpr):
    EnrollmentFactory(
        learner=ana, course=gdpr, enrolled_at=day("2026-03-01"), started_at=day("2026-03-02"), progress=50
    )

    result = run(HEADER + "ana@example.com,GDPR-101,2026-03-01,,\n")

    assert result.unchanged == 1
    assert enrollment_rows() == [("ana@example.com", "GDPR-101", day("2026-03-01"), day("2026-03-02"), 50, None)]


def test_an_empty_started_on_with_a_later_enrolled_day_than_the_recorded_start_is_a_bad_row(ana, gdpr):
    EnrollmentFactory(learner=ana, course=gdpr, enrolled_at=day("2026-03-01"), started_at=day("2026-03-02"))

    problems = rejected(HEADER + "ana@example.com,GDPR-101,2026-03-05,,\n")

    assert problems == [
        "line 2: the enrollment began on 2026-03-02, before enrolled_on 2026-03-05; give its started_on"
    ]
    assert Enrollment.objects.get().enrolled_at == day("2026-03-01")


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("nobody@example.com,GDPR-101,2026-03-01,,", "unknown learner nobody@example.com"),
        ("ana@example.com,NOPE-1,2026-03-01,,", "unknown course NOPE-1"),
        ("ana@,GDPR-101,2026-03-01,,", 'email "ana@" is not a valid email address'),
        ("ana@example.com,GDPR-101,01/03/2026,,", 'enrolled_on "01/03/2026" is not a date (YYYY-MM-DD)'),
        ("ana@example.com,GDPR-101,2026-02-30,,", 'enrolled_on "2026-02-30" is not a date (YYYY-MM-DD)'),
        ("ana@example.com,GDPR-101,,,", "enrolled_on is empty"),
        ("ana@example.com,GDPR-101,2026-06-16,,", "enrolled_on 2026-06-16 is in the future"),
        ("ana@example.com,GDPR-101,2026-03-01,2026-06-16,", "started_on 2026-06-16 is in the future"),
        ("ana@example.com,GDPR-101,2026-03-01,2026-02-28,", "started_on 2026-02-28 is before enrolled_on 2026-03-01"),
        ("ana@example.com,GDPR-101,2026-03-01,,101", 'progress must be a whole number from 0 to 100, not "101"'),
        ("ana@example.com,GDPR-101,2026-03-01,,-1", 'progress must be a whole number from 0 to 100, not "-1"'),
        ("ana@example.com,GDPR-101,2026-03-01,,50.5", 'progress must be a whole number from 0 to 100, not "50.5"'),
        ("ana@example.com,GDPR-101,2026-03-01,,half", 'progress must be a whole number from 0 to 100, not "half"'),
        (
            "BEN@example.com,gdpr-101,2026-04-01,,",
            "duplicate enrollment of ben@example.com in gdpr-101 (also on line 2)",
        ),
    ],
)
def test_a_bad_row_is_reported_with_its_line_and_nothing_is_written(ana, gdpr, row, reason):
    LearnerFactory(email="ben@example.com")
    EnrollmentFactory(learner=ana, course=gdpr, enrolled_at=day("2026-01-01"), progress=5)
    before = enrollment_rows()

    problems = rejected(HEADER + "ben@example.com,GDPR-101,2026-03-01,,\n" + row + "\n")

    assert problems == [f"line 3: {reason}"]
    assert enrollment_rows() == before


def test_a_row_with_an_unknown_learner_and_course_reports_both(gdpr):
    assert rejected(HEADER + "x@example.com,X-1,2026-03-01,,\n") == [
        "line 2: unknown learner x@example.com; unknown course X-1"
    ]


def test_today_is_not_in_the_future(ana, gdpr):
    assert run(HEADER + "ana@example.com,GDPR-101,2026-06-15,2026-06-15,1\n").created == 1


def test_an_enrollment_before_an_existing_completion_is_stored_closed_by_the_earliest_one_on_or_after_it(ana, gdpr):
    CompletionFactory(learner=ana, course=gdpr, completed_at=dt.datetime(2026, 2, 1, 9, 0, tzinfo=dt.UTC))
    CompletionFactory(learner=ana, course=gdpr, completed_at=dt.datetime(2026, 3, 5, 9, 0, tzinfo=dt.UTC))
    CompletionFactory(learner=ana, course=gdpr, completed_at=dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC))

    result = run(HEADER + "ana@example.com,GDPR-101,2026-03-01,2026-03-02,40\n")

    assert (result.created, result.enrollments_closed) == (1, 1)
    enrollment = Enrollment.objects.get()
    assert (enrollment.completed_at, enrollment.progress) == (dt.datetime(2026, 3, 5, 9, 0, tzinfo=dt.UTC), 100)


def test_a_completion_on_the_enrolled_day_closes_the_imported_enrollment(ana, gdpr):
    CompletionFactory(learner=ana, course=gdpr, completed_at=dt.datetime(2026, 3, 1, 17, 0, tzinfo=dt.UTC))

    run(HEADER + "ana@example.com,GDPR-101,2026-03-01,,\n")

    assert Enrollment.objects.get().completed_at == dt.datetime(2026, 3, 1, 17, 0, tzinfo=dt.UTC)


def test_an_enrollment_after_the_latest_completion_stays_open(ana, gdpr):
    CompletionFactory(learner=ana, course=gdpr, day=dt.date(2026, 1, 10))

    result = run(HEADER + "ana@example.com,GDPR-101,2026-03-01,,\n")

    assert result.enrollments_closed == 0
    assert Enrollment.objects.get().is_open


def test_reimporting_an_enrollment_closed_by_a_completion_adds_no_second_one(ana, gdpr):
    CompletionFactory(learner=ana, course=gdpr, day=dt.date(2026, 3, 5))
    text = HEADER + "ana@example.com,GDPR-101,2026-03-01,2026-03-02,40\n"
    run(text)

    result = run(text)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
    assert Enrollment.objects.count() == 1
    assert Enrollment.objects.get().progress == 100  # a closed enrollment is history: the import leaves it


def test_the_order_of_enrollment_and_completion_imports_does_not_matter(gdpr):
    LearnerFactory(email="ana@example.com")
    LearnerFactory(email="ben@example.com")
    enrollments = HEADER + "ana@example.com,GDPR-101,2026-03-01,2026-03-02,40\nben@example.com,GDPR-101,2026-05-01,,\n"
    completions = (
        "email,course_code,completed_on\nana@example.com,GDPR-101,2026-03-20\nben@example.com,GDPR-101,2026-04-01\n"
    )

    run(enrollments)
    run(completions, kind="completions")
    enrollments_first = enrollment_rows()
    Enrollment.objects.all().delete()
    Completion.objects.all().delete()
    run(completions, kind="completions")
    run(enrollments)
    completions_first = enrollment_rows()

    assert (
        enrollments_first
        == completions_first
        == [
            ("ana@example.com", "GDPR-101", day("2026-03-01"), day("2026-03-02"), 100, day("2026-03-20")),
            ("ben@example.com", "GDPR-101", day("2026-05-01"), None, 0, None),
        ]
    )


def test_a_dry_run_counts_like_a_real_run_and_writes_nothing(ana, gdpr):
    CompletionFactory(learner=ana, course=gdpr, day=dt.date(2026, 3, 5))

    result = run(HEADER + "ana@example.com,GDPR-101,2026-03-01,,\n", dry_run=True)

    assert (result.dry_run, result.created, result.enrollments_closed) == (True, 1, 1)
    assert Enrollment.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_an_import_is_audited_once_in_sum_and_once_per_enrollment_and_enrolled_by_its_actor(ana, gdpr, admin_user):
    run(HEADER + "ana@example.com,GDPR-101,2026-03-01,,\n", actor=admin_user)

    enrollment = Enrollment.objects.get()
    assert enrollment.enrolled_by == admin_user
    summary = AuditEvent.objects.get(action="import.enrollments")
    assert summary.actor_id == admin_user.pk
    assert summary.after == {"rows": 1, "created": 1, "updated": 0, "unchanged": 0, "enrollments_closed": 0}
    created = AuditEvent.objects.get(action="import.create")
    assert (created.object_type, created.object_id, created.actor_id) == (
        "enrollment",
        str(enrollment.pk),
        admin_user.pk,
    )
    assert (created.object_repr, created.before) == ("ana@example.com in GDPR-101 (open)", None)
    assert created.after == {
        "learner": ana.pk,
        "course": gdpr.pk,
        "enrolled_at": "2026-03-01 00:00:00+00:00",
        "started_at": None,
        "progress": 0,
        "completed_at": None,
        "import_file": "upload.csv",
        "import_event": summary.pk,
    }
    assert AuditEvent.objects.count() == 2


def test_an_updated_enrollment_is_audited_with_the_fields_that_changed(ana, gdpr):
    enrollment = EnrollmentFactory(learner=ana, course=gdpr, enrolled_at=day("2026-03-01"), progress=10)

    run(HEADER + "ana@example.com,GDPR-101,2026-03-01,2026-03-04,60\n")

    event = AuditEvent.objects.get(action="import.update")
    assert (event.object_type, event.object_id) == ("enrollment", str(enrollment.pk))
    assert event.before == {"started_at": None, "progress": 10}
    assert event.after == {
        "started_at": "2026-03-04 00:00:00+00:00",
        "progress": 60,
        "import_file": "upload.csv",
        "import_event": AuditEvent.objects.get(action="import.enrollments").pk,
    }


def test_an_enrollment_stored_closed_is_audited_once_as_created_closed(ana, gdpr):
    CompletionFactory(learner=ana, course=gdpr, completed_at=dt.datetime(2026, 3, 5, 9, 0, tzinfo=dt.UTC))

    run(HEADER + "ana@example.com,GDPR-101,2026-03-01,,\n")

    event = AuditEvent.objects.exclude(action="import.enrollments").get()
    assert (event.action, event.object_repr) == ("import.create", "ana@example.com in GDPR-101 (closed)")
    assert (event.after["progress"], event.after["completed_at"]) == (100, "2026-03-05 09:00:00+00:00")


def test_an_unchanged_row_leaves_no_audit_event_of_its_own(ana, gdpr):
    EnrollmentFactory(learner=ana, course=gdpr, enrolled_at=day("2026-03-01"), progress=10)

    run(HEADER + "ana@example.com,GDPR-101,2026-03-01,,10\n")

    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["import.enrollments"]


def test_an_import_leaves_the_open_enrollments_of_learners_it_does_not_name_alone(ana, gdpr):
    # Ben's open enrollment is one an older completion of his would close (data
    # that came in some other way); Ana's import must not touch it.
    ben = LearnerFactory(email="ben@example.com")
    bens = EnrollmentFactory(learner=ben, course=gdpr, enrolled_at=day("2026-01-05"), progress=20)
    CompletionFactory(learner=ben, course=gdpr, day=dt.date(2026, 2, 1))
    CompletionFactory(learner=ana, course=gdpr, day=dt.date(2026, 3, 5))

    result = run(HEADER + "ana@example.com,GDPR-101,2026-03-01,,\n")

    assert (result.created, result.enrollments_closed) == (1, 1)  # Ana's, stored closed
    bens.refresh_from_db()
    assert (bens.completed_at, bens.progress) == (None, 20)
    assert not AuditEvent.objects.filter(object_type="enrollment", object_id=str(bens.pk)).exists()


def test_an_import_recomputes_the_requirements_of_its_courses(ana, gdpr, django_capture_on_commit_callbacks):
    requirement = RequirementFactory(course=gdpr)
    other = RequirementFactory()  # another course: not recomputed

    with django_capture_on_commit_callbacks(execute=True):
        result = run(HEADER + "ana@example.com,GDPR-101,2026-03-01,2026-03-02,10\n")

    assert result.requirement_ids == {requirement.pk}
    states = list(LearnerRequirementState.objects.values_list("requirement_id", "learner_id", "status"))
    assert states == [(requirement.pk, ana.pk, Status.IN_PROGRESS.value)]
    assert other.states.count() == 0
