"""Services that create, change and delete requirements, each audited in the
same transaction and followed by a recompute once it commits."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from compliance.audit import audit_log, snapshot
from compliance.models import Course, LearnerGroup, Requirement, RequirementCourseHistory, RequirementType
from compliance.tasks import queue_recompute

SETTINGS_FIELDS = ["type", "name", "description", "valid_days", "warning_days", "course", "target_group"]


def requirement_create(
    *,
    actor,
    type: RequirementType,
    name: str,
    valid_days: int,
    course: Course,
    warning_days: int = 0,
    description: str = "",
    target_group: LearnerGroup | None = None,
) -> Requirement:
    requirement = Requirement(
        type=type,
        name=name.strip(),
        description=description,
        valid_days=valid_days,
        warning_days=warning_days,
        course=course,
        target_group=target_group,
    )
    requirement.full_clean()
    with transaction.atomic():
        requirement.save()
        audit_log(
            actor=actor, action="requirement.create", obj=requirement, after=snapshot(requirement, SETTINGS_FIELDS)
        )
        queue_recompute([requirement.pk], trigger="settings")
    return requirement


def _course_mapped_at(requirement: Requirement):
    last_swap = requirement.course_history.order_by("-swapped_out_at").values_list("swapped_out_at", flat=True).first()
    return last_swap or requirement.created_at


def requirement_update(*, actor, requirement: Requirement, **changes) -> Requirement:
    """Change settings (any of ``SETTINGS_FIELDS``). A course swap keeps the old
    course in the history, so its completions made before now keep counting."""
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise TypeError(f"not a requirement setting: {', '.join(sorted(unknown))}")
    before = snapshot(requirement, SETTINGS_FIELDS)
    old_course_id = requirement.course_id
    for name, value in changes.items():
        setattr(requirement, name, value.strip() if name == "name" else value)
    requirement.full_clean()
    after = snapshot(requirement, SETTINGS_FIELDS)
    if after == before:
        return requirement
    with transaction.atomic():
        if requirement.course_id != old_course_id:
            RequirementCourseHistory.objects.create(
                requirement=requirement,
                course_id=old_course_id,
                mapped_at=_course_mapped_at(requirement),
                swapped_out_at=timezone.now(),
            )
            # The engine reads the history through this instance; drop a stale prefetch.
            getattr(requirement, "_prefetched_objects_cache", {}).pop("course_history", None)
        requirement.save()
        changed = {k for k in after if after[k] != before[k]}
        audit_log(
            actor=actor,
            action="requirement.update",
            obj=requirement,
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )
        queue_recompute([requirement.pk], trigger="settings")
    return requirement


def requirement_delete(*, actor, requirement: Requirement) -> None:
    """Delete a requirement and its tracking; learners, groups, courses,
    enrollments and completions stay. The audit log keeps its last settings."""
    with transaction.atomic():
        audit_log(
            actor=actor, action="requirement.delete", obj=requirement, before=snapshot(requirement, SETTINGS_FIELDS)
        )
        requirement.delete()
