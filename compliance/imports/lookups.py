"""The existing rows an import file refers to, fetched for the whole file at
once: a fixed number of queries (one per ``LOOKUP_CHUNK`` keys), never one per row."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, TypeVar

from django.db.models import QuerySet
from django.db.models.functions import Lower

from compliance.imports.batching import LOOKUP_CHUNK, chunked
from compliance.imports.errors import Problems
from compliance.models import Course, Learner, LearnerGroup


def learners_by_email(emails: Iterable[str], fields: Sequence[str] = ("id", "email")) -> dict[str, Learner]:
    """Learners keyed by their (lower-case) email; looked up through the
    case-insensitive unique index."""
    found: dict[str, Learner] = {}
    for batch in chunked(sorted(set(emails))):
        for learner in Learner.objects.alias(email_ci=Lower("email")).filter(email_ci__in=batch).only(*fields):
            found[learner.email.lower()] = learner
    return found


def courses_by_code() -> dict[str, Course]:
    """Every course keyed by its code in lower case (the course list is short)."""
    return {course.code.lower(): course for course in Course.objects.only("id", "code", "title", "url")}


def groups_by_name() -> dict[str, LearnerGroup]:
    """Every group keyed by its name in lower case (the group list is short).

    Case is folded here, in Python, the same way on every database (SQLite's
    own LOWER() folds ASCII letters only)."""
    return {group.name.lower(): group for group in LearnerGroup.objects.only("id", "name")}


class _LearnerCourseRow(Protocol):
    line: int
    email: str
    course_code: str


Row = TypeVar("Row", bound=_LearnerCourseRow)


def resolve_learners_and_courses(rows: list[Row], problems: Problems) -> list[tuple[Row, Learner, Course]]:
    """``(row, learner, course)`` for each row whose learner and course exist
    (the learner with its id and email only); an unknown one is reported
    against the row's line."""
    learners = learners_by_email(row.email for row in rows)
    courses = courses_by_code()
    resolved = []
    for row in rows:
        learner = learners.get(row.email)
        course = courses.get(row.course_code.lower())
        if learner is None:
            problems.add(row.line, f"unknown learner {row.email}")
        if course is None:
            problems.add(row.line, f"unknown course {row.course_code}")
        if learner and course:
            resolved.append((row, learner, course))
    return resolved


def by_learner_and_course(queryset: QuerySet, learner_ids: set[int], course_ids: set[int]) -> Iterator:
    """The rows of ``queryset`` for these learners and courses, in batches that
    keep each IN (...) list short."""
    half = LOOKUP_CHUNK // 2
    for learners in chunked(sorted(learner_ids), half):
        for courses in chunked(sorted(course_ids), half):
            yield from queryset.filter(learner_id__in=learners, course_id__in=courses)
