"""Import of learners: key email (case-insensitive, stored in lower case).

``groups`` becomes the learner's exact set of groups (created when new, matched
case-insensitively); without the column, groups are left as they are. Learners
not in the file are left as they are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from compliance.audit import snapshot
from compliance.imports import cells
from compliance.imports.batching import WRITE_BATCH, chunked
from compliance.imports.csvfile import Columns, CsvRow, CsvTable
from compliance.imports.errors import FirstLines, Problems
from compliance.imports.lookups import groups_by_name, learners_by_email
from compliance.imports.result import ImportKind, Written
from compliance.imports.trail import Trail
from compliance.models import Learner, LearnerGroup, Membership, Requirement

COLUMNS = Columns(required=("email", "first_name", "last_name"), optional=("groups", "active", "manager_email"))
NAME_MAX = 150
GROUP_NAME_MAX = 200
UPDATED_FIELDS = ["first_name", "last_name", "active", "manager_email", "updated_at"]
AUDITED_FIELDS = ["email", "first_name", "last_name", "active", "manager_email"]


@dataclass(slots=True)
class LearnerRow:
    line: int
    email: str
    first_name: str
    last_name: str
    active: bool
    manager_email: str | None  # None: no such column, leave it as it is
    groups: dict[str, str] | None  # lower-case name -> name as written; None: no such column


def _group_names(value: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for part in value.split(";"):
        name = part.strip()
        if not name:
            continue
        cells.text(name, column=f'group "{name[:40]}"', max_length=GROUP_NAME_MAX)
        names.setdefault(name.lower(), name)
    return names


def _parse_row(row: CsvRow, table: CsvTable, problems: Problems) -> LearnerRow | None:
    checks = {
        "email": lambda: cells.email(row["email"]),
        "first_name": lambda: cells.text(row["first_name"], column="first_name", max_length=NAME_MAX),
        "last_name": lambda: cells.text(row["last_name"], column="last_name", max_length=NAME_MAX),
        "active": lambda: cells.boolean(row["active"], column="active", empty=True),
        "manager_email": lambda: (
            cells.optional_email(row["manager_email"], column="manager_email") if table.has("manager_email") else None
        ),
        "groups": lambda: _group_names(row["groups"]) if table.has("groups") else None,
    }
    values = cells.parse_all(checks, line=row.line, problems=problems)
    return None if values is None else LearnerRow(line=row.line, **values)


def parse(table: CsvTable, problems: Problems, now: dt.datetime) -> list[LearnerRow]:
    rows = [row for row in (_parse_row(csv_row, table, problems) for csv_row in table.rows) if row]
    seen = FirstLines(problems)
    return [row for row in rows if not seen.repeated(row.email, line=row.line, label=f"email {row.email}")]


@dataclass
class LearnerPlan:
    new: list[Learner] = field(default_factory=list)
    changed: list[Learner] = field(default_factory=list)  # whose own fields change (groups aside)
    unchanged: int = 0
    new_groups: dict[str, str] = field(default_factory=dict)  # lower-case name -> name as first written
    group_ids: dict[str, int] = field(default_factory=dict)  # lower-case name -> id, existing groups
    group_names: dict[str, str] = field(default_factory=dict)  # lower-case name -> name, existing groups
    memberships_to_add: list[tuple[Learner, str]] = field(default_factory=list)  # (learner, lower-case group name)
    memberships_to_drop: list[int] = field(default_factory=list)
    trail: Trail = field(default_factory=Trail)

    @property
    def created(self) -> int:
        return len(self.new)

    @property
    def updated(self) -> int:
        """Learners whose fields or groups change: one ``import.update`` event each."""
        return len(self.trail.updated)

    def names_of(self, group_keys) -> list[str]:
        """The sorted names of these groups (lower-case names), as stored or as they will be."""
        return sorted(self.group_names.get(key) or self.new_groups[key] for key in group_keys)


def _memberships_of(learner_ids: list[int]) -> dict[int, dict[int, int]]:
    """learner id -> {group id: membership id}."""
    found: dict[int, dict[int, int]] = {}
    for batch in chunked(learner_ids):
        for pk, learner_id, group_id in Membership.objects.filter(learner_id__in=batch).values_list(
            "id", "learner_id", "group_id"
        ):
            found.setdefault(learner_id, {})[group_id] = pk
    return found


def _set_fields(learner: Learner, row: LearnerRow) -> bool:
    """Give ``learner`` the row's values; whether any changed."""
    wanted = {"first_name": row.first_name, "last_name": row.last_name, "active": row.active}
    if row.manager_email is not None:
        wanted["manager_email"] = row.manager_email
    changed = False
    for name, value in wanted.items():
        if getattr(learner, name) != value:
            setattr(learner, name, value)
            changed = True
    return changed


