"""The Report's export with lines written by PostgreSQL (compliance/export_lines.py)
against the Python reference (``csv_chunks`` over ``report_export_rows``), and
how its rows stream."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import IntegrityError, connection, transaction
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from compliance.dates import org_day_start
from compliance.export_lines import (
    CSV_QUOTED_PATTERN,
    FORMULA_START_PATTERN,
    report_export_lines,
)
from compliance.exports import (
    CSV_QUOTED_CHARACTERS,
    FORMULA_STARTS,
    REPORT_EXPORT_HEADER,
    csv_cell,
    csv_chunks,
    report_export_rows,
)
from compliance.models import Completion, Enrollment, Learner, LearnerGroup, Membership, Requirement
from compliance.recompute import requirement_recompute
from compliance.selectors import requirement_for_page
from compliance.statuses import Status
from tests.factories import CourseFactory, RequirementFactory

TODAY = dt.date(2026, 11, 28)

# Text that a CSV file or a spreadsheet takes for something else: quotes, commas,
# line breaks, formula starts, non-ASCII (PostgreSQL text holds no NUL).
HOSTILE_PIECES = ['"', ",", "\r", "\n", "\r\n", "=", "+", "-", "@", "\t", "'", ";", " ", "é", "ß", "東", "😀", "a", "Z"]
hostile_text = st.lists(
    st.sampled_from(HOSTILE_PIECES)
    | st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=3),
    max_size=6,
).map("".join)
# Emails are stored as Python lower-cases them (Learner.save, imports) and the
# database checks that its lower() keeps them: ASCII, with hostile characters.
email_text = st.lists(st.sampled_from(['"', ",", "=", "+", "-", "@", "'", "a", "b", "1", "."]), max_size=8).map("".join)


def reference_file(requirement, today, *, status=None, query="") -> str:
    rows = report_export_rows(requirement, today, status=status, query=query)
    return "".join(csv_chunks(REPORT_EXPORT_HEADER, rows))


def lines_file(requirement, today, *, status=None, query="") -> str:
    return "".join(report_export_lines(requirement, today, status=status, query=query))


# --- The pieces agree with Python ---------------------------------------------------------


@given(st.lists(hostile_text, min_size=2, max_size=4))
def test_csv_cell_writes_what_the_csv_module_writes(cells):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)

    assert ",".join(map(csv_cell, cells)) + "\r\n" == buffer.getvalue()


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_sql_patterns_match_exactly_the_python_characters():
    candidates = [chr(code) for code in range(1, 128)] + ["é", "東"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c, c ~ %s, ('x' || c) ~ %s FROM unnest(%s::text[]) AS c",
            [FORMULA_START_PATTERN, CSV_QUOTED_PATTERN, candidates],
        )
        matches = cursor.fetchall()

    assert {c for c, starts, _ in matches if starts} == set(FORMULA_STARTS)
    assert {c for c, _, quoted in matches if quoted} == set(CSV_QUOTED_CHARACTERS)


# --- Byte for byte the reference's file ------------------------------------------------------

learner_specs = st.lists(
    st.fixed_dictionaries(
        {
            "email": email_text,
            "first_name": hostile_text,
            "last_name": hostile_text,
            "groups": st.sets(st.integers(0, 3), max_size=3),
            "completed_days_ago": st.none() | st.integers(0, 800),
            "enrollment": st.none() | st.tuples(st.integers(0, 30), st.booleans(), st.integers(0, 100)),
            "active": st.booleans() | st.just(True),
        }
    ),
    max_size=6,
)


@pytest.mark.postgres
@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    requirement_name=hostile_text,
    group_names=st.lists(hostile_text, min_size=4, max_size=4, unique_by=str.lower),
    learners=learner_specs,
    status=st.none() | st.sampled_from(list(Status)),
    tallied=st.booleans(),
)
def test_postgresql_writes_the_reference_file_byte_for_byte(
    frozen_today, requirement_name, group_names, learners, status, tallied
):
    """Live facts, or the recompute's stored facts (``tallied``): the rows come
    from the Report's query either way."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                requirement = build_world(requirement_name, group_names, learners)
        except IntegrityError:  # two group names equal to PostgreSQL's lower()
            assume(False)
        if tallied:
            requirement_recompute(requirement_id=requirement.pk, today=TODAY)
        requirement = requirement_for_page(requirement.pk)
        assert requirement.tally_fresh == tallied

        expected = reference_file(requirement, TODAY, status=status)
        assert lines_file(requirement, TODAY, status=status).encode("utf-8") == expected.encode("utf-8")
        transaction.set_rollback(True)


