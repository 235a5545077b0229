"""Services over learners."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from compliance.audit import audit_log_many
from compliance.models import Learner, Requirement
from compliance.tasks import queue_recompute

SET_ACTIVE_BATCH = 2000


def learners_set_active(*, actor, learners: QuerySet[Learner], active: bool, trigger: str = "admin") -> int:
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
            queue_recompute(Requirement.objects.values_list("pk", flat=True), trigger=trigger)
    return changed