def _plan_groups(plan: LearnerPlan, learner: Learner, wanted: dict[str, str], current: dict[int, int]) -> None:
    """Plan the memberships that make ``wanted`` the learner's exact groups."""
    kept = set()
    for key, name in wanted.items():
        group_id = plan.group_ids.get(key)
        if group_id is None:
            plan.new_groups.setdefault(key, name)
        elif group_id in current:
            kept.add(group_id)
            continue
        plan.memberships_to_add.append((learner, key))
    plan.memberships_to_drop += [membership_id for group_id, membership_id in current.items() if group_id not in kept]


def _state(learner: Learner, groups: list[str] | None) -> dict:
    """What the audit log records of a learner: its fields, and its groups when the file sets them."""
    data = snapshot(learner, AUDITED_FIELDS)
    if groups is not None:
        data["groups"] = groups
    return data


def plan(rows: list[LearnerRow], problems: Problems) -> LearnerPlan:
    fields = ("id", "email", "first_name", "last_name", "active", "manager_email")
    existing = learners_by_email((row.email for row in rows), fields=fields)
    with_groups = any(row.groups is not None for row in rows)
    result = LearnerPlan()
    group_name_of_id: dict[int, str] = {}
    if with_groups:
        groups = groups_by_name()
        result.group_ids = {key: group.pk for key, group in groups.items()}
        result.group_names = {key: group.name for key, group in groups.items()}
        group_name_of_id = {group.pk: group.name for group in groups.values()}
    memberships = _memberships_of([learner.pk for learner in existing.values()]) if with_groups else {}
    for row in rows:
        learner = existing.get(row.email)
        if learner is None:
            learner = Learner(email=row.email, manager_email=row.manager_email or "")
            _set_fields(learner, row)
            result.new.append(learner)
            if row.groups is not None:
                _plan_groups(result, learner, row.groups, {})
            groups_after = None if row.groups is None else result.names_of(row.groups)
            result.trail.add_created(learner, _state(learner, groups_after))
            continue
        current = memberships.get(learner.pk, {})
        groups_before = None if row.groups is None else sorted(group_name_of_id[pk] for pk in current)
        before = _state(learner, groups_before)
        if _set_fields(learner, row):
            result.changed.append(learner)
        if row.groups is not None:
            _plan_groups(result, learner, row.groups, current)
        groups_after = None if row.groups is None else result.names_of(row.groups)
        if not result.trail.add_updated(learner, before, _state(learner, groups_after)):
            result.unchanged += 1
    return result


def write(plan: LearnerPlan, *, actor=None) -> Written:
    groups = LearnerGroup.objects.bulk_create(
        [LearnerGroup(name=name) for name in plan.new_groups.values()], batch_size=WRITE_BATCH
    )
    group_ids = plan.group_ids | {group.name.lower(): group.pk for group in groups}
    Learner.objects.bulk_create(plan.new, batch_size=WRITE_BATCH)
    now = timezone.now()
    for learner in plan.changed:
        learner.updated_at = now
    Learner.objects.bulk_update(plan.changed, UPDATED_FIELDS, batch_size=WRITE_BATCH)
    for batch in chunked(plan.memberships_to_drop):
        Membership.objects.filter(pk__in=batch).delete()
    Membership.objects.bulk_create(
        [Membership(learner_id=learner.pk, group_id=group_ids[key]) for learner, key in plan.memberships_to_add],
        batch_size=WRITE_BATCH,
    )
    changed_scope = plan.created or plan.updated
    requirement_ids = (
        frozenset(Requirement.objects.order_by().values_list("pk", flat=True)) if changed_scope else frozenset()
    )
    return Written(requirement_ids=requirement_ids, groups_created=len(groups), trail=plan.trail)


KIND = ImportKind(columns=COLUMNS, parse=parse, plan=plan, write=write)
