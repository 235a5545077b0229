"""Reads that feed pages and commands."""

from compliance.models import RecomputeRun


def last_successful_full_recompute() -> RecomputeRun | None:
    return RecomputeRun.objects.filter(state=RecomputeRun.State.SUCCEEDED, full=True).order_by("-finished_at").first()
