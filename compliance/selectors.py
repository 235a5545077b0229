"""Reads that feed pages and commands."""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import BooleanField, F, Func, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404
from django.utils import timezone

from compliance.models import SORT_KEY_SEPARATOR, Learner, Membership, RecomputeRun, Requirement
from compliance.rules import (
    LearnerStatusRow,
    StatusCounts,
    count_statuses,
    filter_status,
    learner_statuses,
    status_rows,
)
from compliance.statuses import Status
from compliance.tallies import (
    learner_statuses_for_pages,
    status_counts,
    stored_tab_learner_ids,
    tallied_now,
    tally_is_fresh,
)

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
    """Every white-space separated term must match part of first name, last name
    or email, case-insensitively: a part of the learner's ``sort_key``, which
    holds the three lower-cased (one column to scan, from the index the pages
    walk). A term holding the key's separator could match across two parts, so
    it is matched part by part."""
    for term in text.split():
        if SORT_KEY_SEPARATOR in term:
            learners = learners.filter(
                Q(first_name__icontains=term) | Q(last_name__icontains=term) | Q(email__icontains=term)
            )
        else:
            learners = learners.filter(sort_key__contains=Lower(Value(term)))
    return learners


def in_report_order(learners: QuerySet[Learner]) -> QuerySet[Learner]:
    """Last name, first name, email (case-insensitive, by code point), then id:
    the learner's ``sort_key``, which the pages and the export share."""
    return learners.order_by("sort_key", "id")


def in_reverse_report_order(learners: QuerySet[Learner]) -> QuerySet[Learner]:
    return learners.order_by(F("sort_key").desc(), F("id").desc())


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
    window = page_window(counts[status], (number - 1) * page_size, page_size)
    page_ids = tab_page_ids(requirement, today, status=status, query=query, counts=counts, window=window)
    rows = list(status_rows(in_report_order(learners.filter(pk__in=page_ids)), today))
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


# --- Which learners a Report page shows ----------------------------------------------------


@dataclass(frozen=True)
class PageWindow:
    """Where a page lies in its tab, read from the tab's nearer end: skip
    ``offset`` learners in report order (in reverse order when ``backwards``),
    then take ``limit``. The last page of a tab costs what the first does."""

    backwards: bool
    offset: int
    limit: int


def page_window(tab_size: int, offset: int, page_size: int) -> PageWindow:
    """The window of the page that starts ``offset`` learners into a tab of
    ``tab_size`` (the tab count this request shows)."""
    limit = max(0, min(page_size, tab_size - offset))
    after = tab_size - offset - limit
    if limit and after < offset:
        return PageWindow(backwards=True, offset=after, limit=limit)
    return PageWindow(backwards=False, offset=offset, limit=page_size)


def in_window(learners: QuerySet[Learner], window: PageWindow) -> QuerySet[Learner]:
    """The ids of the learners of ``window`` (a sliced ``values`` queryset)."""
    ordered = in_reverse_report_order(learners) if window.backwards else in_report_order(learners)
    return ordered.values("pk")[window.offset : window.offset + window.limit]


class TabWalk(enum.Enum):
    """How the stored facts find a page of a tab (``tab_walk``)."""

    #: ``id IN (the tab)``: PostgreSQL joins from the tab's stored facts and sorts it.
    JOIN = "join"
    #: Walk the report order (the active learners' index) from the page's end,
    #: probing each learner's stored facts until the page is full.
    PROBE = "probe"
    #: Walk the report order, keeping the learners found in a hash of the tab's
    #: ids, built once.
    HASH_TAB = "hash_tab"
    #: The same, with a hash of the scope's other learners (when they are fewer).
    HASH_OTHERS = "hash_others"


#: A tab this small is sorted whole (a few milliseconds).
SMALL_TAB = 2000
#: Probing this many learners costs about what building a hash of a large tab does.
NEAR_END = 2000


