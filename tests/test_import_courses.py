"""Import of courses: key code, matched case-insensitively."""

import pytest

from compliance.models import AuditEvent, Course
from tests.factories import CourseFactory, RequirementFactory
from tests.import_helpers import import_csv, problems_of

pytestmark = pytest.mark.django_db

GOOD = "code,title,url\nGDPR-101,Data Privacy Basics,https://lms.example.com/gdpr\nFIRE-1,Fire Safety,\n"


def run(text: str, **kwargs):
    return import_csv("courses", text, **kwargs)


def rejected(text: str) -> list[str]:
    return problems_of("courses", text)


def test_a_good_file_creates_courses():
    result = run(GOOD)

    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    assert set(Course.objects.values_list("code", "title", "url")) == {
        ("GDPR-101", "Data Privacy Basics", "https://lms.example.com/gdpr"),
        ("FIRE-1", "Fire Safety", ""),
    }


def test_reimporting_the_same_file_duplicates_nothing_and_reports_every_row_unchanged():
    run(GOOD)

    result = run(GOOD)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert Course.objects.count() == 2


def test_codes_match_case_insensitively_and_keep_their_spelling():
    CourseFactory(code="GDPR-101", title="Old title")

    result = run("code,title\ngdpr-101,New title\n")

    assert (result.created, result.updated) == (0, 1)
    assert list(Course.objects.values_list("code", "title")) == [("GDPR-101", "New title")]


def test_without_the_url_column_the_url_is_left_as_it_is():
    CourseFactory(code="FIRE-1", title="Fire Safety", url="https://lms.example.com/fire")

    result = run("code,title\nFIRE-1,Fire Safety\n")

    assert result.unchanged == 1
    assert Course.objects.get().url == "https://lms.example.com/fire"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (",No code,", "code is empty"),
        ("NEW-2,,", "title is empty"),
        ("NEW-2,Title,ftp://files.example.com/x", 'url "ftp://files.example.com/x" is not a web address'),
        ("NEW-2,Title,not a url", 'url "not a url" is not a web address'),
        ("X" * 65 + ",Title,", "code is longer than 64 characters"),
        ("new-1,Again,", "duplicate code new-1 (also on line 2)"),
    ],
)
def test_a_bad_row_is_reported_with_its_line_and_nothing_is_written(row, reason):
    CourseFactory(code="KEEP-1", title="Kept")

    problems = rejected(f"code,title,url\nNEW-1,New,\n{row}\n")

    assert len(problems) == 1
    assert problems[0].startswith("line 3: ")
    assert reason in problems[0]
    assert list(Course.objects.values_list("code", "title")) == [("KEEP-1", "Kept")]


def test_a_dry_run_counts_and_writes_nothing():
    CourseFactory(code="FIRE-1", title="Fire")

    result = run(GOOD, dry_run=True)

    assert (result.created, result.updated, result.unchanged) == (1, 1, 0)
    assert list(Course.objects.values_list("code", "title")) == [("FIRE-1", "Fire")]
    assert AuditEvent.objects.count() == 0


def test_a_courses_import_is_audited_and_recomputes_nothing(django_capture_on_commit_callbacks):
    RequirementFactory()

    with django_capture_on_commit_callbacks() as callbacks:
        result = run(GOOD)

    assert result.requirement_ids == frozenset()
    assert callbacks == []
    assert AuditEvent.objects.filter(action="import.courses").count() == 1


def test_each_course_created_or_updated_is_audited_with_its_fields_and_the_file():
    fire = CourseFactory(code="FIRE-1", title="Fire", url="https://lms.example.com/fire")
    CourseFactory(code="DSE-2", title="Display Screens")

    run(GOOD + "dse-2,Display Screens,\n")

    summary = AuditEvent.objects.get(action="import.courses")
    tag = {"import_file": "upload.csv", "import_event": summary.pk}
    gdpr = Course.objects.get(code="GDPR-101")
    created = AuditEvent.objects.get(action="import.create")
    assert (created.object_type, created.object_id, created.object_repr) == (
        "course",
        str(gdpr.pk),
        "GDPR-101 · Data Privacy Basics",
    )
    assert (created.before, created.after) == (
        None,
        {"code": "GDPR-101", "title": "Data Privacy Basics", "url": "https://lms.example.com/gdpr", **tag},
    )
    updated = AuditEvent.objects.get(action="import.update")  # DSE-2 is unchanged: no event
    assert (updated.object_type, updated.object_id) == ("course", str(fire.pk))
    assert updated.before == {"title": "Fire", "url": "https://lms.example.com/fire"}
    assert updated.after == {"title": "Fire Safety", "url": "", **tag}
