"""Import of completions: key (learner, course, org day of ``completed_on``).

A row whose key is already recorded adds nothing (the recorded moment stays).
New completions close the open enrollments they complete, set-based.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from compliance.dates import org_date
from compliance.imports import cells
from compliance.imports.batching import WRITE_BATCH
from compliance.imports.courses import CODE_MAX
from compliance.imports.csvfile import Columns, CsvRow, CsvTable
from compliance.imports.errors import FirstLines, Problems
from compliance.imports.lookups import by_learner_and_course, resolve_learners_and_courses
from compliance.imports.result import ImportKind, Written
from compliance.models import Completion, Enrollment, EnrollmentSource
from compliance.records import affected_requirement_ids, close_enrollments_by_completions

COLUMNS = Columns(required=("email", "course_code", "completed_on"))


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
            {learner_id for _, learner_id, _ in resolved},
            {course_id for _, _, course_id in resolved},
        )
    )
    result = CompletionPlan()
    for row, learner_id, course_id in resolved:
        if (learner_id, course_id, row.completed_on) in recorded:
            result.unchanged += 1
            continue
        result.new.append(
            Completion(
                learner_id=learner_id,
                course_id=course_id,
                completed_at=row.completed_at,
                completed_on=row.completed_on,
                source=EnrollmentSource.IMPORT,
            )
        )
    return result


def write(plan: CompletionPlan, *, actor=None) -> Written:
    for completion in plan.new:
        completion.recorded_by = actor
    Completion.objects.bulk_create(plan.new, batch_size=WRITE_BATCH)
    course_ids = {completion.course_id for completion in plan.new}
    if not course_ids:
        return Written()
    closed = close_enrollments_by_completions(Enrollment.objects.filter(course_id__in=course_ids))
    return Written(requirement_ids=frozenset(affected_requirement_ids(course_ids)), enrollments_closed=closed)


KIND = ImportKind(columns=COLUMNS, parse=parse, plan=plan, write=write)