def tab_walk(requirement: Requirement, tab_size: int, scope_size: int, window: PageWindow) -> TabWalk:
    """The cheapest way to the page: sorting a small tab; walking the report
    order from the page's end with a probe per learner when the page is near
    it; deeper in a large tab, one pass over the report order against a hash
    of the smaller of the tab and the rest of the scope (a plan PostgreSQL has
    no way to reach from a join: it would sort the whole tab). Written out
    rather than left to the planner, which takes the probes for random reads
    and sorts the whole tab instead. A group requirement's scope is a small
    part of the learners, so its tabs are always joined and sorted."""
    if requirement.target_group_id is not None or tab_size <= SMALL_TAB:
        return TabWalk.JOIN
    walked = (window.offset + window.limit) * scope_size / tab_size
    if walked <= NEAR_END:
        return TabWalk.PROBE
    return TabWalk.HASH_OTHERS if scope_size - tab_size < tab_size else TabWalk.HASH_TAB


class KeptAsFilter(Func):
    """``(condition) IS TRUE``: the rows of ``condition``, which PostgreSQL then
    evaluates as a filter (an ``IN`` becomes a hashed subplan) rather than
    turning it into a join that loses the order of the walk."""

    template = "(%(expressions)s) IS TRUE"
    output_field = BooleanField()


def stored_tab_learners(
    requirement: Requirement, today: dt.date, *, status: Status, query: str, counts: StatusCounts, window: PageWindow
) -> QuerySet[Learner]:
    """The learners of the tab by the stored facts (exact only while the
    requirement is tallied: the caller tests it in the same statement), in a
    form that reaches ``window`` cheaply (``tab_walk``). Scopes hold active
    learners only, so the walk reads the active learners' index alone."""
    learners = search_learners(Learner.objects.filter(active=True), query)
    walk = tab_walk(requirement, counts[status], counts.total, window)
    if walk is TabWalk.HASH_OTHERS:
        return learners.exclude(pk__in=stored_tab_learner_ids(requirement, today, status, others=True))
    in_tab = stored_tab_learner_ids(requirement, today, status)
    if walk is TabWalk.PROBE:
        # A scalar subquery: evaluated for each learner walked, never hashed.
        probe = Subquery(in_tab.filter(learner_id=OuterRef("pk"))[:1])
        return learners.alias(in_tab=probe).filter(in_tab__isnull=False)
    if walk is TabWalk.HASH_TAB:
        return learners.filter(KeptAsFilter(Q(pk__in=in_tab)))
    return learners.filter(pk__in=in_tab)


def tab_page_ids(
    requirement: Requirement, today: dt.date, *, status: Status, query: str, counts: StatusCounts, window: PageWindow
) -> RawSQL:
    """SQL for the ids of one page of a tab. While the requirement's tallies
    are exact (``tally_fresh``) it has two branches, each gated by the stamp
    test in the statement's own snapshot: the stored facts when it holds, the
    live rules when it does not (only one runs); otherwise the live rules."""
    live = filter_status(search_learners(learner_statuses(requirement, today), query), status)
    if not getattr(requirement, "tally_fresh", False):
        return union_all([in_window(live, window)])
    tallied = tallied_now(requirement)
    stored = stored_tab_learners(requirement, today, status=status, query=query, counts=counts, window=window)
    return union_all([in_window(stored.filter(tallied), window), in_window(live.filter(~Q(tallied)), window)])


def union_all(parts: list[QuerySet]) -> RawSQL:
    """One subquery of the rows of every (sliced) queryset, for ``pk__in``.
    Written out because SQLite takes no LIMIT in the parts of a compound
    SELECT unless each is a subquery of its own."""
    sql, params = [], []
    for index, part in enumerate(parts):
        part_sql, part_params = part.query.sql_with_params()
        sql.append(f"SELECT * FROM ({part_sql}) AS part{index}")
        params.extend(part_params)
    return RawSQL(" UNION ALL ".join(sql), params)  # noqa: S611 (compiled querysets and their parameters)
