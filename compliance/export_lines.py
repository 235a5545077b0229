"""The Report's CSV export with its lines written by PostgreSQL (interfaces.md, "CSV export").

``exports.report_export_rows`` through ``csv_chunks`` is the reference: Python
writes every cell, about 15 µs a row, most of an export of 100,000 learners.
On PostgreSQL the Report's own queryset (``exports.report_export_scope``) is
annotated instead with each row as CSV text, cut in three: the cells before
``groups``, the learner's group ids, the cells after. Python only puts the
groups cell in between, computed by the reference code (names sorted, joined,
protected, quoted) once per distinct set of groups, and joins the lines.
``tests/test_export_lines.py`` checks that both write the same bytes.

The rows stream from a server-side cursor inside a transaction: outside one,
Django declares the cursor ``WITH HOLD`` and PostgreSQL computes the whole
result before the first row. SQLite keeps the reference path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db import connection, transaction
from django.db.models import F, Func, IntegerField, OrderBy, QuerySet, TextField, Value

from compliance.exports import (
    BOM,
    REPORT_EXPORT_HEADER,
    ROWS_PER_CHUNK,
    GroupIds,
    csv_cell,
    csv_chunks,
    group_names,
    protect_text,
    report_export_rows,
    report_export_scope,
)
from compliance.models import LearnerGroup, Membership, Requirement
from compliance.statuses import STATUS_LABELS, Status

#: Rows fetched per round trip: few round trips, a few hundred kB in memory.
FETCH_ROWS = 5000
#: ``exports.FORMULA_STARTS`` and ``exports.CSV_QUOTED_CHARACTERS`` as regular
#: expressions (tests/test_export_lines.py holds them equal).
FORMULA_START_PATTERN = r"^[-=+@\t\r]"
CSV_QUOTED_PATTERN = r'[",\r\n]'
#: For this transaction only: dates as ``YYYY-MM-DD`` whatever the server's
#: ``DateStyle``.
LOCAL_SETTINGS_SQL = "SELECT set_config('datestyle', 'ISO', true)"


def _literal(text: str) -> str:
    """A constant of this module as an SQL string literal."""
    if "%" in text or "\\" in text:
        raise ValueError(f"not a plain constant: {text!r}")
    return "'" + text.replace("'", "''") + "'"


class CsvTextCell(Func):
    """SQL: a text column as ``csv_cell(protect_text(value))``. Most values
    need neither, which one regular expression tells."""

    arity = 1
    output_field = TextField()

    def as_sql(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        if params:
            raise ValueError("CsvTextCell takes a column")
        protected = f"(CASE WHEN {column} ~ '{FORMULA_START_PATTERN}' THEN '''' || {column} ELSE {column} END)"
        quoted = (
            f"CASE WHEN {protected} ~ '{CSV_QUOTED_PATTERN}' "
            f"THEN '\"' || replace({protected}, '\"', '\"\"') || '\"' ELSE {protected} END"
        )
        needs_care = f"'{FORMULA_START_PATTERN}|{CSV_QUOTED_PATTERN}'"
        return f"(CASE WHEN {column} ~ {needs_care} THEN {quoted} ELSE {column} END)", []


class StatusLabelCell(Func):
    """SQL: the label cell of a status slug (``STATUS_LABELS``)."""

    arity = 1
    output_field = TextField()
    template = (
        "(CASE %(expressions)s "
        + " ".join(f"WHEN {_literal(slug)} THEN {_literal(csv_cell(label))}" for slug, label in STATUS_LABELS.items())
        + " END)"
    )


class OptionalCell(Func):
    """SQL: a date (``YYYY-MM-DD`` under ``LOCAL_SETTINGS_SQL``) or a number as
    text, empty for NULL."""

    arity = 1
    output_field = TextField()
    template = "COALESCE((%(expressions)s)::text, '')"


class DaysBetween(Func):
    """SQL: ``end - start`` in days (a date minus a date)."""

    arity = 2
    arg_joiner = " - "
    template = "(%(expressions)s)"
    output_field = IntegerField()


class Joined(Func):
    """SQL: the texts one after the other (``||``; none of them is NULL)."""

    arg_joiner = " || "
    template = "(%(expressions)s)"
    output_field = TextField()


def report_export_line_parts(
    requirement: Requirement, today: dt.date, *, status: Status | None, query: str
) -> QuerySet:
    """``report_export_scope`` with ``before_groups`` and ``after_groups``:
    each row's CSV text around its groups cell, CRLF included."""
    comma = Value(",")
    before = Joined(
        Value(csv_cell(protect_text(requirement.name)) + ","),
        CsvTextCell(F("email")),  # stored in lower case (a constraint), as Python writes it
        comma,
        CsvTextCell(F("first_name")),
        comma,
        CsvTextCell(F("last_name")),
        comma,
    )
    after = Joined(
        comma,
        StatusLabelCell(F("status")),
        comma,
        OptionalCell(F("last_completed_on")),
        comma,
        OptionalCell(F("expires_on")),
        comma,
        OptionalCell(DaysBetween(F("expires_on"), Value(today))),
        comma,
        OptionalCell(F("enrolled_on")),
        comma,
        OptionalCell(F("open_progress")),
        Value("\r\n"),
    )
    return report_export_scope(requirement, today, status=status, query=query).annotate(
        before_groups=before, after_groups=after
    )


