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
from contextlib import nullcontext
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Case, DateField, F, Value, When
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from compliance.dates import org_date_of, org_today
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


class RecomputeFailed(Exception):
    """Some requirements failed; the others were recomputed (``result``)."""

    def __init__(self, failures: list[str], result: RecomputeResult):
        super().__init__("; ".join(failures))
        self.failures = failures
        self.result = result


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
    """The org day a learner's current status took effect (never after today).

    In Progress begins when the retake begins, or, for a learner who began it
    while still certified, on the day the certification expired.
    """
    started_on = org_date_of("open_started_at")
    natural = Case(
        When(status=Status.COMPLIANT.value, then="last_completed_on"),
        When(status=Status.EXPIRING_SOON.value, then="warn_on"),
        When(status=Status.EXPIRED.value, then="expires_on"),
        When(status=Status.IN_PROGRESS.value, last_completed_on__isnull=True, then=started_on),
        When(status=Status.IN_PROGRESS.value, then=Greatest(started_on, "expires_on")),
        default=Value(today),
        output_field=DateField(),
    )
    return Least(natural, Value(today, output_field=DateField()))


def _materialise_fresh_state(cursor, requirement: Requirement, today: dt.date) -> None:
    fresh = (
        learner_statuses(requirement, today)
        .annotate(effective_on=_effective_on(today), fresh_learner_id=F("pk"))
        .values("fresh_learner_id", "last_completed_on", "warn_on", "status", "effective_on")
        .order_by()
    )
    sql, params = fresh.query.sql_with_params()
    cursor.execute(f"DROP TABLE IF EXISTS {FRESH}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {FRESH} AS SELECT q.fresh_learner_id AS learner_id, "
        f"q.last_completed_on, q.warn_on, q.status, q.effective_on FROM ({sql}) q",
        params,
    )
    cursor.execute(f"CREATE UNIQUE INDEX {FRESH}_learner ON {FRESH} (learner_id)")
    if connection.vendor == "postgresql":
        cursor.execute(f"ANALYZE {FRESH}")


# The fresh state beside the stored one, and the day the learner last left the
# scope (a rejoiner's history must not go back before it). Parameters: the
# requirement id, twice.
_JOIN_STORED = (
    f"FROM {FRESH} f "
    f"LEFT JOIN {STATE} s ON s.requirement_id = %s AND s.learner_id = f.learner_id "
    f"LEFT JOIN (SELECT learner_id, MAX(changed_on) AS left_on FROM {CHANGE} "
    f"WHERE requirement_id = %s AND to_status = '' GROUP BY learner_id) gone ON gone.learner_id = f.learner_id"
)
_PREVIOUS_CHANGE_ON = "COALESCE(s.status_since, gone.left_on)"
_SINCE_FOR_NEW_STATUS = (
    f"CASE WHEN {_PREVIOUS_CHANGE_ON} IS NULL OR f.effective_on > {_PREVIOUS_CHANGE_ON} "
    f"THEN f.effective_on ELSE {_PREVIOUS_CHANGE_ON} END"
)
_STATUS_CHANGED = "(s.id IS NULL OR s.status <> f.status)"
# Compliant, then Expiring Soon and beyond in the same certification cycle while
# no run looked: the Expiring Soon that happened on warn_on is recorded too.
_PASSED_THROUGH_EXPIRING_SOON = (
    f"(s.status = '{Status.COMPLIANT.value}' "
    f"AND f.status IN ('{Status.EXPIRED.value}', '{Status.IN_PROGRESS.value}') "
    "AND f.last_completed_on = s.last_completed_on AND f.warn_on > s.status_since AND f.warn_on <= %s)"
)
_INSERT_CHANGE = (
    f"INSERT INTO {CHANGE} (requirement_id, learner_id, from_status, to_status, changed_on, recorded_at, run_id) "
)


def _record_expiring_soon_passed_through(cursor, requirement: Requirement, today, now, run_id) -> int:
    if requirement.warning_days == 0:
        return 0
    cursor.execute(
        f"{_INSERT_CHANGE} SELECT %s, f.learner_id, s.status, '{Status.EXPIRING_SOON.value}', f.warn_on, %s, %s "
        f"{_JOIN_STORED} WHERE {_PASSED_THROUGH_EXPIRING_SOON}",
        [requirement.pk, now, run_id, requirement.pk, requirement.pk, today],
    )
    return cursor.rowcount


