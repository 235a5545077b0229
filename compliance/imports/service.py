"""``run_import``: check a whole file, then write it in one transaction, or nothing."""

from __future__ import annotations

import logging
import os
from typing import BinaryIO

from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance.audit import audit_log
from compliance.imports import completions, courses, enrollments, learners
from compliance.imports.csvfile import file_name_of, open_import_file, read_table
from compliance.imports.errors import ImportRejected, Problems
from compliance.imports.result import ImportKind, ImportResult
from compliance.imports.trail import Trail
from compliance.tasks import queue_recompute

logger = logging.getLogger(__name__)

KINDS: dict[str, ImportKind] = {
    "learners": learners.KIND,
    "courses": courses.KIND,
    "enrollments": enrollments.KIND,
    "completions": completions.KIND,
}


def run_import(
    *,
    kind: str,
    path_or_file: str | os.PathLike | BinaryIO,
    dry_run: bool = False,
    actor=None,
    actor_label: str | None = None,
) -> ImportResult:
    """Import a CSV file of ``kind`` (one of ``KINDS``), all or nothing.

    Raises ``ImportRejected`` with every problem (``line N: reason``) when the
    file is refused. A dry run checks and counts exactly as a real one and
    writes nothing. A real one records a summary audit event (``import.<kind>``)
    and one event per record it created or updated, by ``actor`` (a user, or
    ``None`` for the system; ``actor_label`` names it instead of the default),
    and queues the recompute of the requirements it may change once it commits.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}; one of {', '.join(KINDS)}")
    spec = KINDS[kind]
    file_name = file_name_of(path_or_file)
    now = timezone.now()
    problems = Problems()
    with open_import_file(path_or_file) as file:
        table = read_table(file, columns=spec.columns, problems=problems)
    rows = spec.parse(table, problems, now)
    try:
        with transaction.atomic():
            plan = spec.plan(rows, problems)
            problems.reject_if_any()
            written = spec.write(plan, actor=actor)
            result = ImportResult(
                kind=kind,
                file_name=file_name,
                dry_run=dry_run,
                rows=len(table.rows),
                created=plan.created,
                updated=plan.updated,
                unchanged=plan.unchanged,
                requirement_ids=written.requirement_ids,
                groups_created=written.groups_created,
                enrollments_closed=written.enrollments_closed,
            )
            if dry_run:
                transaction.set_rollback(True)
            else:
                _record(result, written.trail, actor=actor, actor_label=actor_label)
    except IntegrityError as exc:
        logger.warning("import of %s %s failed on a constraint: %s", kind, file_name, exc)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImportRejected(
            [
                f"the database refused the data ({reason}); someone may have changed the same rows meanwhile. "
                "Nothing was written: run the import again"
            ]
        ) from exc
    logger.info("import of %s %s%s: %s", kind, file_name, " (dry run)" if dry_run else "", result.counts())
    return result


def _record(result: ImportResult, trail: Trail, *, actor, actor_label: str | None) -> None:
    after = result.counts()
    if result.kind == "learners":
        after["groups_created"] = result.groups_created
    if result.kind in ("enrollments", "completions"):
        after["enrollments_closed"] = result.enrollments_closed
    summary = audit_log(
        actor=actor,
        actor_label=actor_label,
        action=f"import.{result.kind}",
        object_type="import",
        object_repr=result.file_name,
        after=after,
    )
    trail.log(actor=actor, actor_label=actor_label, tag={"import_file": result.file_name, "import_event": summary.pk})
    if result.requirement_ids:
        queue_recompute(result.requirement_ids, trigger="import")
