"""The figures of the benchmark, each timed server-side (the test client calls
the WSGI handler in-process: no network, no browser) over several runs."""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance.dates import org_today
from compliance.models import (
    Enrollment,
    EnrollmentSource,
    LearnerRequirementState,
    Requirement,
    RequirementTally,
    StatusChange,
    TallyStamp,
)
from compliance.recompute import recompute
from compliance.roles import ADMINS_GROUP
from compliance.rules import requirement_status_counts
from compliance.selectors import REPORT_PAGE_SIZE
from compliance.statuses import Status


@dataclass
class Series:
    """Samples of one figure, in seconds."""

    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        """Nearest rank: with few runs, the slowest of them."""
        ordered = sorted(self.samples)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]

    def as_dict(self, scale: float = 1000.0) -> dict:
        unit, digits = ("ms", 1) if scale == 1000.0 else ("s", 3)
        return {
            f"median_{unit}": round(self.median * scale, digits),
            f"p95_{unit}": round(self.p95 * scale, digits),
            "runs": len(self.samples),
        }


def time_runs(action: Callable[[], object], runs: int, *, warm_up: int = 1, before: Callable | None = None) -> Series:
    """Time ``action`` ``runs`` times after ``warm_up`` untimed runs; ``before``
    (untimed) runs before each."""
    series = Series()
    for index in range(warm_up + runs):
        if before is not None:
            before()
        started = time.perf_counter()
        action()
        if index >= warm_up:
            series.samples.append(time.perf_counter() - started)
    return series


# --- The plain-SQL floor and the recompute -------------------------------------------

FLOOR_TABLE = "bench_floor"
FLOOR_SQL = (
    f"INSERT INTO {FLOOR_TABLE} (requirement_id, learner_id, last_completed_on) "
    "SELECT r.id, l.id, MAX(c.completed_on) FROM compliance_requirement r "
    "JOIN compliance_learner l ON l.active AND (r.target_group_id IS NULL OR EXISTS "
    "(SELECT 1 FROM compliance_membership m WHERE m.learner_id = l.id AND m.group_id = r.target_group_id)) "
    "LEFT JOIN compliance_completion c ON c.learner_id = l.id AND c.course_id = r.course_id "
    "GROUP BY r.id, l.id"
)


