"""Services that create, change and delete requirements, each audited in the
same transaction and followed by a recompute once it commits."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from compliance.audit import audit_log, snapshot
from compliance.locks import lock_requirement
from compliance.models import Course, LearnerGroup, Requirement, RequirementCourseHistory, RequirementType
from compliance.rules import CourseSwap, Transition, course_swaps, status_transitions
from compliance.tasks import queue_recompute

SETTINGS_FIELDS = ["type", "name", "description", "valid_days", "warning_days", "course", "target_group"]
#: The settings a learner's status depends on; the others (type, name, description) move nobody.
STATUS_FIELDS = ["valid_days", "warning_days", "course", "target_group"]


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
    course in the history, so its completions made before now keep counting.

    The row is locked while it changes, so two admins changing it at once are
    applied one after the other, each against the settings the other left.
    """
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise TypeError(f"not a requirement setting: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        current = Requirement.objects.select_for_update().get(pk=requirement.pk)
        before = snapshot(current, SETTINGS_FIELDS)
        old_course_id = current.course_id
        for name, value in changes.items():
            setattr(current, name, value.strip() if name == "name" else value)
        current.full_clean()
        after = snapshot(current, SETTINGS_FIELDS)
        if after != before:
            if current.course_id != old_course_id:
                RequirementCourseHistory.objects.create(
                    requirement=current,
                    course_id=old_course_id,
                    mapped_at=_course_mapped_at(current),
                    swapped_out_at=timezone.now(),
                )
            current.save()
            changed = [name for name in SETTINGS_FIELDS if after[name] != before[name]]
            audit_log(
                actor=actor,
                action="requirement.update",
                obj=current,
                before={name: before[name] for name in changed},
                after={name: after[name] for name in changed},
            )
            queue_recompute([current.pk], trigger="settings")
    _refresh(requirement)
    return requirement


def _refresh(requirement: Requirement) -> None:
    """Bring the caller's instance, and the history the engine reads through it, up to date."""
    requirement.refresh_from_db()
    getattr(requirement, "_prefetched_objects_cache", {}).pop("course_history", None)


def requirement_delete(*, actor, requirement: Requirement) -> None:
    """Delete a requirement and its tracking; learners, groups, courses,
    enrollments and completions stay. The audit log keeps its last settings.

    Waits for a recompute of it in progress, which would otherwise write
    tracking rows for a requirement that is going away.
    """
    with transaction.atomic():
        lock_requirement(requirement.pk)
        audit_log(
            actor=actor, action="requirement.delete", obj=requirement, before=snapshot(requirement, SETTINGS_FIELDS)
        )
        requirement.delete()


def requirement_change_preview(*, requirement: Requirement, changes: dict, today: dt.date) -> list[Transition]:
    """What ``requirement_update`` with ``changes`` would do to the learners'
    statuses today, without changing anything: how many would move from each
    status to each other one, or into or out of scope. A change of none of
    ``STATUS_FIELDS`` moves nobody and runs no query."""
    if not _changes_status_fields(requirement, changes):
        return []
    proposed = Requirement(pk=requirement.pk, **{name: getattr(requirement, name) for name in SETTINGS_FIELDS})
    for name, value in changes.items():
        setattr(proposed, name, value)
    swaps = course_swaps(requirement)
    if proposed.course_id != requirement.course_id:
        swaps = [*swaps, CourseSwap(requirement.course_id, timezone.now())]
    return status_transitions(requirement, proposed, swaps, today)


def _changes_status_fields(requirement: Requirement, changes: dict) -> bool:
    current = snapshot(requirement, STATUS_FIELDS)
    return any(_plain(changes[name]) != current[name] for name in STATUS_FIELDS if name in changes)


def _plain(value):
    return getattr(value, "pk", value)


def changes_fingerprint(requirement: Requirement, changes: dict) -> str:
    """A short digest of the current and the proposed values of the status
    fields: a confirmation given for one preview cannot apply a change that
    moves learners differently, while a new name or description keeps it."""
    current = snapshot(requirement, STATUS_FIELDS)
    proposed = {name: _plain(changes[name]) for name in STATUS_FIELDS if name in changes}
    text = json.dumps([requirement.pk, current, proposed], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def describe_transitions(transitions: list[Transition]) -> list[str]:
    """Sentences by outcome, largest first: "12 learners would become Expired",
    "3 learners would leave the scope", "5 learners would join the scope as Not Started"."""
    by_outcome: dict[tuple, int] = defaultdict(int)
    for transition in transitions:
        by_outcome[(transition.after, transition.before is None)] += transition.count
    sentences = []
    for (after, joining), count in sorted(by_outcome.items(), key=lambda item: -item[1]):
        learners = f"{count} learner{'s' if count != 1 else ''}"
        if after is None:
            sentences.append(f"{learners} would leave the scope")
        elif joining:
            sentences.append(f"{learners} would join the scope as {after.label}")
        else:
            sentences.append(f"{learners} would become {after.label}")
    return sentences