def _record_entries_and_changes(cursor, requirement: Requirement, today, now, run_id) -> tuple[int, int]:
    requirement_id = requirement.pk
    if requirement.warning_days == 0:
        from_status, params = "COALESCE(s.status, '')", []
    else:
        from_status = (
            f"CASE WHEN {_PASSED_THROUGH_EXPIRING_SOON} THEN '{Status.EXPIRING_SOON.value}' "
            "ELSE COALESCE(s.status, '') END"
        )
        params = [today]
    cursor.execute(
        f"{_INSERT_CHANGE} SELECT %s, f.learner_id, {from_status}, f.status, {_SINCE_FOR_NEW_STATUS}, %s, %s "
        f"{_JOIN_STORED} WHERE {_STATUS_CHANGED}",
        [requirement_id, *params, now, run_id, requirement_id, requirement_id],
    )
    cursor.execute(
        f"SELECT COUNT(*) FILTER (WHERE s.id IS NULL), COUNT(*) FILTER (WHERE s.id IS NOT NULL) "
        f"{_JOIN_STORED} WHERE {_STATUS_CHANGED}",
        [requirement_id, requirement_id],
    )
    entered, changed = cursor.fetchone()
    return entered, changed


def _record_and_drop_leavers(cursor, requirement_id: int, today: dt.date, now, run_id) -> int:
    not_in_fresh = f"NOT EXISTS (SELECT 1 FROM {FRESH} f WHERE f.learner_id = {STATE}.learner_id)"
    cursor.execute(
        f"{_INSERT_CHANGE} SELECT %s, learner_id, status, '', %s, %s, %s "
        f"FROM {STATE} WHERE requirement_id = %s AND {not_in_fresh}",
        [requirement_id, today, now, run_id, requirement_id],
    )
    cursor.execute(f"DELETE FROM {STATE} WHERE requirement_id = %s AND {not_in_fresh}", [requirement_id])
    return cursor.rowcount


def _upsert_changed_state(cursor, requirement_id: int, now) -> int:
    # ``a <> b OR (a IS NULL) <> (b IS NULL)``: "is distinct from" on every SQLite.
    completion_changed = (
        "(s.last_completed_on <> f.last_completed_on OR (s.last_completed_on IS NULL) <> (f.last_completed_on IS NULL))"
    )
    cursor.execute(
        f"INSERT INTO {STATE} (requirement_id, learner_id, last_completed_on, status, status_since, updated_at) "
        f"SELECT %s, f.learner_id, f.last_completed_on, f.status, "
        f"CASE WHEN s.status = f.status THEN s.status_since ELSE {_SINCE_FOR_NEW_STATUS} END, %s "
        f"{_JOIN_STORED} WHERE {_STATUS_CHANGED} OR {completion_changed} "
        "ON CONFLICT (requirement_id, learner_id) DO UPDATE SET "
        "last_completed_on = excluded.last_completed_on, status = excluded.status, "
        "status_since = excluded.status_since, updated_at = excluded.updated_at",
        [requirement_id, now, requirement_id, requirement_id],
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
    today = today or org_today()
    now = timezone.now()
    with transaction.atomic():
        lock_requirement(requirement_id)
        requirement = Requirement.objects.filter(pk=requirement_id).first()
        if requirement is None:
            return None
        run_id = run.pk if run else None
        with connection.cursor() as cursor:
            _materialise_fresh_state(cursor, requirement, today)
            passed_through = _record_expiring_soon_passed_through(cursor, requirement, today, now, run_id)
            entered, changed = _record_entries_and_changes(cursor, requirement, today, now, run_id)
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
        changed=changed + passed_through,
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
    another full run holds it. A requirement that fails does not stop the
    others: the run is recorded as failed and ``RecomputeFailed`` is raised at
    the end. A run is recorded (``RecomputeRun``) unless it is a dry run.
    """
    today = today or org_today()
    result = RecomputeResult(as_of=today, dry_run=dry_run)
    full = requirement_ids is None
    with full_recompute_lock() if full else nullcontext(True) as acquired:
        if not acquired:
            raise RecomputeAlreadyRunning("A full recompute is already running; this one was not started.")
        ids = list(Requirement.objects.values_list("pk", flat=True)) if full else requirement_ids
        run = None
        if not dry_run:
            single = ids[0] if not full and len(ids) == 1 else None
            run = RecomputeRun.objects.create(trigger=trigger, as_of=today, full=full, requirement_id=single)
            result.run_id = run.pk
        failures = []
        for requirement_id in ids:
            try:
                done = requirement_recompute(requirement_id=requirement_id, today=today, run=run, dry_run=dry_run)
            except Exception as exc:
                logger.exception("recompute of requirement %s failed", requirement_id)
                failures.append(f"requirement {requirement_id}: {type(exc).__name__}: {exc}")
                continue
            if done is not None:
                result.requirements.append(done)
        if run is not None:
            _finish_run(run, result, error="\n".join(failures))
    logger.info("recompute (%s) of %d requirement(s): %d change(s)", trigger, len(result.requirements), result.changes)
    if failures:
        raise RecomputeFailed(failures, result)
    return result