def measure_floor(runs: int) -> tuple[Series, int]:
    """One ``INSERT … SELECT`` of the latest completion of every (requirement,
    learner in scope) pair into an unindexed table: what PostgreSQL needs at
    the least to look at every pair once."""
    rows = 0

    def fresh_table():
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
            cursor.execute(
                f"CREATE TABLE {FLOOR_TABLE} (requirement_id bigint, learner_id bigint, last_completed_on date)"
            )

    def insert():
        nonlocal rows
        with connection.cursor() as cursor:
            cursor.execute(FLOOR_SQL)
            rows = cursor.rowcount

    series = time_runs(insert, runs, before=fresh_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
    return series, rows


def _forget_state() -> None:
    """Back to a database the recompute has never seen (runs are kept)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {StatusChange._meta.db_table}, {LearnerRequirementState._meta.db_table}, "
            f"{RequirementTally._meta.db_table}, {TallyStamp._meta.db_table}"
        )


def measure_recompute(runs: int) -> dict:
    """The full recompute: first run (from no stored state), the re-run with
    nothing changed, and the run after 1 % of learners got a new completion."""
    pairs = 0
    first_rows: list[int] = []

    def first():
        nonlocal pairs
        result = recompute(trigger="bench")
        pairs = result.total_counts().total
        first_rows.append(result.rows_written)

    first_series = time_runs(first, runs, warm_up=0, before=_forget_state)
    recompute(trigger="bench")  # nothing changed since: state stays
    unchanged_rows: list[int] = []
    unchanged_series = time_runs(
        lambda: unchanged_rows.append(recompute(trigger="bench").rows_written), runs, warm_up=0
    )
    slices = iter(range(runs))
    new_completions: list[int] = []
    changed_rows: list[int] = []
    one_percent_series = time_runs(
        lambda: changed_rows.append(recompute(trigger="bench").rows_written),
        runs,
        warm_up=0,
        before=lambda: new_completions.append(_complete_one_percent(next(slices))),
    )
    return {
        "pairs": pairs,
        "first": first_series.as_dict(scale=1.0) | {"rows_written": max(first_rows)},
        "unchanged": unchanged_series.as_dict(scale=1.0) | {"rows_written": max(unchanged_rows)},
        "one_percent": one_percent_series.as_dict(scale=1.0)
        | {"new_completions": max(new_completions), "rows_written": max(changed_rows)},
    }


def _complete_one_percent(slice_number: int) -> int:
    """A completion today, in one of the All Learners requirements' courses, for
    every hundredth learner (a different hundredth each run)."""
    today = org_today()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO compliance_completion (learner_id, course_id, completed_at, completed_on, source, created_at) "
            "SELECT l.id, r.course_id, now(), %s, 'import', now() FROM compliance_learner l "
            "JOIN (SELECT course_id, row_number() OVER (ORDER BY id) - 1 AS idx FROM compliance_requirement "
            "      WHERE target_group_id IS NULL) r ON r.idx = l.id %% 10 "
            "WHERE l.id %% 100 = %s ON CONFLICT DO NOTHING",
            [today, slice_number % 100],
        )
        return cursor.rowcount


# --- Pages -------------------------------------------------------------------------------


def bench_client() -> Client:
    """A test client signed in as a compliance admin made for the benchmark."""
    user, _ = get_user_model().objects.get_or_create(username="bench-admin")
    user.groups.add(Group.objects.get(name=ADMINS_GROUP))
    client = Client()
    client.force_login(user)
    return client


def count_queries(action: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured.captured_queries)


def _get(client: Client, url: str):
    def action():
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
        if response.streaming:
            for _ in response.streaming_content:
                pass
        return response

    return action


def report_url(requirement: Requirement, status: Status, *, page: int = 1, query: str = "") -> str:
    params = {"status": status.value} | ({"q": query} if query else {}) | ({"page": page} if page != 1 else {})
    return f"{reverse('requirement_report', args=[requirement.pk])}?{urlencode(params)}"


def page_urls(requirement: Requirement, search: str) -> dict[str, str]:
    """Every page the issue times: dashboard, Overview, first and last page of
    each Report tab (the last by its number, as a pager link gives it), a search."""
    counts = requirement_status_counts(requirement, org_today())
    urls = {
        "dashboard": reverse("requirement_list"),
        "overview": reverse("requirement_overview", args=[requirement.pk]),
    }
    for status in Status:
        last_page = max(1, math.ceil(counts[status] / REPORT_PAGE_SIZE))
        urls[f"report {status.value} first"] = report_url(requirement, status)
        urls[f"report {status.value} last (page {last_page})"] = report_url(requirement, status, page=last_page)
    urls["search"] = report_url(requirement, Status.COMPLIANT, query=search)
    return urls


def measure_pages(client: Client, urls: dict[str, str], runs: int) -> dict[str, dict]:
    figures = {}
    for name, url in urls.items():
        action = _get(client, url)
        series = time_runs(action, runs)
        figures[name] = series.as_dict() | {"queries": count_queries(action), "url": url}
    return figures


# --- Export ------------------------------------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


class PeakMemory:
    """The process's resident memory sampled every 10 ms while in the block:
    the peak growth over what it was on entry (C allocations included)."""

    def __enter__(self):
        self.baseline = self.peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, _rss_bytes())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def measure_export(client: Client, requirement: Requirement, runs: int) -> dict:
    """Export CSV of everyone in scope: rows per second, time to the first byte
    and to the first row (the header is sent before the query runs), and the
    peak growth of the process's memory, over ``runs`` runs."""
    url = reverse("requirement_export", args=[requirement.pk])
    totals, first_bytes, first_rows, growths, rows = Series(), Series(), Series(), [], 0
    for index in range(runs + 1):
        with PeakMemory() as memory:
            started = time.perf_counter()
            response = client.get(url)
            chunks = iter(response.streaming_content)
            first = next(chunks)
            first_byte = time.perf_counter() - started
            lines = first.count(b"\r\n")
            first_row = first_byte if lines > 1 else None
            for chunk in chunks:
                lines += chunk.count(b"\r\n")
                if first_row is None and lines > 1:
                    first_row = time.perf_counter() - started
            total = time.perf_counter() - started
        if index == 0:
            continue  # warm-up
        rows = lines - 1  # the header
        totals.samples.append(total)
        first_bytes.samples.append(first_byte)
        first_rows.samples.append(total if first_row is None else first_row)
        growths.append(memory.growth)
    return {
        "rows": rows,
        "rows_per_second": round(rows / totals.median),
        "total": totals.as_dict(scale=1.0),
        "first_byte": first_bytes.as_dict(),
        "first_row": first_rows.as_dict(),
        "memory_growth_mb": round(max(growths) / 2**20, 1),
        "queries": count_queries(_get(client, url)),
    }


# --- Remediate All -----------------------------------------------------------------------


def remediation_tab(requirement: Requirement) -> tuple[Status, int]:
    """The remediable tab (Not Started or Expired) closest to 10,000 learners."""
    counts = requirement_status_counts(requirement, org_today())
    status = min((Status.NOT_STARTED, Status.EXPIRED), key=lambda s: abs(counts[s] - 10_000))
    return status, counts[status]


def _undo_remediation(requirement: Requirement) -> None:
    Enrollment.objects.filter(course_id=requirement.course_id, source=EnrollmentSource.REMEDIATION).delete()


def measure_remediation(client: Client, requirement: Requirement, runs: int) -> dict:
    """Remediate All (the POST of the confirmation, as HTMX sends it) on the
    tab closest to 10,000 learners, and its repeat, which enrolls nobody."""
    status, tab_size = remediation_tab(requirement)
    url = reverse("requirement_remediate", args=[requirement.pk])
    data = {"status": status.value}
    enrolled: list[int] = []

    def remediate():
        before = _remediation_enrollments(requirement)
        response = client.post(url, data, HTTP_HX_REQUEST="true")
        if response.status_code != 200:
            raise RuntimeError(f"POST {url} answered {response.status_code}")
        enrolled.append(_remediation_enrollments(requirement) - before)

    first = time_runs(remediate, runs, warm_up=0, before=lambda: _undo_remediation(requirement))
    first_enrolled = min(enrolled)
    enrolled.clear()
    repeat = time_runs(remediate, runs, warm_up=0)
    repeat_enrolled = max(enrolled)
    queries = count_queries(lambda: client.post(url, data, HTTP_HX_REQUEST="true"))
    _undo_remediation(requirement)
    return {
        "tab": status.value,
        "tab_size": tab_size,
        "enrolled": first_enrolled,
        "first": first.as_dict(),
        "repeat": repeat.as_dict() | {"enrolled": repeat_enrolled},
        "queries": queries,
    }


def _remediation_enrollments(requirement: Requirement) -> int:
    return Enrollment.objects.filter(course_id=requirement.course_id, source=EnrollmentSource.REMEDIATION).aggregate(
        n=Count("pk")
    )["n"]
