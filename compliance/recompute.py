"""The recompute: brings the stored per-(requirement, learner) state up to date.

For one requirement it is a fixed set of set-based SQL statements, whatever
the scope size: each learner's facts are gathered once into a temporary table,
the status rules run over them, and only the learners whose state differs are
kept; from those, every status change is recorded (dated on the day it took
effect), joiners are added, leavers dropped and changed rows updated. Nothing
is written when nothing changed. A learner's entry into the scope is written
to the history when the status it opened ends, so a first run, which only
enters learners, writes the state alone, in one ``INSERT … SELECT``.
``docs/engine.md`` walks through the steps.
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
from compliance.models import Learner, LearnerRequirementState, RecomputeFacts, RecomputeRun, Requirement, StatusChange
from compliance.rules import StatusCounts, learner_facts, with_statuses
from compliance.statuses import Status
from compliance.tallies import read_clock, store_tally

logger = logging.getLogger(__name__)

FACTS = RecomputeFacts._meta.db_table
DIFF = "compliance_state_difference"
STATE = LearnerRequirementState._meta.db_table
CHANGE = StatusChange._meta.db_table
LEARNER = Learner._meta.db_table


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
        """Status changes: learners who entered (their entry is written to the
        history when that first status ends), changed status or left (a learner
        deleted behind Django's back leaves without a history row)."""
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


def _create_temporary_table(cursor, name: str, queryset, *, indexed: bool = True) -> None:
    sql, params = queryset.query.sql_with_params()
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(f"CREATE TEMPORARY TABLE {name} AS {sql}", params)
    if indexed:
        cursor.execute(f"CREATE UNIQUE INDEX {name}_learner ON {name} (learner_id)")
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {name}")


def _materialise_facts(cursor, requirement: Requirement, *, indexed: bool) -> None:
    """The facts of every learner in scope, gathered once."""
    facts = (
        learner_facts(requirement)
        .annotate(learner_id=F("pk"))
        .values("learner_id", "last_completed_on", "open_started_at")
    )
    _create_temporary_table(cursor, FACTS, facts.order_by(), indexed=indexed)


def _fresh_state_sql(requirement: Requirement, today: dt.date) -> tuple[str, tuple]:
    """SQL and parameters: each learner's status and the day it took effect,
    by the status rules over the plain columns of the facts table."""
    fresh = (
        with_statuses(RecomputeFacts.objects.all(), requirement, today)
        .annotate(effective_on=_effective_on(today))
        .values("learner_id", "last_completed_on", "warn_on", "status", "effective_on")
        .order_by()
    )
    return fresh.query.sql_with_params()


def _materialise_differences(cursor, requirement: Requirement, today: dt.date) -> None:
    """Keep only the learners whose status or latest completion differs from the
    stored state (or who have none), beside what was stored, and the stored
    learners who left the scope (``leaving``): the statements that follow read
    this table, which is empty when nothing changed. The fresh state is the
    status rules over the facts table, computed here and never stored.

    ``previous_on`` is the day of the learner's last recorded change: the
    stored ``status_since``, or for a rejoiner the day they last left the scope.
    """
    fresh, fresh_params = _fresh_state_sql(requirement, today)
    # ``a <> b OR (a IS NULL) <> (b IS NULL)``: "is distinct from" on every SQLite.
    completion_changed = (
        "(s.last_completed_on <> f.last_completed_on OR (s.last_completed_on IS NULL) <> (f.last_completed_on IS NULL))"
    )
    last_left_on = (
        f"(SELECT MAX(c.changed_on) FROM {CHANGE} c "
        "WHERE c.requirement_id = %s AND c.learner_id = f.learner_id AND c.to_status = '')"
    )
    cursor.execute(f"DROP TABLE IF EXISTS {DIFF}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {DIFF} AS SELECT f.learner_id, f.last_completed_on, f.warn_on, f.status, "
        "f.effective_on, s.learner_id AS state_id, s.status AS old_status, s.last_completed_on AS old_completed_on, "
        f"s.status_since AS old_since, s.entry_recorded AS old_recorded, "
        f"COALESCE(s.status_since, {last_left_on}) AS previous_on, 0 AS leaving "
        f"FROM ({fresh}) f LEFT JOIN {STATE} s ON s.requirement_id = %s AND s.learner_id = f.learner_id "
        f"WHERE s.learner_id IS NULL OR s.status <> f.status OR {completion_changed} "
        "UNION ALL "
        "SELECT s.learner_id, NULL, NULL, NULL, NULL, s.learner_id, s.status, s.last_completed_on, s.status_since, "
        f"s.entry_recorded, s.status_since, 1 FROM {STATE} s WHERE s.requirement_id = %s "
        f"AND NOT EXISTS (SELECT 1 FROM {FACTS} f WHERE f.learner_id = s.learner_id)",
        [requirement.pk, *fresh_params, requirement.pk, requirement.pk],
    )


_SINCE_FOR_NEW_STATUS = (
    "CASE WHEN d.previous_on IS NULL OR d.effective_on > d.previous_on THEN d.effective_on ELSE d.previous_on END"
)
_STATUS_CHANGED = "(d.state_id IS NULL OR d.old_status <> d.status)"
_STORED_STATUS_CHANGED = "(d.state_id IS NOT NULL AND d.old_status <> d.status)"
# Compliant, then Expiring Soon and beyond in the same certification cycle while
# no run looked: the Expiring Soon that happened on warn_on is recorded too.
_PASSED_THROUGH_EXPIRING_SOON = (
    f"(d.old_status = '{Status.COMPLIANT.value}' "
    f"AND d.status IN ('{Status.EXPIRED.value}', '{Status.IN_PROGRESS.value}') "
    "AND d.last_completed_on = d.old_completed_on AND d.warn_on > d.old_since AND d.warn_on <= %s)"
)
_INSERT_CHANGE = (
    f"INSERT INTO {CHANGE} (requirement_id, learner_id, from_status, to_status, changed_on, recorded_at, run_id) "
)


def _record_entries_of_ending_statuses(cursor, requirement_id: int, now, run_id) -> None:
    """The entry into the scope of each learner whose first status ends now, on
    the day it took effect (its ``status_since``): entries are written lazily,
    so that a first run, which enters everyone, writes no history."""
    cursor.execute(
        f"{_INSERT_CHANGE} SELECT %s, d.learner_id, '', d.old_status, d.old_since, %s, %s "
        f"FROM {DIFF} d WHERE {_STORED_STATUS_CHANGED} AND NOT d.old_recorded",
        [requirement_id, now, run_id],
    )


def _record_expiring_soon_passed_through(cursor, requirement: Requirement, today, now, run_id) -> int:
    if requirement.warning_days == 0:
        return 0
    cursor.execute(
        f"{_INSERT_CHANGE} SELECT %s, d.learner_id, d.old_status, '{Status.EXPIRING_SOON.value}', d.warn_on, %s, %s "
        f"FROM {DIFF} d WHERE {_PASSED_THROUGH_EXPIRING_SOON}",
        [requirement.pk, now, run_id, today],
    )
    return cursor.rowcount


def _record_changes(cursor, requirement: Requirement, today, now, run_id) -> tuple[int, int]:
    """Record the status changes of stored learners; count them and the
    learners who entered (whose entry waits until their first status ends)."""
    if requirement.warning_days == 0:
        from_status, params = "COALESCE(d.old_status, '')", []
    else:
        from_status = (
            f"CASE WHEN {_PASSED_THROUGH_EXPIRING_SOON} THEN '{Status.EXPIRING_SOON.value}' "
            "ELSE COALESCE(d.old_status, '') END"
        )
        params = [today]
    cursor.execute(
        f"{_INSERT_CHANGE} SELECT %s, d.learner_id, {from_status}, d.status, {_SINCE_FOR_NEW_STATUS}, %s, %s "
        f"FROM {DIFF} d WHERE {_STORED_STATUS_CHANGED}",
        [requirement.pk, *params, now, run_id],
    )
    cursor.execute(
        "SELECT COUNT(*) FILTER (WHERE d.state_id IS NULL), COUNT(*) FILTER (WHERE d.state_id IS NOT NULL) "
        f"FROM {DIFF} d WHERE {_STATUS_CHANGED}"
    )
    entered, changed = cursor.fetchone()
    return entered, changed


def _record_and_drop_leavers(cursor, requirement_id: int, today: dt.date, now, run_id) -> int:
    """Record the learners who left the scope (their pending entry first) and
    drop their state. A row whose learner was deleted behind Django's back
    (the state carries no database reference) is dropped without history:
    there is nobody left to record it for."""
    leaving = f"d.leaving = 1 AND EXISTS (SELECT 1 FROM {LEARNER} l WHERE l.id = d.learner_id)"
    cursor.execute(
        f"{_INSERT_CHANGE} SELECT %s, d.learner_id, '', d.old_status, d.old_since, %s, %s FROM {DIFF} d "
        f"WHERE {leaving} AND NOT d.old_recorded",
        [requirement_id, now, run_id],
    )
    cursor.execute(
        f"{_INSERT_CHANGE} SELECT %s, d.learner_id, d.old_status, '', %s, %s, %s FROM {DIFF} d WHERE {leaving}",
        [requirement_id, today, now, run_id],
    )
    cursor.execute(
        f"DELETE FROM {STATE} WHERE requirement_id = %s "
        f"AND learner_id IN (SELECT d.learner_id FROM {DIFF} d WHERE d.leaving = 1)",
        [requirement_id],
    )
    return cursor.rowcount


_INSERT_STATE = (
    f"INSERT INTO {STATE} (requirement_id, learner_id, last_completed_on, status, status_since, entry_recorded, "
    "updated_at) "
)


def _upsert_changed_state(cursor, requirement_id: int, now) -> int:
    cursor.execute(
        f"{_INSERT_STATE} SELECT %s, d.learner_id, d.last_completed_on, d.status, "
        f"CASE WHEN d.old_status = d.status THEN d.old_since ELSE {_SINCE_FOR_NEW_STATUS} END, "
        # A joiner's entry waits; a new status was opened by the change just recorded.
        "CASE WHEN d.state_id IS NULL THEN false WHEN d.old_status <> d.status THEN true ELSE d.old_recorded END, %s "
        f"FROM {DIFF} d WHERE d.leaving = 0 "  # (a WHERE: SQLite's parser needs one before ON CONFLICT)
        "ON CONFLICT (requirement_id, learner_id) DO UPDATE SET "
        "last_completed_on = excluded.last_completed_on, status = excluded.status, "
        "status_since = excluded.status_since, entry_recorded = excluded.entry_recorded, "
        "updated_at = excluded.updated_at",
        [requirement_id, now],
    )
    return cursor.rowcount


def _fresh_counts(cursor, requirement: Requirement, today: dt.date) -> StatusCounts:
    fresh, params = _fresh_state_sql(requirement, today)
    cursor.execute(f"SELECT f.status, COUNT(*) FROM ({fresh}) f GROUP BY f.status", params)
    return _counts(cursor.fetchall())


def _counts(rows) -> StatusCounts:
    found = dict(rows)
    return StatusCounts({s: found.get(s.value, 0) for s in Status})


def _never_tracked(cursor, requirement_id: int) -> bool:
    """No stored state and nobody ever left: the recompute has nothing to
    compare with, so every learner in scope simply enters."""
    cursor.execute(
        f"SELECT NOT EXISTS (SELECT 1 FROM {STATE} WHERE requirement_id = %s) "
        f"AND NOT EXISTS (SELECT 1 FROM {CHANGE} WHERE requirement_id = %s AND to_status = '')",
        [requirement_id, requirement_id],
    )
    return bool(cursor.fetchone()[0])


def _enter_everyone(cursor, requirement: Requirement, today: dt.date, now) -> tuple[int, StatusCounts]:
    """The first run of a requirement: one ``INSERT … SELECT`` of every learner
    in scope, in learner order, with no differences to work out. Gives what the
    general steps give when nothing is stored (tests compare the two)."""
    _materialise_facts(cursor, requirement, indexed=False)
    sql, params = _fresh_state_sql(requirement, today)
    cursor.execute(
        f"{_INSERT_STATE} SELECT %s, f.learner_id, f.last_completed_on, f.status, f.effective_on, false, %s "
        f"FROM ({sql}) f",
        [requirement.pk, now, *params],
    )
    entered = cursor.rowcount
    cursor.execute(f"SELECT status, COUNT(*) FROM {STATE} WHERE requirement_id = %s GROUP BY status", [requirement.pk])
    return entered, _counts(cursor.fetchall())


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
        with connection.cursor() as cursor:
            clock = read_clock(cursor, requirement_id)  # before the settings and the facts are read
        requirement = Requirement.objects.filter(pk=requirement_id).first()
        if requirement is None:
            return None
        run_id = run.pk if run else None
        with connection.cursor() as cursor:
            if _never_tracked(cursor, requirement.pk) and not _force_general_steps:
                done = _first_run(cursor, requirement, today, now, clock)
            else:
                done = _later_run(cursor, requirement, today, now, clock, run_id)
        if dry_run:
            transaction.set_rollback(True)
    return done


#: Tests set it to check that the first-run shortcut gives what the general steps give.
_force_general_steps = False


def _first_run(cursor, requirement: Requirement, today, now, clock) -> RequirementRecompute:
    entered, counts = _enter_everyone(cursor, requirement, today, now)
    store_tally(cursor, requirement.pk, clock, FACTS)
    cursor.execute(f"DROP TABLE {FACTS}")
    return RequirementRecompute(
        requirement_id=requirement.pk,
        requirement_name=requirement.name,
        counts=counts,
        entered=entered,
        rows_written=entered,
    )


def _later_run(cursor, requirement: Requirement, today, now, clock, run_id) -> RequirementRecompute:
    _materialise_facts(cursor, requirement, indexed=True)
    _materialise_differences(cursor, requirement, today)
    _record_entries_of_ending_statuses(cursor, requirement.pk, now, run_id)
    passed_through = _record_expiring_soon_passed_through(cursor, requirement, today, now, run_id)
    entered, changed = _record_changes(cursor, requirement, today, now, run_id)
    left = _record_and_drop_leavers(cursor, requirement.pk, today, now, run_id)
    written = _upsert_changed_state(cursor, requirement.pk, now)
    store_tally(cursor, requirement.pk, clock, FACTS)
    counts = _fresh_counts(cursor, requirement, today)
    for table in (FACTS, DIFF):
        cursor.execute(f"DROP TABLE {table}")
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


INTERRUPTED = "interrupted: stopped before it finished (its worker died); a later full run redid the work"


def _close_interrupted_full_runs() -> int:
    """Under PostgreSQL's global lock no other full run is alive, so one still
    marked running was cut off (its worker was killed): record it as failed.
    (On SQLite, where the "lock" is no lock, running rows are left alone.)"""
    if connection.vendor != "postgresql":
        return 0
    return RecomputeRun.objects.filter(full=True, state=RecomputeRun.State.RUNNING).update(
        state=RecomputeRun.State.FAILED, finished_at=timezone.now(), error=INTERRUPTED
    )


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
            if full:
                _close_interrupted_full_runs()
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
