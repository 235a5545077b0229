"""What every import checks of the file itself: size, encoding, header, rows."""

import datetime as dt
import io

import pytest
import time_machine

from compliance.imports import ImportRejected, run_import
from compliance.models import AuditEvent, Completion, Course, Enrollment, Learner
from tests.factories import CourseFactory, LearnerFactory
from tests.import_helpers import problems_of

pytestmark = pytest.mark.django_db


def rejected(data: bytes, kind: str = "learners") -> list[str]:
    return problems_of(kind, data)


BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize(
    ("kind", "text", "model"),
    [
        ("learners", "email,first_name,last_name\nana@example.com,Ana,Alves\n", Learner),
        ("courses", "code,title\nFIRE-1,Fire Safety\n", Course),
        ("enrollments", "email,course_code,enrolled_on\nben@example.com,GDPR-101,2026-03-01\n", Enrollment),
        ("completions", "email,course_code,completed_on\nben@example.com,GDPR-101,2026-03-01\n", Completion),
    ],
)
def test_a_byte_order_mark_is_accepted_by_every_kind(kind, text, model):
    # The BOM comes before the first column's name: were it read as part of it, that column would be unknown.
    LearnerFactory(email="ben@example.com")
    CourseFactory(code="GDPR-101")
    before = model.objects.count()

    with time_machine.travel(dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC), tick=False):
        result = run_import(kind=kind, path_or_file=io.BytesIO(BOM + text.encode()))

    assert (result.rows, result.created) == (1, 1)
    assert model.objects.count() == before + 1


def test_columns_are_found_by_name_in_any_order_and_any_case():
    result = run_import(
        kind="learners", path_or_file=io.BytesIO(b" Last_Name ,EMAIL,first_name\nAlves,ana@x.org,Ana\n")
    )

    assert result.created == 1
    assert Learner.objects.filter(email="ana@x.org", first_name="Ana", last_name="Alves").exists()


def test_a_path_is_read_and_its_name_recorded(tmp_path):
    path = tmp_path / "courses-2026.csv"
    path.write_bytes(b"code,title\r\nGDPR-101,GDPR\r\n")

    result = run_import(kind="courses", path_or_file=str(path))

    assert (result.file_name, result.created) == ("courses-2026.csv", 1)
    assert AuditEvent.objects.get(action="import.courses").object_repr == "courses-2026.csv"
    assert AuditEvent.objects.get(action="import.create").after["import_file"] == "courses-2026.csv"


def test_line_ends_may_be_lf_crlf_or_a_lone_cr():
    result = run_import(kind="courses", path_or_file=io.BytesIO(b"code,title\rA-1,One\r\nB-2,Two\nC-3,Three"))

    assert result.created == 3
    assert sorted(Course.objects.values_list("code", flat=True)) == ["A-1", "B-2", "C-3"]


def test_a_malformed_quote_is_reported_with_its_line():
    assert rejected(b'code,title\nA-1,"One" and more\n', kind="courses") == [
        "line 2: not readable as CSV (',' expected after '\"')"
    ]


def test_invalid_utf8_is_refused_with_its_line_and_nothing_is_written():
    problems = rejected(b"code,title\nA-1,Fine\nB-2,Caf\xe9 latin-1\n", kind="courses")

    assert problems == ["line 3: not valid UTF-8 (byte 0xe9); save the file as CSV UTF-8 and try again"]
    assert Course.objects.count() == 0


def test_a_missing_column_is_reported_on_line_1():
    assert rejected(b"email,first_name\na@x.org,A\n") == ["line 1: missing column last_name"]


def test_an_unknown_column_is_reported_on_line_1_so_a_typo_loses_no_data():
    problems = rejected(b"email,first_name,last_name,emial\na@x.org,A,A,b@x.org\n")

    assert problems == [
        'line 1: unknown column "emial" (the columns are: email, first_name, last_name, groups, active, manager_email)'
    ]
    assert Learner.objects.count() == 0


def test_a_column_given_twice_is_reported_on_line_1():
    assert rejected(b"code,title,Code\nA,B,C\n", kind="courses") == ['line 1: column "code" appears twice']


def test_a_semicolon_separated_file_gets_a_hint():
    problems = rejected(b"code;title\nA;B\n", kind="courses")

    assert problems[0] == "line 1: the columns must be separated by commas, not semicolons"


def test_an_empty_file_needs_a_header():
    assert rejected(b"") == ["line 1: the file is empty; a header row is required"]


def test_a_header_without_rows_imports_nothing():
    result = run_import(kind="courses", path_or_file=io.BytesIO(b"code,title\n"))

    assert (result.rows, result.created, result.updated, result.unchanged) == (0, 0, 0, 0)


def test_a_row_of_the_wrong_width_is_a_bad_row():
    problems = rejected(b"code,title\nA-1,One\nB-2,Two,extra\nC-3\n", kind="courses")

    assert problems == [
        "line 3: 3 cells, but the header has 2 columns",
        "line 4: 1 cells, but the header has 2 columns",
    ]
    assert Course.objects.count() == 0


def test_line_numbers_are_lines_of_the_file_counting_blank_lines_and_quoted_line_breaks():
    data = b'code,title\n\nA-1,"Two\nlines"\n,No code\n'

    assert rejected(data, kind="courses") == ["line 5: code is empty"]


def test_a_file_larger_than_the_limit_is_refused_before_it_is_read(settings, tmp_path):
    settings.IMPORT_MAX_MB = 100 / (1024 * 1024)  # 100 bytes
    path = tmp_path / "big.csv"
    path.write_bytes(b"\xff" * 101)  # unreadable: reading it would fail on the encoding

    with pytest.raises(ImportRejected) as excinfo:
        run_import(kind="courses", path_or_file=path)

    assert excinfo.value.problems == ["the file is 101 bytes, larger than the limit of 100 bytes (IMPORT_MAX_MB)"]


def test_an_uploaded_file_larger_than_the_limit_is_refused_before_it_is_read(settings):
    settings.IMPORT_MAX_MB = 1
    upload = io.BytesIO(b"code,title\n" + b"X,Y\n" * 300_000)  # 1.1 MB

    with pytest.raises(ImportRejected) as excinfo:
        run_import(kind="courses", path_or_file=upload)

    assert excinfo.value.problems == ["the file is 1.1 MB, larger than the limit of 1.0 MB (IMPORT_MAX_MB)"]
    assert upload.tell() == 0
    assert Course.objects.count() == 0


def test_a_file_at_the_limit_is_accepted(settings):
    data = b"code,title\nA-1,One\n"
    settings.IMPORT_MAX_MB = len(data) / (1024 * 1024)

    assert run_import(kind="courses", path_or_file=io.BytesIO(data)).created == 1


def test_an_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown import kind 'people'"):
        run_import(kind="people", path_or_file=io.BytesIO(b"email\n"))
