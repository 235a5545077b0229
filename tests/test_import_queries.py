"""An import checks and writes a whole file with a fixed number of queries:
never one per row.

The one thing that varies with the row count is how Django splits a bulk
INSERT or UPDATE to respect the database's limit on parameters per statement
(SQLite's 999; PostgreSQL has none below the import's own ``WRITE_BATCH``), so
each test adds ``statements(...)`` for those, as Django computes them; that
includes the INSERTs of the per-record audit events (``import.create`` and
``import.update``).
"""

import datetime as dt
import io
import math

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compliance.dates import org_day_start
from compliance.imports import run_import
from compliance.imports.batching import WRITE_BATCH
from compliance.models import AuditEvent, Completion, Course, Enrollment, Learner, Membership
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

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def statements(rows: int, model, *, update_fields: list[str] | None = None) -> int:
    """The statements of one bulk_create (or bulk_update of ``update_fields``) of ``rows`` rows."""
    if rows == 0:
        return 0
    if update_fields is None:
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    else:
        pk = model._meta.pk
        fields = [pk, pk, *(model._meta.get_field(name) for name in update_fields)]
    batch = min(WRITE_BATCH, connection.ops.bulk_batch_size(fields, list(range(rows))))
    return math.ceil(rows / batch)


def queries(kind: str, text: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        run_import(kind=kind, path_or_file=io.BytesIO(text.encode()))
    return len(captured)


@pytest.fixture
def gdpr(db):
    course = CourseFactory(code="GDPR-101")
    RequirementFactory(course=course)
    return course


def learners_file(n: int, tag: str) -> str:
    """Half the rows update a learner (and move them from group Old), half create one."""
    old = GroupFactory(name=f"Old {tag}")
    for i in range(n // 2):
        MembershipFactory(learner=LearnerFactory(email=f"{tag}{i}@example.com", last_name="Before"), group=old)
    rows = "".join(f"{tag}{i}@example.com,First,After,Sales;New {tag}\n" for i in range(n))
    return "email,first_name,last_name,groups\n" + rows


def test_a_learners_import_needs_the_same_queries_for_10_and_200_rows():
    GroupFactory(name="Sales")
    # savepoint, learners, groups, memberships, INSERT groups, INSERT learners, UPDATE learners,
    # DELETE memberships, INSERT memberships, requirements (all: the scope may change), summary audit event,
    # release; the bulk writes (with the audit events of each learner created and updated) by statements()
    fixed = 9
    for n in (10, 200):
        text = learners_file(n, tag=f"n{n}-")
        update = ["first_name", "last_name", "active", "manager_email", "updated_at"]
        expected = (
            fixed
            + statements(n // 2, Learner)
            + statements(n // 2, Learner, update_fields=update)
            + statements(2 * n, Membership)
            + 2 * statements(n // 2, AuditEvent)
        )
        assert queries("learners", text) == expected, n


def test_a_courses_import_needs_the_same_queries_for_10_and_200_rows():
    # savepoint, courses, INSERT courses, UPDATE courses, summary audit event, release;
    # the bulk writes (with the audit events of each course created and updated) by statements()
    fixed = 4
    for n in (10, 200):
        for i in range(n // 2):
            CourseFactory(code=f"N{n}-{i}", title="Before")
        text = "code,title\n" + "".join(f"N{n}-{i},After\n" for i in range(n))
        expected = (
            fixed
            + statements(n - n // 2, Course)
            + statements(n // 2, Course, update_fields=["title", "url"])
            + statements(n - n // 2, AuditEvent)
            + statements(n // 2, AuditEvent)
        )
        assert queries("courses", text) == expected, n


def test_an_enrollments_import_needs_the_same_queries_for_10_and_200_rows(gdpr):
    # savepoint, learners, courses, enrollments, INSERT, UPDATE, close those written by completions
    # (none closes: nothing to read back), requirements of the course, course history, summary audit event,
    # release; the bulk writes (with the audit events of each enrollment created and updated) by statements()
    fixed = 9
    for n in (10, 200):
        learners = [LearnerFactory(email=f"n{n}-{i}@example.com") for i in range(n)]
        for learner in learners[: n // 2]:
            EnrollmentFactory(learner=learner, course=gdpr, enrolled_at=org_day_start(dt.date(2026, 1, 1)))
            CompletionFactory(learner=learner, course=gdpr, day=dt.date(2025, 6, 1))
        text = "email,course_code,enrolled_on,started_on,progress\n" + "".join(
            f"n{n}-{i}@example.com,GDPR-101,2026-01-01,2026-01-02,50\n" for i in range(n)
        )
        expected = (
            fixed
            + statements(n - n // 2, Enrollment)
            + statements(n // 2, Enrollment, update_fields=["enrolled_at", "started_at", "progress"])
            + statements(n - n // 2, AuditEvent)
            + statements(n // 2, AuditEvent)
        )
        assert queries("enrollments", text) == expected, n


def test_a_completions_import_needs_the_same_queries_for_10_and_200_rows(gdpr):
    # savepoint, learners, courses, completions, INSERT, open enrollments of the new completions' learners
    # and courses, close them, read back those closed, requirements of the course, course history,
    # summary audit event, release; the INSERT and the audit events (completions created, enrollments
    # closed) by statements()
    fixed = 11
    for n in (10, 200):
        learners = [LearnerFactory(email=f"n{n}-{i}@example.com") for i in range(n)]
        for learner in learners:
            EnrollmentFactory(learner=learner, course=gdpr, enrolled_at=org_day_start(dt.date(2026, 1, 1)))
        for learner in learners[: n // 2]:
            CompletionFactory(learner=learner, course=gdpr, day=dt.date(2026, 3, 1))
        text = "email,course_code,completed_on\n" + "".join(
            f"n{n}-{i}@example.com,GDPR-101,2026-03-01\n" for i in range(n)
        )
        expected = fixed + statements(n - n // 2, Completion) + 2 * statements(n - n // 2, AuditEvent)
        assert queries("completions", text) == expected, n
