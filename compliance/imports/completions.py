"""Import of completions: key (learner, course, org day of ``completed_on``).

A row whose key is already recorded adds nothing (the recorded moment stays).
New completions close the open enrollments they complete, set-based, among
those of their own (learner, course) pairs: an import changes no one it does
not name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from compliance.audit import snapshot
from compliance.dates import org_date
from compliance.imports import cells
from compliance.imports.batching import WRITE_BATCH
from compliance.imports.closing import ENROLLMENT_LOADED_FIELDS, close_completed, enrollment_state
from compliance.imports.courses import CODE_MAX
from compliance.imports.csvfile import Columns, CsvRow, CsvTable
from compliance.imports.errors import FirstLines, Problems
from compliance.imports.lookups import by_learner_and_course, resolve_learners_and_courses
from compliance.imports.result import ImportKind, Written
from compliance.imports.trail import Trail
from compliance.models import Completion, Enrollment, EnrollmentSource
from compliance.records import affected_requirement_ids

COLUMNS = Columns(required=("email", "course_code", "completed_on"))
AUDITED_FIELDS = ["learner", "course", "completed_at", "completed_on"]


@dataclass(slots=True)
class CompletionRow:
    line: int
    email: str
    course_code: str
    completed_at: dt.datetime

    @property
    def completed_on(self) -> dt.date:
        return org_date(self.completed_at)


def _parse_row(row: CsvRow, now: dt.datetime, problems: Problems) -> CompletionRow | None:
    checks = {
        "email": lambda: cells.email(row["email"]),
        "course_code": lambda: cells.text(row["course_code"], column="course_code", max_length=CODE_MAX, required=True),
        "completed_at": lambda: cells.moment(row["completed_on"], column="completed_on", now=now),
    }
    values = cells.parse_all(checks, line=row.line, problems=problems)
    return None if values is None else CompletionRow(line=row.line, **values)


def parse(table: CsvTable, problems: Problems, now: dt.datetime) -> list[CompletionRow]:
    rows = [row for row in (_parse_row(csv_row, now, problems) for csv_row in table.rows) if row]
    seen = FirstLines(problems)
    return [
        row
        for row in rows
        if not seen.repeated(
            (row.email, row.course_code.lower(), row.completed_on),
            line=row.line,
            label=f"completion of {row.course_code} by {row.email} on {row.completed_on}",
        )
    ]


@dataclass
class CompletionPlan:
    new: list[Completion] = field(default_factory=list)
    unchanged: int = 0
    updated: int = 0  # a recorded completion is never changed by an import

    @property
    def created(self) -> int:
        return len(self.new)


def plan(rows: list[CompletionRow], problems: Problems) -> CompletionPlan:
    resolved = resolve_learners_and_courses(rows, problems)
    recorded = set(
        by_learner_and_course(
            Completion.objects.values_list("learner_id", "course_id", "completed_on"),
            {learner.pk for _, learner, _ in resolved},
            {course.pk for _, _, course in resolved},
        )
    )
    result = CompletionPlan()
    for row, learner, course in resolved:
        if (learner.pk, course.pk, row.completed_on) in recorded:
            result.unchanged += 1
            continue
        result.new.append(
            Completion(
                learner=learner,
                course=course,
                completed_at=row.completed_at,
                completed_on=row.completed_on,
                source=EnrollmentSource.IMPORT,
            )
        )
    return result


def _open_enrollments_of(completions: list[Completion]) -> list[Enrollment]:
    """The open enrollments of the (learner, course) pairs of ``completions``
    (of no other pair of their learners and courses), each with its learner and
    course attached, so that the audit log names it without a query."""
    pairs = {(completion.learner_id, completion.course_id): completion for completion in completions}
    query = Enrollment.objects.filter(completed_at__isnull=True).only(*ENROLLMENT_LOADED_FIELDS)
    learner_ids = {learner_id for learner_id, _ in pairs}
    course_ids = {course_id for _, course_id in pairs}
    found = []
    for enrollment in by_learner_and_course(query, learner_ids, course_ids):
        completion = pairs.get((enrollment.learner_id, enrollment.course_id))
        if completion is not None:
            enrollment.learner, enrollment.course = completion.learner, completion.course
            found.append(enrollment)
    return found


def write(plan: CompletionPlan, *, actor=None) -> Written:
    """Record the new completions, then close the open enrollments they
    complete: of their own learners and courses only."""
    for completion in plan.new:
        completion.recorded_by = actor
    Completion.objects.bulk_create(plan.new, batch_size=WRITE_BATCH)
    trail = Trail()
    for completion in plan.new:
        trail.add_created(completion, snapshot(completion, AUDITED_FIELDS))
    if not plan.new:
        return Written(trail=trail)
    enrollments = _open_enrollments_of(plan.new)
    before = {enrollment.pk: enrollment_state(enrollment) for enrollment in enrollments}
    closed = close_completed(enrollments)
    for enrollment in closed:
        trail.add_updated(enrollment, before[enrollment.pk], enrollment_state(enrollment))
    course_ids = {completion.course_id for completion in plan.new}
    return Written(
        requirement_ids=frozenset(affected_requirement_ids(course_ids)), enrollments_closed=len(closed), trail=trail
    )


KIND = ImportKind(columns=COLUMNS, parse=parse, plan=plan, write=write)
