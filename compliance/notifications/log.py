"""Reads for the Notifications log pages and their CSV export: what was
decided, sent, dropped (and why) or failed, newest first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Max, OuterRef, QuerySet, Subquery

from compliance.dates import org_timezone
from compliance.exports import protect_text
from compliance.models import Notification
from compliance.selectors import PageNumbers, clamp_page

PAGE_SIZE = 50


@dataclass(frozen=True)
class NotificationFilters:
    state: str = ""
    kind: str = ""
    requirement_id: int | None = None
    recipient: str = ""

    @property
    def any(self) -> bool:
        return bool(self.state or self.kind or self.requirement_id is not None or self.recipient)

    def as_query(self) -> dict[str, str]:
        query = {"state": self.state, "kind": self.kind, "recipient": self.recipient}
        if self.requirement_id is not None:
            query["requirement"] = str(self.requirement_id)
        return {key: value for key, value in query.items() if value}


def filter_notifications(rows: QuerySet[Notification], filters: NotificationFilters) -> QuerySet[Notification]:
    if filters.state:
        rows = rows.filter(state=filters.state)
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.requirement_id is not None:
        rows = rows.filter(requirement_id=filters.requirement_id)
    if filters.recipient:
        rows = rows.filter(recipient__icontains=filters.recipient)
    return rows.order_by("-decided_at", "-id")


def requirement_choices() -> list[tuple[int, str]]:
    """The requirements the outbox mentions, by the name its latest row recorded:
    one query, one row per requirement (grouped in the database)."""
    latest_name = (
        Notification.objects.filter(requirement_id=OuterRef("requirement_id"))
        .order_by("-decided_at", "-id")
        .values("requirement_name")[:1]
    )
    rows = (
        Notification.objects.exclude(requirement_id=0)
        .order_by()
        .values("requirement_id")
        .annotate(latest=Max("decided_at"), name=Subquery(latest_name))
        .values_list("requirement_id", "name")
    )
    return sorted(rows, key=lambda item: (item[1].lower(), item[0]))


@dataclass(frozen=True)
class NotificationLogPage(PageNumbers):
    rows: list[Notification]
    total: int
    number: int
    page_count: int
    page_size: int


def notification_log_page(rows: QuerySet[Notification], *, page: int, page_size: int = PAGE_SIZE):
    """One page: the count, then the page's rows (two queries)."""
    total = rows.count()
    number, page_count = clamp_page(page, total, page_size)
    offset = (number - 1) * page_size
    return NotificationLogPage(
        rows=list(rows[offset : offset + page_size]) if total else [],
        total=total,
        number=number,
        page_count=page_count,
        page_size=page_size,
    )


EXPORT_HEADER = (
    "decided_at",
    "kind",
    "recipient",
    "requirement",
    "learner_id",
    "cycle",
    "reminder",
    "state",
    "attempts",
    "sent_at",
    "last_error",
    "drop_reason",
    "subject",
)


def _moment(value: dt.datetime | None) -> str:
    return value.astimezone(org_timezone()).isoformat(timespec="seconds") if value else ""


def export_rows(rows: QuerySet[Notification]) -> Iterator[list]:
    """CSV rows, text cells protected against formulas, read through a cursor in chunks."""
    for row in rows.iterator(chunk_size=2000):
        yield [
            _moment(row.decided_at),
            row.kind,
            protect_text(row.recipient),
            protect_text(row.requirement_name),
            row.learner_id or "",
            row.cycle,
            row.ordinal or "",
            row.state,
            row.attempts,
            _moment(row.sent_at),
            protect_text(row.last_error),
            protect_text(row.drop_reason),
            protect_text(row.subject),
        ]


def export_filename(today: dt.date, requirement=None) -> str:
    from django.utils.text import slugify

    prefix = f"{slugify(requirement.name) or 'requirement'}-notifications" if requirement else "notifications"
    return f"{prefix}-{today.isoformat()}.csv"
