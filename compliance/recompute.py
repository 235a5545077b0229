"""The recompute: brings the stored per-(requirement, learner) state up to date.

For one requirement it is a handful of set-based SQL statements, whatever the
scope size: the status engine's query is materialised once into a temporary
table, then compared with the stored state to record every status change
(dated on the day it took effect), add joiners, drop leavers and update what
changed. Rows that did not change are not written, so a second run on the same
day writes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Case, DateField, F, Value, When
from django.db.models.functions import Least, TruncDate
from django.utils import timezone

from compliance.locks import full_recompute_lock, lock_requirement
from compliance.models import LearnerRequirementState, RecomputeRun, Requirement, StatusChange
from compliance.rules import StatusCounts, learner_statuses
from compliance.statuses import Status

logger = logging.getLogger(__name__)

FRESH = "compliance_fresh_state"
STATE = LearnerRequirementState._meta.db_table
CHANGE = StatusChange._meta.db_table


class RecomputeAlreadyRunning(Exception):
    """A full recompute is already running elsewhere."""


@dataclass
class RequirementRecompute:
    requirement_id: int
    requirement_name: str
    counts: StatusCounts
    entered: int = 0
    changed: int = 0
    left: int = 0
    rows_written: int = 0

    @property
    def changes(self) -> int:
        """Status changes recorded: learners who entered, changed status or left."""
        return self.entered + self.changed + self.left


@dataclass
class RecomputeResult:
    as_of: dt.date
    dry_run: bool
    requirements: list[RequirementRecompute] = field(default_factory=list)
    run_id: int | None = None

    @property
    def changes(self) -> int:
        return sum(r.changes for r in self.requirements)

    @property
    def rows_written(self) -> int:
        return sum(r.rows_written for r in self.requirements)

    def total_counts(self) -> StatusCounts:
        return StatusCounts({s: sum(r.counts[s] for r in self.requirements) for s in Status})


def _effective_on(today: dt.date) -> Least:
    """The org day a learner's current status took effect (never after today)."""
    natural = Case(
        When(status=Status.COMPLIANT.value, then="last_completed_on"),
        When(status=Status.EXPIRING_SOON.value, then="warn_on"),
        When(status=Status.EXPIRED.value, then="expires_on"),
        When(status=Status.IN_PROGRESS.value, then=TruncDate("open_started_at")),
        default=Value(today),
        output_field=DateField(),
    )
    return Least(natural, Value(today, output_field=DateField()))


def _materialise_fresh_state(cursor, requirement: Requirement, today: dt.date) -> None:
    fresh = (
        learner_statuses(requirement, today)
        .annotate(effective_on=_effective_on(today), fresh_learner_id=F("pk"))
        .values("fresh_learner_id", "last_completed_on", "status", "effective_on")
        .order_by()
    )
    sql, params = fresh.query.sql_with_params()
    cursor.execute(f"DROP TABLE IF EXISTS {FRESH}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {FRESH} AS "
        f"SELECT q.fresh_learner_id AS learner_id, q.last_completed_on, q.status, q.effective_on FROM ({sql}) q",
        params,
    )
    cursor.execute(f"CREATE UNIQUE INDEX {FRESH}_learner ON {FRESH} (learner_id)")
    if connection.vendor == "postgresql":
        cursor.execute(f"ANALYZE {FRESH}")


_JOIN_STORED = f"FROM {FRESH} f LEFT JOIN {STATE} s ON s.requirement_id = %s AND s.learner_id = f.learner_id"
_SINCE_FOR_NEW_STATUS = (
    "CASE WHEN s.id IS NULL OR f.effective_on > s.status_since THEN f.effective_on ELSE s.status_since END"
)


def _record_entries_and_changes(cursor, requirement_id: int, now, run_id) -> tuple[int, int]:
    cursor.execute(
        f"SELECT COUNT(*) FILTER (WHERE s.id IS NULL), COUNT(*) FILTER (WHERE s.id IS NOT NULL) {_JOIN_STORED} "
        "WHERE s.id IS NULL OR s.status <> f.status",
        [requirement_id],
    )
    entered, changed = cursor.fetchone()
    if entered or changed:
        cursor.execute(
            f"INSERT INTO {CHANGE} (requirement_id, learner_id, from_status, to_status, changed_on, recorded_at, run_id) "
            f"SELECT %s, f.learner_id, COALESCE(s.status, ''), f.status, {_SINCE_FOR_NEW_STATUS}, %s, %s "
            f"{_JOIN_STORED} WHERE s.id IS NULL OR s.status <> f.status",
            [requirement_id, now, run_id, requirement_id],
        )
    return entered, changed


def _record_and_drop_leavers(cursor, requirement_id: int, today: dt.date, now, run_id) -> int:
    not_in_fresh = f"NOT EXISTS (SELECT 1 FROM {FRESH} f WHERE f.learner_id = {STATE}.learner_id)"
    cursor.execute(
        f"INSERT INTO {CHANGE} (requirement_id, learner_id, from_status, to_status, changed_on, recorded_at, run_id) "
        f"SELECT %s, learner_id, status, '', %s, %s, %s FROM {STATE} WHERE requirement_id = %s AND {not_in_fresh}",
        [requirement_id, today, now, run_id, requirement_id],
    )
    cursor.execute(f"DELETE FROM {STATE} WHERE requirement_id = %s AND {not_in_fresh}", [requirement_id])
    return cursor.rowcount


