"""Reads that feed pages and commands."""

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from compliance.models import Learner, RecomputeRun


def last_successful_full_recompute() -> RecomputeRun | None:
    return RecomputeRun.objects.filter(state=RecomputeRun.State.SUCCEEDED, full=True).order_by("-finished_at").first()


def search_learners(learners: QuerySet[Learner], text: str) -> QuerySet[Learner]:
    """Every white-space separated term must match part of first name, last name or email."""
    for term in text.split():
        learners = learners.filter(
            Q(first_name__icontains=term) | Q(last_name__icontains=term) | Q(email__icontains=term)
        )
    return learners


def in_report_order(learners: QuerySet[Learner]) -> QuerySet[Learner]:
    return learners.order_by(Lower("last_name"), Lower("first_name"), Lower("email"), "id")
