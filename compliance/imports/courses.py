"""Import of courses: key code, matched case-insensitively (a course keeps the
spelling of its code it was created with)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from compliance.audit import snapshot
from compliance.imports import cells
from compliance.imports.batching import WRITE_BATCH
from compliance.imports.csvfile import Columns, CsvRow, CsvTable
from compliance.imports.errors import FirstLines, Problems
from compliance.imports.lookups import courses_by_code
from compliance.imports.result import ImportKind, Written
from compliance.imports.trail import Trail
from compliance.models import Course

COLUMNS = Columns(required=("code", "title"), optional=("url",))
CODE_MAX = 64
TITLE_MAX = 200
AUDITED_FIELDS = ["code", "title", "url"]


@dataclass(slots=True)
class CourseRow:
    line: int
    code: str
    title: str
    url: str | None  # None: no such column, leave it as it is


def _parse_row(row: CsvRow, table: CsvTable, problems: Problems) -> CourseRow | None:
    checks = {
        "code": lambda: cells.text(row["code"], column="code", max_length=CODE_MAX, required=True),
        "title": lambda: cells.text(row["title"], column="title", max_length=TITLE_MAX, required=True),
        "url": lambda: cells.url(row["url"]) if table.has("url") else None,
    }
    values = cells.parse_all(checks, line=row.line, problems=problems)
    return None if values is None else CourseRow(line=row.line, **values)


def parse(table: CsvTable, problems: Problems, now: dt.datetime) -> list[CourseRow]:
    rows = [row for row in (_parse_row(csv_row, table, problems) for csv_row in table.rows) if row]
    seen = FirstLines(problems)
    return [row for row in rows if not seen.repeated(row.code.lower(), line=row.line, label=f"code {row.code}")]


@dataclass
class CoursePlan:
    new: list[Course] = field(default_factory=list)
    changed: list[Course] = field(default_factory=list)
    unchanged: int = 0
    trail: Trail = field(default_factory=Trail)

    @property
    def created(self) -> int:
        return len(self.new)

    @property
    def updated(self) -> int:
        return len(self.changed)


def _state(course: Course) -> dict:
    return snapshot(course, AUDITED_FIELDS)


def plan(rows: list[CourseRow], problems: Problems) -> CoursePlan:
    existing = courses_by_code()
    result = CoursePlan()
    for row in rows:
        course = existing.get(row.code.lower())
        if course is None:
            course = Course(code=row.code, title=row.title, url=row.url or "")
            result.new.append(course)
            result.trail.add_created(course, _state(course))
            continue
        before = _state(course)
        course.title = row.title
        if row.url is not None:
            course.url = row.url
        if result.trail.add_updated(course, before, _state(course)):
            result.changed.append(course)
        else:
            result.unchanged += 1
    return result


def write(plan: CoursePlan, *, actor=None) -> Written:
    """Courses alone change no status: no requirement is recomputed."""
    Course.objects.bulk_create(plan.new, batch_size=WRITE_BATCH)
    Course.objects.bulk_update(plan.changed, ["title", "url"], batch_size=WRITE_BATCH)
    return Written(trail=plan.trail)


KIND = ImportKind(columns=COLUMNS, parse=parse, plan=plan, write=write)
