"""Writes the admin makes beyond a plain save: bulk (de)activation of learners
and the correction of a completion. Each is audited in its transaction."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from compliance.admin.auditing import RECOMPUTE_TRIGGER
from compliance.audit import audit_log_many
from compliance.dates import org_date
from compliance.models import Completion, Enrollment, Learner, Requirement
from compliance.records import close_enrollments_by_completions
from compliance.tasks import queue_recompute

SET_ACTIVE_BATCH = 2000


def learners_set_active(*, actor, learners: QuerySet[Learner], active: bool) -> int:
    """Activate or deactivate ``learners``: one audit event per learner whose flag
    changes (``admin.activate``/``admin.deactivate``), one UPDATE, then a
    recompute of every requirement once it commits. Returns how many changed.

    The rows are locked first (PostgreSQL), so two admins doing the same at
    once do not both record the same learner.
    """
    action = "admin.activate" if active else "admin.deactivate"
    with transaction.atomic():
        changing = Learner.objects.filter(pk__in=learners.values("pk")).exclude(active=active)
        rows = changing.select_for_update().order_by("pk").values_list("pk", "email", "first_name", "last_name")
        changed = 0
        batch = []
        for pk, email, first_name, last_name in rows.iterator(chunk_size=SET_ACTIVE_BATCH):
            learner = Learner(pk=pk, email=email, first_name=first_name, last_name=last_name)
            batch.append((learner, {"active": not active}, {"active": active}))
            if len(batch) == SET_ACTIVE_BATCH:
                changed += audit_log_many(actor=actor, action=action, entries=batch)
                batch = []
        changed += audit_log_many(actor=actor, action=action, entries=batch)
        if changed:
            changing.update(active=active, updated_at=timezone.now())
            queue_recompute(Requirement.objects.values_list("pk", flat=True), trigger=RECOMPUTE_TRIGGER)
    return changed


def completion_correct(*, completion: Completion) -> Completion:
    """Save a corrected completion: its org day follows ``completed_at``, and an
    open enrollment it now completes is closed (as ``completion_record`` does).
    Enrollments it closed before stay closed. The caller audits."""
    completion.completed_on = org_date(completion.completed_at)
    with transaction.atomic():
        completion.save()
        close_enrollments_by_completions(
            Enrollment.objects.filter(learner_id=completion.learner_id, course_id=completion.course_id)
        )
    return completion