def _upsert_changed_state(cursor, requirement_id: int, now) -> int:
    cursor.execute(
        f"INSERT INTO {STATE} (requirement_id, learner_id, last_completed_on, status, status_since, updated_at) "
        f"SELECT %s, f.learner_id, f.last_completed_on, f.status, "
        f"CASE WHEN s.status = f.status THEN s.status_since ELSE {_SINCE_FOR_NEW_STATUS} END, %s "
        f"{_JOIN_STORED} "
        "WHERE s.id IS NULL OR s.status <> f.status OR s.last_completed_on IS DISTINCT FROM f.last_completed_on "
        "ON CONFLICT (requirement_id, learner_id) DO UPDATE SET "
        "last_completed_on = excluded.last_completed_on, status = excluded.status, "
        "status_since = excluded.status_since, updated_at = excluded.updated_at",
        [requirement_id, now, requirement_id],
    )
    return cursor.rowcount


def _fresh_counts(cursor) -> StatusCounts:
    cursor.execute(f"SELECT status, COUNT(*) FROM {FRESH} GROUP BY status")
    found = dict(cursor.fetchall())
    return StatusCounts({s: found.get(s.value, 0) for s in Status})


def requirement_recompute(
    *, requirement_id: int, today: dt.date | None = None, run: RecomputeRun | None = None, dry_run: bool = False
) -> RequirementRecompute | None:
    """Bring one requirement's stored state up to date; ``None`` if it no longer exists.

    Waits for the requirement's lock, so a recompute asked for during another
    one runs after it, on the settings as they are then.
    """
    today = today or timezone.localdate()
    now = timezone.now()
    with transaction.atomic():
        lock_requirement(requirement_id)
        requirement = Requirement.objects.filter(pk=requirement_id).first()
        if requirement is None:
            return None
        run_id = run.pk if run else None
        with connection.cursor() as cursor:
            _materialise_fresh_state(cursor, requirement, today)
            entered, changed = _record_entries_and_changes(cursor, requirement.pk, now, run_id)
            left = _record_and_drop_leavers(cursor, requirement.pk, today, now, run_id)
            written = _upsert_changed_state(cursor, requirement.pk, now)
            counts = _fresh_counts(cursor)
            cursor.execute(f"DROP TABLE {FRESH}")
        if dry_run:
            transaction.set_rollback(True)
    return RequirementRecompute(
        requirement_id=requirement.pk,
        requirement_name=requirement.name,
        counts=counts,
        entered=entered,
        changed=changed,
        left=left,
        rows_written=written + left,
    )


def _finish_run(run: RecomputeRun, result: RecomputeResult, error: str = "") -> None:
    run.finished_at = timezone.now()
    run.state = RecomputeRun.State.FAILED if error else RecomputeRun.State.SUCCEEDED
    run.changes = result.changes
    run.counts = {str(r.requirement_id): {s.value: r.counts[s] for s in Status} for r in result.requirements}
    run.error = error
    run.save(update_fields=["finished_at", "state", "changes", "counts", "error"])


def recompute(
    *, requirement_ids: list[int] | None = None, trigger: str, today: dt.date | None = None, dry_run: bool = False
) -> RecomputeResult:
    """Recompute the given requirements, or all of them (``None``) as one full run.

    A full run holds the global lock and raises ``RecomputeAlreadyRunning`` when
    another full run holds it. A run is recorded (``RecomputeRun``) unless it is
    a dry run.
    """
    today = today or timezone.localdate()
    result = RecomputeResult(as_of=today, dry_run=dry_run)
    with full_recompute_lock() if requirement_ids is None else _no_lock() as acquired:
        if not acquired:
            raise RecomputeAlreadyRunning("A full recompute is already running; this one was not started.")
        ids = requirement_ids if requirement_ids is not None else list(Requirement.objects.values_list("pk", flat=True))
        run = None
        if not dry_run:
            single = ids[0] if requirement_ids is not None and len(ids) == 1 else None
            run = RecomputeRun.objects.create(
                trigger=trigger, as_of=today, full=requirement_ids is None, requirement_id=single
            )
            result.run_id = run.pk
        try:
            for requirement_id in ids:
                done = requirement_recompute(requirement_id=requirement_id, today=today, run=run, dry_run=dry_run)
                if done is not None:
                    result.requirements.append(done)
        except Exception as exc:
            if run is not None:
                _finish_run(run, result, error=f"{type(exc).__name__}: {exc}")
            raise
        if run is not None:
            _finish_run(run, result)
    logger.info("recompute (%s) of %d requirement(s): %d change(s)", trigger, len(result.requirements), result.changes)
    return result


class _no_lock:
    def __enter__(self) -> bool:
        return True

    def __exit__(self, *exc) -> None:
        return None
