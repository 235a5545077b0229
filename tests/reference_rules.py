"""A plain-Python reading of compliance-rules.md, to check the status engine against.

It works on plain data (no ORM, no SQL) and is written to be obviously right
rather than fast: every rule is spelled out the way the spec states it. The
property tests (``test_rules_property.py``) build the same world in the
database and in these classes and expect the same answers.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

COMPLIANT = "compliant"
EXPIRING_SOON = "expiring_soon"
IN_PROGRESS = "in_progress"
EXPIRED = "expired"
NOT_STARTED = "not_started"
STATUSES = (COMPLIANT, EXPIRING_SOON, IN_PROGRESS, EXPIRED, NOT_STARTED)


@dataclass(frozen=True)
class Learner:
    id: int
    active: bool = True
    group_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Completion:
    learner_id: int
    course_id: int
    completed_at: dt.datetime  # aware


@dataclass(frozen=True)
class Enrollment:
    learner_id: int
    course_id: int
    enrolled_at: dt.datetime  # aware
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    progress: int = 0


@dataclass(frozen=True)
class Swap:
    """``course_id`` was the requirement's course until ``swapped_out_at``."""

    course_id: int
    swapped_out_at: dt.datetime  # aware


@dataclass(frozen=True)
class Requirement:
    valid_days: int
    warning_days: int
    course_id: int
    target_group_id: int | None = None  # None: All Learners
    swaps: tuple[Swap, ...] = ()


@dataclass(frozen=True)
class Facts:
    """What the report shows for one learner in scope."""

    status: str
    last_completed_on: dt.date | None
    warn_on: dt.date | None
    expires_on: dt.date | None
    enrolled_on: dt.date | None
    started: bool
    days_left: int | None
    progress: int | None


@dataclass
class World:
    time_zone: str
    learners: list[Learner] = field(default_factory=list)
    completions: list[Completion] = field(default_factory=list)
    enrollments: list[Enrollment] = field(default_factory=list)

    def org_date(self, moment: dt.datetime) -> dt.date:
        """The calendar day of ``moment`` in the organisation's time zone."""
        return moment.astimezone(zoneinfo.ZoneInfo(self.time_zone)).date()


def in_scope(requirement: Requirement, learner: Learner) -> bool:
    if not learner.active:
        return False
    if requirement.target_group_id is None:
        return True
    return requirement.target_group_id in learner.group_ids


def qualifies(requirement: Requirement, completion: Completion) -> bool:
    if completion.course_id == requirement.course_id:
        return True
    for swap in requirement.swaps:
        if swap.course_id == completion.course_id and completion.completed_at < swap.swapped_out_at:
            return True
    return False


def last_completed_on(world: World, requirement: Requirement, learner: Learner) -> dt.date | None:
    """``C``: the org day of the learner's latest qualifying completion."""
    days = [
        world.org_date(c.completed_at)
        for c in world.completions
        if c.learner_id == learner.id and qualifies(requirement, c)
    ]
    return max(days) if days else None


def open_enrollment_in_current_course(world: World, requirement: Requirement, learner: Learner) -> Enrollment | None:
    for enrollment in world.enrollments:
        if (
            enrollment.learner_id == learner.id
            and enrollment.course_id == requirement.course_id
            and enrollment.completed_at is None
        ):
            return enrollment
    return None


def facts(world: World, requirement: Requirement, learner: Learner, today: dt.date) -> Facts:
    c = last_completed_on(world, requirement, learner)
    enrollment = open_enrollment_in_current_course(world, requirement, learner)
    begun = enrollment is not None and enrollment.started_at is not None

    if c is None:
        expires_on = warn_on = None
    else:
        expires_on = c + dt.timedelta(days=requirement.valid_days)
        warn_on = expires_on - dt.timedelta(days=requirement.warning_days)

    # The rules table: the first rule that matches.
    if c is not None and today < warn_on:
        status = COMPLIANT
    elif c is not None and warn_on <= today < expires_on:
        status = EXPIRING_SOON
    elif begun:
        status = IN_PROGRESS
    elif c is not None:
        status = EXPIRED
    else:
        status = NOT_STARTED

    return Facts(
        status=status,
        last_completed_on=c,
        warn_on=warn_on,
        expires_on=expires_on,
        enrolled_on=world.org_date(enrollment.enrolled_at) if enrollment else None,
        started=begun,
        days_left=(expires_on - today).days if expires_on else None,
        progress=enrollment.progress if enrollment else None,
    )


def report(world: World, requirement: Requirement, today: dt.date) -> dict[int, Facts]:
    """Every learner in scope, by id."""
    return {
        learner.id: facts(world, requirement, learner, today)
        for learner in world.learners
        if in_scope(requirement, learner)
    }


def counts(world: World, requirement: Requirement, today: dt.date) -> dict[str, int]:
    found = dict.fromkeys(STATUSES, 0)
    for learner_facts in report(world, requirement, today).values():
        found[learner_facts.status] += 1
    return found


def compliance_rate(found: dict[str, int]) -> int | None:
    """Whole percent of learners holding a valid certification, rounded down."""
    total = sum(found.values())
    if total == 0:
        return None
    valid = found[COMPLIANT] + found[EXPIRING_SOON]
    return valid * 100 // total
