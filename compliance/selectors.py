"""Reads that feed pages and commands."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404
from django.utils import timezone

from compliance.models import Learner, Membership, RecomputeRun, Requirement
from compliance.rules import (
    LearnerStatusRow,
    StatusCounts,
    count_statuses,
    filter_status,
    status_rows,
)
from compliance.statuses import Status
from compliance.tallies import learner_statuses_for_pages, status_counts, tally_is_fresh

REPORT_PAGE_SIZE = 50


def last_successful_full_recompute() -> RecomputeRun | None:
    return RecomputeRun.objects.filter(state=RecomputeRun.State.SUCCEEDED, full=True).order_by("-finished_at").first()


def recompute_is_stale(now: dt.datetime | None = None) -> bool:
    """No successful full recompute within ``RECOMPUTE_STALE_HOURS`` (or none ever): the
    nightly job has stopped. Statuses on screen stay right (they are computed
    from the facts); what lags is the stored state and its history. One query."""
    now = now or timezone.now()
    since = now - dt.timedelta(hours=settings.RECOMPUTE_STALE_HOURS)
    return not RecomputeRun.objects.filter(
        state=RecomputeRun.State.SUCCEEDED, full=True, finished_at__gte=since
    ).exists()


def search_learners(learners: QuerySet[Learner], text: str) -> QuerySet[Learner]:
    """Every white-space separated term must match part of first name, last name or email."""
    for term in text.split():
        learners = learners.filter(
            Q(first_name__icontains=term) | Q(last_name__icontains=term) | Q(email__icontains=term)
        )
    return learners


def in_report_order(learners: QuerySet[Learner]) -> QuerySet[Learner]:
    return learners.order_by(Lower("last_name"), Lower("first_name"), Lower("email"), "id")


def requirement_for_page(pk: int) -> Requirement:
    """The requirement with what every one of its pages shows and the engine
    reads (type, course, target group, course history), or 404."""
    return get_object_or_404(
        Requirement.objects.select_related("type", "course", "target_group")
        .prefetch_related("course_history")
        .annotate(tally_fresh=tally_is_fresh()),
        pk=pk,
    )


# --- Dashboard -------------------------------------------------------------------------


@dataclass(frozen=True)
class RequirementCard:
    requirement: Requirement
    counts: StatusCounts

    @property
    def needs_action(self) -> int:
        """Learners without a valid certification and not being remediated."""
        return self.counts[Status.EXPIRED] + self.counts[Status.NOT_STARTED]


def dashboard_cards(today: dt.date, *, type_id: int | None = None, name: str = "") -> list[RequirementCard]:
    """A card per requirement (filtered by type and a part of the name), with its counts as of ``today``."""
    requirements = (
        Requirement.objects.select_related("type", "course", "target_group")
        .prefetch_related("course_history")
        .annotate(tally_fresh=tally_is_fresh())
    )
    if type_id is not None:
        requirements = requirements.filter(type_id=type_id)
    if name.strip():
        requirements = requirements.filter(name__icontains=name.strip())
    requirements = list(requirements)
    counts = status_counts(requirements, today)
    return [RequirementCard(requirement, counts[requirement.pk]) for requirement in requirements]


# --- Report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    status: LearnerStatusRow
    groups: list[str]


class PageNumbers:
    """What a pager says of one page (``number`` of ``page_count``, ``page_size``
    items a page, ``total`` in all): "Showing 51-100 of 1,234", Previous, Next."""

    number: int
    page_count: int
    page_size: int
    total: int

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.page_size + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.number * self.page_size, self.total)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.page_count


@dataclass(frozen=True)
class ReportPage(PageNumbers):
    status: Status
    query: str
    counts: StatusCounts
    rows: list[ReportRow]
    number: int
    page_count: int
    page_size: int

    @property
    def total(self) -> int:
        """Learners in this tab (with the search applied)."""
        return self.counts[self.status]


def clamp_page(requested: int, total: int, page_size: int) -> tuple[int, int]:
    """``(page, page_count)``: a page past the end shows the last page, below 1 the first."""
    page_count = max(1, -(-total // page_size))
    return min(max(requested, 1), page_count), page_count


def report_page(
    requirement: Requirement,
    today: dt.date,
    *,
    status: Status,
    query: str,
    page: int,
    page_size: int = REPORT_PAGE_SIZE,
) -> ReportPage:
    """One page of a Report tab: the tab counts (search applied), then the
    tab's learners in report order with their groups. Three SQL queries."""
    learners = search_learners(learner_statuses_for_pages(requirement, today), query)
    counts = count_statuses(learners) if query.strip() else status_counts([requirement], today)[requirement.pk]
    number, page_count = clamp_page(page, counts[status], page_size)
    offset = (number - 1) * page_size
    rows = list(status_rows(page_of(learners, status, offset, page_size), today))
    groups = group_names_of([row.learner_id for row in rows])
    return ReportPage(
        status=status,
        query=query,
        counts=counts,
        rows=[ReportRow(row, groups.get(row.learner_id, [])) for row in rows],
        number=number,
        page_count=page_count,
        page_size=page_size,
    )


def page_of(learners: QuerySet[Learner], status: Status, offset: int, page_size: int) -> QuerySet[Learner]:
    """The learners of one page of a tab, in report order: one query whose
    inner part picks the page's ids (the status is all the scan needs) and
    whose outer part reads every fact of those few learners only, where a
    plain OFFSET would compute the row of every learner it skips."""
    page_ids = in_report_order(filter_status(learners, status)).values("pk")[offset : offset + page_size]
    return in_report_order(learners.filter(pk__in=page_ids))


def group_names_of(learner_ids: list[int]) -> dict[int, list[str]]:
    """Each learner's group names, sorted case-insensitively; one query."""
    names: dict[int, list[str]] = defaultdict(list)
    if not learner_ids:
        return names
    memberships = (
        Membership.objects.filter(learner_id__in=learner_ids)
        .order_by(Lower("group__name"), "group__name")
        .values_list("learner_id", "group__name")
    )
    for learner_id, name in memberships:
        names[learner_id].append(name)
    return names
