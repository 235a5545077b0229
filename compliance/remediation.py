"""Enroll and Remediate All (compliance-rules.md, "Remediation").

Both create open enrollments in the requirement's current course with one
``INSERT … SELECT … ON CONFLICT DO NOTHING``: the SELECT picks the learners
from the status engine's query as of ``today``, and the database's
one-open-enrollment constraint turns a double click, a retry or a second admin
doing the same at the same moment into rows that are simply not inserted. The
rows the INSERT returns are the exact number newly enrolled.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from compliance.audit import audit_log
from compliance.models import Enrollment, EnrollmentSource, Learner, Requirement
from compliance.rules import LearnerStatusRow, filter_status, learner_status, learner_statuses
from compliance.selectors import search_learners, union_all
from compliance.signals import enrollments_opened
from compliance.statuses import Status
from compliance.tallies import stored_tab_learner_ids, tallied_now

#: The tabs whose learners can be enrolled.
REMEDIABLE_STATUSES = (Status.NOT_STARTED, Status.EXPIRED)


class NotRemediable(Exception):
    """The learner or tab is not one that Enroll or Remediate All applies to (HTTP 409)."""


@dataclass(frozen=True)
class EnrollResult:
    row: LearnerStatusRow
    enrollment_ids: list[int]

    @property
    def newly_enrolled(self) -> bool:
        return bool(self.enrollment_ids)


@dataclass(frozen=True)
class RemediationResult:
    enrollment_ids: list[int]

    @property
    def enrolled(self) -> int:
        return len(self.enrollment_ids)


def is_remediable(status: Status) -> bool:
    return status in REMEDIABLE_STATUSES


def learners_to_enroll(requirement: Requirement, today: dt.date, *, status: Status, query: str) -> QuerySet[Learner]:
    """The learners of a Report tab (search applied) who have no open
    enrollment in the requirement's current course: those Remediate All enrolls.

    Like the Report's rows: while the requirement is tallied (``tally_fresh``)
    one statement holds the stored facts' tab and the live rules' tab, each
    gated by the stamp test in that statement's own snapshot, so only one is
    read and the choice can never rest on facts a write has changed."""
    live = filter_status(search_learners(learner_statuses(requirement, today), query), status)
    live = live.filter(open_enrolled_at__isnull=True)
    if not getattr(requirement, "tally_fresh", False):
        return live
    tallied = tallied_now(requirement)
    open_enrollments = Enrollment.objects.filter(course_id=requirement.course_id, completed_at__isnull=True)
    stored = (
        search_learners(Learner.objects.filter(active=True), query)
        .filter(pk__in=stored_tab_learner_ids(requirement, today, status))
        .exclude(pk__in=open_enrollments.values("learner_id"))
    )
    either = union_all([stored.filter(tallied).values("pk"), live.filter(~Q(tallied)).values("pk")])
    return Learner.objects.filter(pk__in=either)


def learner_enroll(*, actor, requirement: Requirement, learner_id: int, today: dt.date) -> EnrollResult:
    """Enroll one Not Started or Expired learner in the current course.

    A learner already enrolled is a success that enrolls nobody new; a learner
    out of scope or in another status raises ``NotRemediable`` and writes nothing.
    """
    with transaction.atomic():
        candidates = learner_statuses(requirement, today).filter(
            pk=learner_id, status__in=[s.value for s in REMEDIABLE_STATUSES], open_enrolled_at__isnull=True
        )
        new_ids = _insert_enrollments(requirement, candidates, actor=actor)
        row = learner_status(requirement, learner_id, today)
        if row is None:
            raise NotRemediable("This learner is not in the requirement's scope, so there is nothing to enroll.")
        if not new_ids and not is_remediable(row.status):
            raise NotRemediable(
                f"{row.email} is {row.status.label} today, so Enroll does not apply: "
                "only Not Started and Expired learners can be enrolled. Reload the report to see the current status."
            )
        audit_log(
            actor=actor,
            action="requirement.enroll",
            object_type="learner",
            object_id=learner_id,
            object_repr=row.email,
            requirement_id=requirement.pk,
            after={
                "course": requirement.course.code,
                "enrolled": len(new_ids),
                "enrolled_on": row.enrolled_on.isoformat() if row.enrolled_on else None,
            },
        )
        _announce_after_commit(requirement, new_ids)
    return EnrollResult(row=row, enrollment_ids=new_ids)


def requirement_remediate(
    *, actor, requirement: Requirement, status: Status, query: str, today: dt.date
) -> RemediationResult:
    """Enroll every learner of a Not Started or Expired tab (search applied)
    who has no open enrollment in the current course; counted again now, not
    when the confirmation was shown."""
    if not is_remediable(status):
        raise NotRemediable(f"Remediate All applies to the Not Started and Expired tabs, not to {status.label}.")
    with transaction.atomic():
        new_ids = _insert_enrollments(
            requirement, learners_to_enroll(requirement, today, status=status, query=query), actor=actor
        )
        audit_log(
            actor=actor,
            action="requirement.remediate",
            obj=requirement,
            after={"course": requirement.course.code, "status": status.value, "q": query, "enrolled": len(new_ids)},
        )
        _announce_after_commit(requirement, new_ids)
    return RemediationResult(enrollment_ids=new_ids)


def _announce_after_commit(requirement: Requirement, enrollment_ids: list[int]) -> None:
    """Once the enrollments are committed (never before, never after a rollback),
    tell whoever listens (the learners' "enrolled" emails) which ones are new."""
    if enrollment_ids:
        transaction.on_commit(
            lambda: enrollments_opened.send(
                sender=Requirement, requirement_id=requirement.pk, enrollment_ids=enrollment_ids
            ),
            robust=True,
        )


def _insert_enrollments(requirement: Requirement, learners: QuerySet[Learner], *, actor) -> list[int]:
    """Open an enrollment in the current course for each of ``learners``, in one
    statement; those who got one meanwhile (another request) are skipped by
    the constraint. Returns the ids of the enrollments inserted.

    Rows go in in learner order, so two requests that overlap take the index's
    entries in the same order and cannot deadlock.
    """
    chosen = learners.order_by().annotate(chosen_id=F("pk")).values("chosen_id")
    try:
        select_sql, select_params = chosen.query.sql_with_params()
    except EmptyResultSet:  # e.g. an id no row can have: nobody to enroll
        return []
    table = Enrollment._meta.db_table
    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(c)
        for c in ("learner_id", "course_id", "enrolled_at", "progress", "enrolled_by_id", "source", "started_at")
    )
    # "WHERE 1 = 1" keeps SQLite from reading ON CONFLICT as a join's ON.
    sql = (
        f"INSERT INTO {quote(table)} ({columns}) "
        f"SELECT chosen.chosen_id, %s, %s, 0, %s, %s, NULL FROM ({select_sql}) chosen WHERE 1 = 1 "
        "ORDER BY chosen.chosen_id ON CONFLICT DO NOTHING RETURNING id"
    )
    params = (
        requirement.course_id,
        connection.ops.adapt_datetimefield_value(timezone.now()),
        getattr(actor, "pk", None),
        EnrollmentSource.REMEDIATION.value,
        *select_params,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())
