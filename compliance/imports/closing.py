"""Closing the open enrollments an import's records complete: only the
enrollments the import names, never a whole course."""

from __future__ import annotations

from compliance.audit import snapshot
from compliance.imports.batching import chunked
from compliance.models import Enrollment
from compliance.records import close_enrollments_by_completions

#: What the audit log records of an enrollment (those an import can change, and whose it is).
ENROLLMENT_AUDITED_FIELDS = ["learner", "course", "enrolled_at", "started_at", "progress", "completed_at"]
#: What an import loads of an existing enrollment: all it decides on and audits.
ENROLLMENT_LOADED_FIELDS = ("id", "learner_id", "course_id", "enrolled_at", "started_at", "progress", "completed_at")


def enrollment_state(enrollment: Enrollment) -> dict:
    return snapshot(enrollment, ENROLLMENT_AUDITED_FIELDS)


def close_completed(enrollments: list[Enrollment]) -> list[Enrollment]:
    """Close those of these saved, open enrollments that a completion closes (the
    rule of ``close_enrollments_by_completions``) and give them their new
    ``completed_at`` and ``progress``; returns them.

    A fixed number of queries: an UPDATE per ``LOOKUP_CHUNK`` enrollments,
    and as many SELECTs to read back the closed ones when there are any."""
    by_id = {enrollment.pk: enrollment for enrollment in enrollments}
    closed = 0
    for batch in chunked(by_id):
        closed += close_enrollments_by_completions(Enrollment.objects.filter(pk__in=batch))
    if not closed:
        return []
    found = []
    for batch in chunked(by_id):
        rows = Enrollment.objects.filter(pk__in=batch, completed_at__isnull=False)
        for pk, completed_at, progress in rows.values_list("pk", "completed_at", "progress"):
            enrollment = by_id[pk]
            enrollment.completed_at, enrollment.progress = completed_at, progress
            found.append(enrollment)
    return found