def build_world(requirement_name, group_names, learners) -> Requirement:
    """A requirement (365/30 days) for All Learners, four groups and ``learners``,
    each with a completion and an open enrollment in its course or not."""
    groups = LearnerGroup.objects.bulk_create(LearnerGroup(name=name) for name in group_names)
    course = CourseFactory()
    requirement = RequirementFactory(name=requirement_name, course=course, valid_days=365, warning_days=30)
    for index, spec in enumerate(learners):
        learner = Learner.objects.create(
            email=f"{spec['email']}{index}@x.test",
            first_name=spec["first_name"],
            last_name=spec["last_name"],
            active=spec["active"],
        )
        Membership.objects.bulk_create(Membership(learner=learner, group=groups[g]) for g in spec["groups"])
        if spec["completed_days_ago"] is not None:
            day = TODAY - dt.timedelta(days=spec["completed_days_ago"])
            Completion.objects.create(learner=learner, course=course, completed_at=org_day_start(day), completed_on=day)
        if spec["enrollment"] is not None:
            days_ago, begun, progress = spec["enrollment"]
            enrolled_at = org_day_start(TODAY - dt.timedelta(days=days_ago)) + dt.timedelta(hours=23, minutes=30)
            Enrollment.objects.create(
                learner=learner,
                course=course,
                enrolled_at=enrolled_at,
                started_at=enrolled_at if begun else None,
                progress=progress,
            )
    return requirement


# --- Streaming ------------------------------------------------------------------------------------


def many_learners(n: int) -> None:
    Learner.objects.bulk_create(Learner(email=f"l{i:04d}@example.com", last_name=f"Last{i:04d}") for i in range(n))


def open_cursors() -> list[tuple[str, bool]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, is_holdable FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
        return cursor.fetchall()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_rows_stream_from_a_cursor_without_hold_inside_a_transaction(admin_client, frozen_today):
    """Outside a transaction Django declares the cursor WITH HOLD, and PostgreSQL
    computes every row before sending the first."""
    requirement = RequirementFactory()
    many_learners(1200)

    chunks = iter(admin_client.get(f"/learning/compliance/{requirement.pk}/report/export.csv").streaming_content)
    assert not connection.in_atomic_block
    next(chunks)  # the BOM and the header
    next(chunks)  # the first 500 rows
    cursors, in_transaction = open_cursors(), connection.in_atomic_block
    rest = b"".join(chunks)

    assert [holdable for _, holdable in cursors] == [False]
    assert in_transaction
    assert rest.count(b"\r\n") == 700
    assert not connection.in_atomic_block and open_cursors() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_closing_the_response_early_closes_the_cursor_and_ends_the_transaction(admin_client, frozen_today):
    """What the server does when the client goes away in the middle of the file."""
    requirement = RequirementFactory()
    many_learners(1200)
    response = admin_client.get(f"/learning/compliance/{requirement.pk}/report/export.csv")
    chunks = iter(response.streaming_content)
    next(chunks)
    next(chunks)
    assert connection.in_atomic_block and len(open_cursors()) == 1

    response.close()

    assert not connection.in_atomic_block
    assert open_cursors() == []


@pytest.mark.django_db
def test_a_group_created_after_the_names_were_read_still_gets_its_cell():
    from compliance.export_lines import GroupCells

    known = LearnerGroup.objects.create(name="Sales")
    cells = GroupCells({known.pk: known.name})
    newcomer = LearnerGroup.objects.create(name="=HR")  # between the names query and the rows

    assert cells[f"{known.pk},{newcomer.pk}"] == "'=HR; Sales"
