"""CSV files for auditors (interfaces.md, "CSV export"): streamed, UTF-8 with a
byte-order mark, CRLF line ends, and text cells protected against formulas.

The core (``protect_text``, ``csv_chunks``, ``streaming_csv_response``) serves
every export; below it, the rows of a requirement's report export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

from django.db.models import Aggregate, OuterRef, QuerySet, Subquery, TextField
from django.http import StreamingHttpResponse
from django.utils.text import slugify

from compliance.dates import org_date_of
from compliance.models import LearnerGroup, Membership, Requirement
from compliance.rules import filter_status
from compliance.selectors import in_report_order, search_learners
from compliance.statuses import STATUS_LABELS, Status
from compliance.tallies import learner_statuses_for_pages

BOM = "\ufeff"
#: A text cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Rows written per chunk of the stream: large enough to keep the overhead per
#: chunk small, small enough to keep memory flat.
ROWS_PER_CHUNK = 500


def protect_text(value: str) -> str:
    """A text cell that no spreadsheet runs as a formula: prefixed with ``'`` when it starts like one."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


#: Characters that make Python's csv writer (default dialect) quote a cell.
CSV_QUOTED_CHARACTERS = frozenset(',"\r\n')


def csv_cell(value: str) -> str:
    """One cell as Python's csv writer writes it: in double quotes, inner quotes
    doubled, when it holds a comma, a quote, a CR or a LF; as it is otherwise."""
    if CSV_QUOTED_CHARACTERS.isdisjoint(value):
        return value
    return '"' + value.replace('"', '""') + '"'


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence], rows_per_chunk: int = ROWS_PER_CHUNK) -> Iterator[str]:
    """The file, a chunk of text at a time: the BOM and header, then the rows.

    Cells are written as given; protect text cells with ``protect_text`` before.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(header)
    rows = iter(rows)
    # ``writerows`` over a slice of rows: the loop over the rows runs in C.
    while batch := list(islice(rows, rows_per_chunk)):
        writer.writerows(batch)
        yield _drain(buffer)
    if buffer.tell():
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def streaming_csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    """A download of ``filename`` (ASCII) streamed from ``rows`` as they are read."""
    return csv_text_response(filename, csv_chunks(header, rows))


def csv_text_response(filename: str, chunks: Iterator[str]) -> StreamingHttpResponse:
    """A download of ``filename`` (ASCII) streamed from the file's text, a chunk at a time."""
    response = StreamingHttpResponse(_encoded(chunks), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _encoded(chunks: Iterator[str]) -> Iterator[bytes]:
    """``chunks`` in UTF-8. Closing this (the server does when the client goes
    away) closes ``chunks`` at once, so a transaction they hold ends there."""
    try:
        for chunk in chunks:
            yield chunk.encode("utf-8")
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


# --- A requirement's report -----------------------------------------------------------

REPORT_EXPORT_HEADER = (
    "requirement",
    "email",
    "first_name",
    "last_name",
    "groups",
    "status",
    "last_completed_on",
    "expires_on",
    "days_left",
    "enrolled_on",
    "progress",
)
GROUPS_SEPARATOR = "; "
#: Rows fetched per round trip from the server-side cursor.
FETCH_CHUNK_SIZE = 2000


def report_export_filename(requirement: Requirement, status: Status | None, today: dt.date) -> str:
    """``<requirement slug>-<status slug or all>-<YYYY-MM-DD>.csv``, ASCII only."""
    return f"{requirement_slug(requirement)}-{status.value if status else 'all'}-{today.isoformat()}.csv"


def requirement_slug(requirement: Requirement) -> str:
    """The requirement in a file name: ``slugify`` of its name, or ``requirement-<id>`` when that is empty."""
    return slugify(requirement.name) or f"requirement-{requirement.pk}"


class GroupIds(Aggregate):
    """The ids of a learner's groups in one text cell, separated by commas
    (``group_names`` turns them into names)."""

    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        template = "STRING_AGG(%(expressions)s::text, ',')"
        return self.as_sql(compiler, connection, template=template, **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="GROUP_CONCAT(%(expressions)s)", **extra_context)


def group_ids_cell() -> Subquery:
    """SQL, per learner (``OuterRef("pk")``): their group ids (``GroupIds``), NULL without any.

    Ids, read from the membership index alone; the names are looked up in
    Python (``group_names``). Joining the group names per learner in SQL made
    PostgreSQL hash or scan the group table once per learner: most of an
    export's time.
    """
    ids = (
        Membership.objects.filter(learner_id=OuterRef("pk"))
        .order_by()
        .values("learner_id")
        .annotate(ids=GroupIds("group_id"))
        .values("ids")
    )
    return Subquery(ids, output_field=TextField())


def group_names(ids: str | None, names: dict[int, str]) -> str:
    """The names of the groups ``ids`` (a ``GroupIds`` cell), sorted
    case-insensitively (as ``group_names_of``) and joined."""
    if not ids:
        return ""
    found = [names[int(group_id)] for group_id in ids.split(",")]
    return GROUPS_SEPARATOR.join(sorted(found, key=lambda name: (name.lower(), name)))


def report_export_scope(requirement: Requirement, today: dt.date, *, status: Status | None, query: str) -> QuerySet:
    """The learners of the Report tab (``status``, or everyone in scope when
    ``None``) matching the search, in report order, with their facts, status,
    ``enrolled_on`` and ``group_ids``: the Report's own queryset, so that the
    tab, the search and the order are the Report's."""
    learners = search_learners(learner_statuses_for_pages(requirement, today), query)
    if status is not None:
        learners = filter_status(learners, status)
    return in_report_order(learners).annotate(enrolled_on=org_date_of("open_enrolled_at"), group_ids=group_ids_cell())


def report_export_learners(requirement: Requirement, today: dt.date, *, status: Status | None, query: str) -> QuerySet:
    """``report_export_scope`` as value tuples, for ``report_export_rows``."""
    return report_export_scope(requirement, today, status=status, query=query).values_list(
        "email",
        "first_name",
        "last_name",
        "group_ids",
        "status",
        "last_completed_on",
        "expires_on",
        "enrolled_on",
        "open_progress",
    )


def report_export_rows(
    requirement: Requirement, today: dt.date, *, status: Status | None, query: str
) -> Iterator[tuple]:
    """The rows of ``REPORT_EXPORT_HEADER``, read from a server-side cursor when
    iterated: one SQL query, however many learners."""
    values = report_export_learners(requirement, today, status=status, query=query)
    names = dict(LearnerGroup.objects.order_by().values_list("pk", "name"))
    requirement_cell = protect_text(requirement.name)
    labels = STATUS_LABELS
    for email, first, last, group_ids, slug, completed, expires_on, enrolled_on, progress in values.iterator(
        chunk_size=FETCH_CHUNK_SIZE
    ):
        yield (
            requirement_cell,
            protect_text(email.lower()),
            protect_text(first),
            protect_text(last),
            protect_text(group_names(group_ids, names)),
            labels[slug],
            completed,
            expires_on,
            None if expires_on is None else (expires_on - today).days,
            enrolled_on,
            progress,
        )
