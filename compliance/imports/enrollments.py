"""Import of enrollments: key (learner, course) open enrollment.

Dates are org days, stored as 00:00 of the day. A row names the same
enrollment as an existing one of that learner and course enrolled on the same
org day (open or already closed), else the open one; otherwise it creates an
enrollment (``source = import``). An enrollment that an existing completion on
or after its enrolled day closes is stored closed, so the order of imports does
not matter; an empty ``started_on`` never resets an enrollment that has begun;
an empty ``progress`` leaves it as it is (0 for a new enrollment). An enrollment
already closed is history and is not changed by an import.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from compliance.dates import org_date, org_day_start
from compliance.imports import cells
from compliance.imports.batching import WRITE_BATCH
from compliance.imports.closing import ENROLLMENT_LOADED_FIELDS, close_completed, enrollment_state
from compliance.imports.courses import CODE_MAX
from compliance.imports.csvfile import Columns, CsvRow, CsvTable
from compliance.imports.errors import FirstLines, Problems
from compliance.imports.lookups import by_learner_and_course, resolve_learners_and_courses
from compliance.imports.result import ImportKind, Written
from compliance.imports.trail import Trail
from compliance.models import Enrollment, EnrollmentSource
from compliance.records import affected_requirement_ids

COLUMNS = Columns(required=("email", "course_code", "enrolled_on"), optional=("started_on", "progress"))
UPDATED_FIELDS = ["enrolled_at", "started_at", "progress"]


@dataclass(slots=True)
class EnrollmentRow:
    line: int
    email: str
    course_code: str
    enrolled_on: dt.date
    started_on: dt.date | None
    progress: int | None


def _parse_row(row: CsvRow, today: dt.date, problems: Problems) -> EnrollmentRow | None:
    checks = {
        "email": lambda: cells.email(row["email"]),
        "course_code": lambda: cells.text(row["course_code"], column="course_code", max_length=CODE_MAX, required=True),
        "enrolled_on": lambda: cells.date(row["enrolled_on"], column="enrolled_on", today=today),
        "started_on": lambda: cells.optional_date(row["started_on"], column="started_on", today=today),
        "progress": lambda: cells.progress(row["progress"]),
    }
    values = cells.parse_all(checks, line=row.line, problems=problems)
    if values is None:
        return None
    if values["started_on"] and values["started_on"] < values["enrolled_on"]:
        problems.add(row.line, f"started_on {values['started_on']} is before enrolled_on {values['enrolled_on']}")
        return None
    return EnrollmentRow(line=row.line, **values)


def parse(table: CsvTable, problems: Problems, now: dt.datetime) -> list[EnrollmentRow]:
    today = org_date(now)
    rows = [row for row in (_parse_row(csv_row, today, problems) for csv_row in table.rows) if row]
    seen = FirstLines(problems)
    return [
        row
        for row in rows
        if not seen.repeated(
            (row.email, row.course_code.lower()), line=row.line, label=f"enrollment of {row.email} in {row.course_code}"
        )
    ]


@dataclass
class EnrollmentPlan:
    new: list[Enrollment] = field(default_factory=list)
    changed: list[Enrollment] = field(default_factory=list)
    unchanged: int = 0
    course_ids: set[int] = field(default_factory=set)  # of the enrollments created or changed
    before: dict[int, dict] = field(default_factory=dict)  # enrollment id -> its state before, of the changed

    @property
    def created(self) -> int:
        return len(self.new)

    @property
    def updated(self) -> int:
        return len(self.changed)


def _enrollments_of(learner_ids: set[int], course_ids: set[int]) -> dict[tuple[int, int], list[Enrollment]]:
    """Every enrollment of these learners in these courses, by (learner id, course id)."""
    found: dict[tuple[int, int], list[Enrollment]] = {}
    query = Enrollment.objects.only(*ENROLLMENT_LOADED_FIELDS).order_by("id")
    for enrollment in by_learner_and_course(query, learner_ids, course_ids):
        found.setdefault((enrollment.learner_id, enrollment.course_id), []).append(enrollment)
    return found


def _same_enrollment(row: EnrollmentRow, existing: list[Enrollment]) -> Enrollment | None:
    """The one enrolled on the row's day (an open one first), else the open one."""
    same_day = [e for e in existing if org_date(e.enrolled_at) == row.enrolled_on]
    same_day.sort(key=lambda e: not e.is_open)
    return next(iter(same_day), None) or next((e for e in existing if e.is_open), None)


def _apply_row(enrollment: Enrollment, row: EnrollmentRow, problems: Problems) -> bool:
    """Give an open enrollment the row's values; whether any changed."""
    changed = False
    if org_date(enrollment.enrolled_at) != row.enrolled_on:
        enrollment.enrolled_at = org_day_start(row.enrolled_on)
        changed = True
    if row.started_on and (enrollment.started_at is None or org_date(enrollment.started_at) != row.started_on):
        enrollment.started_at = org_day_start(row.started_on)
        changed = True
    if row.progress is not None and row.progress != enrollment.progress:
        enrollment.progress = row.progress
        changed = True
    if enrollment.started_at and org_date(enrollment.started_at) < row.enrolled_on:
        problems.add(
            row.line,
            f"the enrollment began on {org_date(enrollment.started_at)}, before enrolled_on {row.enrolled_on}; "
            "give its started_on",
        )
    return changed


def plan(rows: list[EnrollmentRow], problems: Problems) -> EnrollmentPlan:
    resolved = resolve_learners_and_courses(rows, problems)
    existing = _enrollments_of({learner.pk for _, learner, _ in resolved}, {course.pk for _, _, course in resolved})
    result = EnrollmentPlan()
    for row, learner, course in resolved:
        enrollment = _same_enrollment(row, existing.get((learner.pk, course.pk), []))
        if enrollment is None:
            result.new.append(
                Enrollment(
                    learner=learner,
                    course=course,
                    enrolled_at=org_day_start(row.enrolled_on),
                    started_at=org_day_start(row.started_on) if row.started_on else None,
                    progress=row.progress or 0,
                    source=EnrollmentSource.IMPORT,
                )
            )
            result.course_ids.add(course.pk)
            continue
        before = enrollment_state(enrollment)
        if enrollment.is_open and _apply_row(enrollment, row, problems):
            enrollment.learner, enrollment.course = learner, course  # named in the audit log without a query
            result.changed.append(enrollment)
            result.before[enrollment.pk] = before
            result.course_ids.add(course.pk)
        else:
            result.unchanged += 1
    return result


def write(plan: EnrollmentPlan, *, actor=None) -> Written:
    """Write, then close those of the enrollments created or changed that an
    existing completion closes (no other enrollment: the file's alone)."""
    for enrollment in plan.new:
        enrollment.enrolled_by = actor
    Enrollment.objects.bulk_create(plan.new, batch_size=WRITE_BATCH)
    Enrollment.objects.bulk_update(plan.changed, UPDATED_FIELDS, batch_size=WRITE_BATCH)
    closed = close_completed(plan.new + plan.changed)
    trail = Trail()
    for enrollment in plan.new:
        trail.add_created(enrollment, enrollment_state(enrollment))
    for enrollment in plan.changed:
        trail.add_updated(enrollment, plan.before[enrollment.pk], enrollment_state(enrollment))
    return Written(
        requirement_ids=frozenset(affected_requirement_ids(plan.course_ids)),
        enrollments_closed=len(closed),
        trail=trail,
    )


KIND = ImportKind(columns=COLUMNS, parse=parse, plan=plan, write=write)