def report_export_lines_sql(
    requirement: Requirement, today: dt.date, *, status: Status | None, query: str
) -> tuple[str, tuple]:
    """SQL and parameters of ``(before_groups, group_ids, after_groups)`` in report order.

    The Report's query with its ``ORDER BY`` lifted out (its terms become
    columns, ``_order_N``), joined once to every learner's group ids
    (``learner_group_ids_sql``), and ordered by those same terms: one hash of
    the memberships instead of an index probe per learner.
    """
    learners = report_export_line_parts(requirement, today, status=status, query=query)
    terms = order_terms(learners)
    keys = {f"_order_{index}": expression for index, (expression, _) in enumerate(terms)}
    inner, params = (
        learners.order_by()
        .annotate(learner_id=F("pk"), **keys)
        .values_list("learner_id", "before_groups", "after_groups", *keys)
        .query.sql_with_params()
    )
    order_by = ", ".join(f'r."{name}" {direction}' for name, (_, direction) in zip(keys, terms, strict=True))
    sql = (
        "SELECT r.before_groups, g.ids, r.after_groups "
        f"FROM ({inner}) r LEFT JOIN ({learner_group_ids_sql()}) g ON g.learner_id = r.learner_id "
        f"ORDER BY {order_by}"
    )
    return sql, params


def order_terms(queryset: QuerySet) -> list[tuple]:
    """The queryset's ``ORDER BY`` as (expression, SQL direction) pairs."""
    terms = []
    for term in queryset.query.order_by:
        if isinstance(term, str):
            if term == "?":
                raise ValueError("a random order cannot be lifted")
            term = F(term[1:]).desc() if term.startswith("-") else F(term).asc()
        if not isinstance(term, OrderBy):
            term = term.asc()
        direction = "DESC" if term.descending else "ASC"
        if term.nulls_first:
            direction += " NULLS FIRST"
        elif term.nulls_last:
            direction += " NULLS LAST"
        terms.append((term.expression, direction))
    if not terms or queryset.query.extra_order_by:
        raise ValueError("the export needs the Report's explicit order")
    return terms


def learner_group_ids_sql() -> str:
    """SQL: ``learner_id, ids`` of every learner with a group (``GroupIds``)."""
    sql, params = (
        Membership.objects.order_by().values("learner_id").annotate(ids=GroupIds("group_id")).query.sql_with_params()
    )
    if params:
        raise ValueError("unexpected parameters")
    return sql


class GroupCells(dict):
    """Group ids (a ``GroupIds`` cell) -> the groups cell, computed by the
    reference code the first time a set of groups is seen."""

    def __init__(self, names: dict[int, str]):
        super().__init__({None: ""})
        self.names = names

    def __missing__(self, ids: str) -> str:
        try:
            names = group_names(ids, self.names)
        except KeyError:  # a group created after the names were read, before the rows query
            self.names.update(LearnerGroup.objects.order_by().values_list("pk", "name"))
            names = group_names(ids, self.names)
        cell = self[ids] = csv_cell(protect_text(names))
        return cell


def report_export_lines(
    requirement: Requirement, today: dt.date, *, status: Status | None, query: str
) -> Iterator[str]:
    """The file: the BOM and header at once, then the rows, ``ROWS_PER_CHUNK``
    lines a chunk, read through a server-side cursor (one query) in a
    transaction held while the file streams and rolled back when it ends or
    is closed early."""
    yield BOM + ",".join(map(csv_cell, REPORT_EXPORT_HEADER)) + "\r\n"
    sql, params = report_export_lines_sql(requirement, today, status=status, query=query)
    cells = GroupCells(dict(LearnerGroup.objects.order_by().values_list("pk", "name")))
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(LOCAL_SETTINGS_SQL)
        cursor = connection.chunked_cursor()
        try:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(FETCH_ROWS):
                for start in range(0, len(rows), ROWS_PER_CHUNK):
                    yield "".join(
                        [f"{before}{cells[ids]}{after}" for before, ids, after in rows[start : start + ROWS_PER_CHUNK]]
                    )
        finally:
            cursor.close()


def report_export_file(requirement: Requirement, today: dt.date, *, status: Status | None, query: str) -> Iterator[str]:
    """The Report's CSV file, a chunk of text at a time: lines written by
    PostgreSQL (``report_export_lines``), or by Python on SQLite."""
    if connection.vendor == "postgresql":
        return report_export_lines(requirement, today, status=status, query=query)
    return csv_chunks(REPORT_EXPORT_HEADER, report_export_rows(requirement, today, status=status, query=query))
