"""Reads for the audit log pages and their CSV export: filtering, the filter
options, one page of events with readable summaries, and the export's rows.

A summary names what an event's snapshots refer to by id (course, group, type,
learner, user). The ids of a page (or of an export chunk) are resolved with at
most one query per model, never one per row; an id whose object is gone shows
as ``#<id> (deleted)``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils import dateformat, timezone

from compliance.dates import org_day_start, org_timezone
from compliance.exports import protect_text, requirement_slug
from compliance.models import (
    AuditEvent,
    Course,
    EnrollmentSource,
    Learner,
    LearnerGroup,
    Requirement,
    RequirementType,
)
from compliance.selectors import PageNumbers, clamp_page
from compliance.statuses import STATUS_LABELS

PAGE_SIZE = 50
#: Events read per round trip from the export's server-side cursor, and named per lookup.
EXPORT_CHUNK_SIZE = 2000
#: Text values longer than this are cut in summaries (the export's before/after columns keep them whole).
SUMMARY_TEXT_MAX = 200

ACTION_LABELS = {
    "requirement.create": "Requirement created",
    "requirement.update": "Settings changed",
    "requirement.delete": "Requirement deleted",
    "requirement.enroll": "Learner enrolled",
    "requirement.remediate": "Remediate All",
    "requirement.export": "Report exported",
    "audit_log.export": "Audit log exported",
    "admin.add": "Added in admin",
    "admin.change": "Changed in admin",
    "admin.delete": "Deleted in admin",
    "admin.password": "Password changed in admin",
    "admin.activate": "Activated in admin",
    "admin.deactivate": "Deactivated in admin",
    "import.learners": "Learners imported",
    "import.courses": "Courses imported",
    "import.enrollments": "Enrollments imported",
    "import.completions": "Completions imported",
    "import.create": "Created by import",
    "import.update": "Updated by import",
    "requirement.notifications": "Notification settings changed",
    "notification_log.export": "Notifications log exported",
    "auth.login": "Signed in",
    "auth.login_failed": "Sign-in failed",
    "auth.login_refused": "Sign-in refused (too many failures)",
}

#: ``object_type`` is the model name (``learnergroup``); ``group`` is a Django
#: auth group (a role), ``import`` an import file.
OBJECT_TYPE_LABELS = {
    "requirement": "Requirement",
    "learner": "Learner",
    "learnergroup": "Group",
    "membership": "Membership",
    "course": "Course",
    "enrollment": "Enrollment",
    "completion": "Completion",
    "requirementtype": "Requirement type",
    "user": "User",
    "group": "User group",
    "import": "Import file",
}
#: Objects whose name reads best in quotes ("Requirement “GDPR”"); the others are emails or descriptions.
QUOTED_OBJECT_TYPES = {"requirement", "learnergroup", "course", "requirementtype", "group", "import"}

FIELD_LABELS = {
    "type": "Type",
    "valid_days": "Valid for",
    "warning_days": "Warning",
    "target_group": "Target",
    "enrolled_at": "Enrolled at",
    "started_at": "Started at",
    "completed_at": "Completed at",
    "completed_on": "Completed on",
    "enrolled_by": "Enrolled by",
    "recorded_by": "Recorded by",
    "manager_email": "Manager email",
    "url": "URL",
    "is_staff": "Staff",
    "is_superuser": "Superuser",
    "is_active": "Active",
    "notify_learners": "Email learners",
    "reminder_every_days": "Reminder every (days)",
    "reminder_max": "Reminders per cycle",
    "digests": "Weekly digests",
}
#: The order fields are listed in (PostgreSQL's jsonb keeps no key order): the
#: object first, then what a person reads first; other keys follow by name.
FIELD_ORDER = [
    "learner",
    "type",
    "name",
    "description",
    "valid_days",
    "warning_days",
    "course",
    "target_group",
    "group",
    "email",
    "username",
    "first_name",
    "last_name",
    "active",
    "is_active",
    "manager_email",
    "groups",
    "code",
    "title",
    "url",
    "enrolled_at",
    "started_at",
    "progress",
    "completed_at",
    "completed_on",
    "source",
    "enrolled_by",
    "recorded_by",
    "colour",
    "position",
]
FIELD_RANK = {key: rank for rank, key in enumerate(FIELD_ORDER)}
#: Keys an import adds to each of its events; the summary names the file in its sentence instead.
IMPORT_TAGS = ("import_file", "import_event")
#: Keys of snapshots that hold a foreign key's id, and the model it refers to.
REFERENCE_MODELS = {
    "course": Course,
    "type": RequirementType,
    "target_group": LearnerGroup,
    "group": LearnerGroup,
    "learner": Learner,
    "enrolled_by": "user",
    "recorded_by": "user",
}
CHOICE_LABELS = {
    "source": dict(EnrollmentSource.choices),
    "colour": dict(RequirementType.Colour.choices),
}
DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")


# --- Filters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    """What the log is filtered by; empty values filter nothing. Days are org days, both inclusive."""

    action: str = ""
    actor: str = ""
    requirement_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @property
    def any(self) -> bool:
        return bool(self.action or self.actor or self.requirement_id is not None or self.date_from or self.date_to)

    def as_query(self) -> dict[str, str]:
        """The URL parameters of these filters, empty ones left out."""
        query = {
            "action": self.action,
            "actor": self.actor,
            "requirement": "" if self.requirement_id is None else str(self.requirement_id),
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
        }
        return {name: value for name, value in query.items() if value}


def filter_events(events: QuerySet[AuditEvent], filters: AuditFilters) -> QuerySet[AuditEvent]:
    """``events`` narrowed by ``filters``, newest first."""
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.actor:
        events = events.filter(actor_label=filters.actor)
    if filters.requirement_id is not None:
        events = events.filter(requirement_id=filters.requirement_id)
    start = _day_start_or_none(filters.date_from)
    if start is not None:
        events = events.filter(at__gte=start)
    end = _day_start_or_none(filters.date_to, days_after=1)
    if end is not None:
        events = events.filter(at__lt=end)
    return events.order_by("-at", "-id")


def _day_start_or_none(day: dt.date | None, days_after: int = 0) -> dt.datetime | None:
    """00:00 of ``day`` (plus ``days_after``) in the org's zone; ``None`` for no day, or for a
    day at the ends of the calendar (year 1, 9999), which bounds nothing an event can have."""
    if day is None:
        return None
    try:
        return org_day_start(day + dt.timedelta(days=days_after)).astimezone(dt.UTC)
    except OverflowError:
        return None


# --- Filter options --------------------------------------------------------------------


@dataclass(frozen=True)
class RequirementOption:
    id: int
    name: str
    deleted: bool = False

    @property
    def value(self) -> str:
        return str(self.id)


@dataclass(frozen=True)
class FilterOptions:
    """The choices of the filter form: what is present in the log (or in a requirement's part of it)."""

    actions: list[tuple[str, str]]
    actors: list[str]
    #: ``None`` where the page has no requirement filter (a requirement's own log).
    requirements: list[RequirementOption] | None = None

    @property
    def existing_requirements(self) -> list[RequirementOption]:
        return [option for option in self.requirements or [] if not option.deleted]

    @property
    def deleted_requirements(self) -> list[RequirementOption]:
        return [option for option in self.requirements or [] if option.deleted]

    def requirement_names(self) -> dict[int, str]:
        """Each requirement's name, a deleted one's marked as such."""
        return {option.id: option.name + (" (deleted)" if option.deleted else "") for option in self.requirements or []}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def filter_options(events: QuerySet[AuditEvent], *, with_requirements: bool) -> FilterOptions:
    """The actions and actors present in ``events`` (one query each) and, for
    the global log, the requirements (two queries: those that exist, and the
    deleted ones by the name their ``requirement.delete`` event recorded)."""
    actions = set(events.order_by().values_list("action", flat=True).distinct())
    actors = set(events.order_by().values_list("actor_label", flat=True).distinct())
    return FilterOptions(
        actions=sorted(((action, action_label(action)) for action in actions), key=lambda item: item[1].lower()),
        actors=sorted(actors, key=lambda label: (label.lower(), label)),
        requirements=requirement_options() if with_requirements else None,
    )


def requirement_options() -> list[RequirementOption]:
    """Every requirement, then every deleted one, so that its events can still be found.

    Deleted requirements are found through their ``requirement.delete`` event
    (read through the index on object type and id), labelled with the name
    it recorded. Requirement ids are never reused (both databases), so an id
    names one requirement for ever."""
    existing = [
        RequirementOption(pk, name)
        for pk, name in Requirement.objects.order_by(Lower("name")).values_list("pk", "name")
    ]
    existing_ids = {option.id for option in existing}
    deleted = {}
    deletions = AuditEvent.objects.filter(object_type="requirement", action="requirement.delete").values_list(
        "object_id", "before__name"
    )
    for object_id, name in deletions:
        if object_id.isascii() and object_id.isdigit() and int(object_id) not in existing_ids:
            deleted[int(object_id)] = RequirementOption(int(object_id), str(name or f"Requirement #{object_id}"), True)
    return existing + sorted(deleted.values(), key=lambda option: (option.name.lower(), option.id))


# --- Names of what snapshots refer to ------------------------------------------------------


class Names:
    """The display names of the objects a batch of events refers to by id."""

    def __init__(self, names: dict[object, dict[int, str]]):
        self._names = names

    def name(self, key: str, pk: int) -> str:
        model = REFERENCE_MODELS[key]
        return self._names.get(model, {}).get(pk, f"#{pk} (deleted)")


def is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def referenced_ids(events: Iterable[AuditEvent]) -> dict[object, set[int]]:
    """The ids each model is referred to by in the events' snapshots."""
    ids: dict[object, set[int]] = defaultdict(set)
    for event in events:
        for snapshot in (event.before, event.after):
            if isinstance(snapshot, dict):
                for key, value in snapshot.items():
                    if key in REFERENCE_MODELS and is_id(value):
                        ids[REFERENCE_MODELS[key]].add(value)
    return ids


def resolve_names(events: Iterable[AuditEvent]) -> Names:
    """The names of everything ``events`` refer to by id: one query per model referred to."""
    names: dict[object, dict[int, str]] = {}
    for model, ids in referenced_ids(events).items():
        names[model] = _names_of(model, sorted(ids))
    return Names(names)


def _names_of(model, ids: list[int]) -> dict[int, str]:
    if model is Course:
        return {
            pk: f"{code} · {title}"
            for pk, code, title in Course.objects.filter(pk__in=ids).values_list("pk", "code", "title")
        }
    if model is Learner:
        return dict(Learner.objects.filter(pk__in=ids).values_list("pk", "email"))
    if model == "user":
        user_model = get_user_model()
        return dict(user_model.objects.filter(pk__in=ids).values_list("pk", user_model.USERNAME_FIELD))
    return dict(model.objects.filter(pk__in=ids).values_list("pk", "name"))


# --- Readable summaries --------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One field of a summary: ``before`` → ``after``, or a single value (``None`` on the other side)."""

    label: str
    before: str | None
    after: str | None
    #: A unit written once after both values ("365 → 180 days").
    unit: str = ""

    @property
    def is_change(self) -> bool:
        return self.before is not None and self.after is not None

    @property
    def value(self) -> str:
        """The single value of a field that was set or removed."""
        return self.after if self.after is not None else self.before or ""

    @property
    def text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.is_change:
            return f"{self.label}: {self.before} → {self.after}{unit}"
        return f"{self.label}: {self.value}{unit}"


@dataclass(frozen=True)
class Summary:
    sentence: str = ""
    changes: list[Change] = field(default_factory=list)

    @property
    def text(self) -> str:
        """One line, for the CSV: the sentence, then each change."""
        return "; ".join([*([self.sentence] if self.sentence else []), *(change.text for change in self.changes)])


def summarize(event: AuditEvent, names: Names) -> Summary:
    """What ``event`` did, in words: a sentence for actions with a specific
    meaning, and the fields it set, changed or removed."""
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    action = event.action
    if action == "requirement.enroll":
        return Summary(_enroll_sentence(after))
    if action == "requirement.remediate":
        return Summary(_remediate_sentence(after))
    if action == "requirement.export":
        return Summary(_export_sentence(after))
    if action == "audit_log.export":
        return Summary(_audit_export_sentence(after))
    if action == "admin.password":
        return Summary(_password_sentence(before, after))
    if action.startswith("import.") and event.object_type == "import":
        return Summary(_import_sentence(after))
    sentence = ""
    if action.startswith("import.") and after.get("import_file"):
        sentence = f"From “{after['import_file']}”"
    return Summary(sentence, field_changes(before, after, names))


def field_changes(before: dict, after: dict, names: Names) -> list[Change]:
    """Each field of the snapshots: before → after where both sides have it
    (an update records only what changed), else its one value."""
    keys = sorted(({*before, *after} - set(IMPORT_TAGS)), key=lambda key: (FIELD_RANK.get(key, len(FIELD_RANK)), key))
    changes = []
    for key in keys:
        if (key in before) != (key in after) and _is_blank(key, before.get(key, after.get(key))):
            continue  # a created or deleted object's empty field says nothing
        old = _value(key, before[key], names) if key in before else None
        new = _value(key, after[key], names) if key in after else None
        unit = ""
        if old is not None and new is not None and old[1] == new[1]:
            unit = old[1]
            old_text, new_text = old[0], new[0]
        else:
            old_text = _with_unit(old) if old is not None else None
            new_text = _with_unit(new) if new is not None else None
        changes.append(Change(field_label(key), old_text, new_text, unit))
    return changes


def _is_blank(key: str, value) -> bool:
    return value in ("", None, [], {}) and key != "target_group"  # no target group means All Learners


def field_label(key: str) -> str:
    return FIELD_LABELS.get(key) or key.replace("_", " ").capitalize()


def _with_unit(value: tuple[str, str]) -> str:
    text, unit = value
    return f"{text} {unit}" if unit else text


def _value(key: str, value, names: Names) -> tuple[str, str]:
    """``(text, unit)`` of one snapshot value."""
    if key in REFERENCE_MODELS and is_id(value):
        return names.name(key, value), ""
    if key == "target_group" and value is None:
        return "All Learners", ""
    if key == "valid_days" and is_id(value):
        return str(value), "days" if value != 1 else "day"
    if key == "warning_days" and is_id(value):
        return ("none", "") if value == 0 else (str(value), "days before expiry")
    if key == "progress" and is_id(value):
        return f"{value}%", ""
    if key in CHOICE_LABELS and isinstance(value, str):
        return CHOICE_LABELS[key].get(value, value), ""
    if isinstance(value, str):
        return _cut(_moment_or_day(key, value)), ""
    return _plain_text(value), ""


def _plain_text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return _cut(", ".join(str(item) for item in value)) if value else "none"
    if isinstance(value, dict):
        return _cut(compact_json(value))
    return _cut(str(value))


def _moment_or_day(key: str, text: str) -> str:
    """A snapshot's moment (``…_at``, stored in UTC) in the org's time, or its day (``…_on``) written out."""
    if not text:
        return "—"
    if key.endswith("_on"):
        return _day_text(text) or text
    if key.endswith("_at"):
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            return text
        return format_moment(moment) if timezone.is_aware(moment) else text
    return text


def _day_text(text) -> str | None:
    """A day ("2026-11-20") written out ("20 Nov 2026"); ``None`` for anything else."""
    if not isinstance(text, str) or not DATE_TEXT.fullmatch(text):
        return None
    try:
        return dateformat.format(dt.date.fromisoformat(text), "j M Y")
    except ValueError:
        return None


def _cut(text: str) -> str:
    return text if len(text) <= SUMMARY_TEXT_MAX else text[: SUMMARY_TEXT_MAX - 1] + "…"


def _learners(count) -> str:
    if not is_id(count):
        return "learners"
    if count == 0:
        return "no new learners"
    return f"{count} learner{'s' if count != 1 else ''}"


def _tab(status) -> str:
    if status == "all":
        return "everyone in scope"
    return f"the {STATUS_LABELS.get(status, status)} tab" if status else "a report tab"


def _search(query) -> str:
    return f", search “{query}”" if query else ""


def _enroll_sentence(after: dict) -> str:
    course = after.get("course") or "the course"
    if after.get("enrolled") == 0:
        day = _day_text(after.get("enrolled_on"))
        since = f" since {day}" if day else ""
        return f"Already enrolled in {course}{since}; nobody new enrolled"
    return f"Enrolled in {course}"


def _remediate_sentence(after: dict) -> str:
    learners, course = _learners(after.get("enrolled")), after.get("course") or "the course"
    return f"Enrolled {learners} in {course} from {_tab(after.get('status'))}{_search(after.get('q'))}"


def _export_sentence(after: dict) -> str:
    what = _tab(after.get("status", "all"))
    return f"Exported {what} as CSV{_search(after.get('q'))}"


def _audit_export_sentence(after: dict) -> str:
    filters = ", ".join(f"{key} “{value}”" for key, value in sorted(after.items()))
    return f"Exported the audit log as CSV, {f'filtered by {filters}' if filters else 'unfiltered'}"


def _password_sentence(before: dict, after: dict) -> str:
    if not after.get("usable_password"):
        return "Password removed: the user can no longer sign in with a password"
    return "Password changed" if before.get("usable_password") else "Password set"


def _import_sentence(after: dict) -> str:
    counts = ", ".join(
        f"{after[key]} {key}" for key in ("created", "updated", "unchanged") if isinstance(after.get(key), int)
    )
    rows = after.get("rows")
    sentence = f"{rows} row{'s' if rows != 1 else ''}" if isinstance(rows, int) else "Imported"
    if counts:
        sentence += f": {counts}"
    extras = [
        f"{after[key]} {label}"
        for key, label in (("groups_created", "groups created"), ("enrollments_closed", "enrollments closed"))
        if after.get(key)
    ]
    return "; ".join([sentence, *extras])


# --- Rows of a page ------------------------------------------------------------------------


def format_moment(moment: dt.datetime) -> str:
    """A moment as the org reads it: "28 Nov 2026 14:03" in ``TIME_ZONE``."""
    return dateformat.format(timezone.localtime(moment, org_timezone()), "j M Y H:i")


def utc_iso(moment: dt.datetime) -> str:
    """A moment in ISO-8601, UTC, to the second: "2026-11-28T13:03:05Z"."""
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def object_label(event: AuditEvent) -> str:
    """The object in words: "Requirement “GDPR”", "Learner ana@example.com", or its type and id."""
    type_label = OBJECT_TYPE_LABELS.get(event.object_type, event.object_type or "Object")
    if not event.object_repr:
        return f"{type_label} #{event.object_id}" if event.object_id else type_label
    if event.object_type in QUOTED_OBJECT_TYPES:
        return f"{type_label} “{event.object_repr}”"
    return f"{type_label} {event.object_repr}"


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    summary: Summary
    #: The requirement the event concerns when it is not the object itself (global log only).
    requirement_label: str = ""

    @property
    def at_display(self) -> str:
        return format_moment(self.event.at)

    @property
    def at_iso(self) -> str:
        return utc_iso(self.event.at)

    @property
    def action_label(self) -> str:
        return action_label(self.event.action)

    @property
    def object_label(self) -> str:
        return object_label(self.event)


@dataclass(frozen=True)
class AuditLogPage(PageNumbers):
    rows: list[AuditRow]
    total: int
    number: int
    page_count: int
    page_size: int


def audit_log_page(
    events: QuerySet[AuditEvent],
    *,
    page: int,
    requirement_names: dict[int, str] | None = None,
    page_size: int = PAGE_SIZE,
) -> AuditLogPage:
    """One page of ``events`` (already filtered and ordered) with their summaries:
    the count, the page, then one query per model its snapshots refer to.

    With ``requirement_names`` (the global log), each row also names the
    requirement it concerns when that is not its object."""
    total = events.count()
    number, page_count = clamp_page(page, total, page_size)
    offset = (number - 1) * page_size
    page_events = list(events[offset : offset + page_size]) if total else []
    names = resolve_names(page_events)
    rows = [
        AuditRow(event, summarize(event, names), _requirement_label(event, requirement_names)) for event in page_events
    ]
    return AuditLogPage(rows=rows, total=total, number=number, page_count=page_count, page_size=page_size)


def _requirement_label(event: AuditEvent, requirement_names: dict[int, str] | None) -> str:
    if requirement_names is None or event.requirement_id is None:
        return ""
    if event.object_type == "requirement" and event.object_id == str(event.requirement_id):
        return ""
    return requirement_names.get(event.requirement_id, f"Requirement #{event.requirement_id}")


# --- CSV export ----------------------------------------------------------------------------

AUDIT_EXPORT_HEADER = (
    "at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "object",
    "requirement_id",
    "summary",
    "before",
    "after",
)


def compact_json(value) -> str:
    """JSON without spaces, keys sorted (the same text from SQLite's JSON and PostgreSQL's jsonb)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def audit_export_filename(today: dt.date, requirement: Requirement | None = None) -> str:
    """``audit-log-<YYYY-MM-DD>.csv``, or ``<requirement slug>-audit-log-<YYYY-MM-DD>.csv``; ASCII only."""
    if requirement is None:
        return f"audit-log-{today.isoformat()}.csv"
    return f"{requirement_slug(requirement)}-audit-log-{today.isoformat()}.csv"


def audit_export_rows(events: QuerySet[AuditEvent], chunk_size: int = EXPORT_CHUNK_SIZE) -> Iterator[tuple]:
    """The rows of ``AUDIT_EXPORT_HEADER`` for ``events``, read from a
    server-side cursor as they are iterated: one query for the events, and per
    chunk of ``chunk_size`` events one query per model their snapshots name."""
    chunk: list[AuditEvent] = []
    for event in events.iterator(chunk_size=chunk_size):
        chunk.append(event)
        if len(chunk) >= chunk_size:
            yield from _export_chunk(chunk)
            chunk = []
    yield from _export_chunk(chunk)


def _export_chunk(events: list[AuditEvent]) -> Iterator[tuple]:
    if not events:
        return
    names = resolve_names(events)
    for event in events:
        yield (
            utc_iso(event.at),
            protect_text(event.actor_label),
            protect_text(event.action),
            protect_text(event.object_type),
            protect_text(event.object_id),
            protect_text(event.object_repr),
            event.requirement_id,
            protect_text(summarize(event, names).text),
            "" if event.before is None else protect_text(compact_json(event.before)),
            "" if event.after is None else protect_text(compact_json(event.after)),
        )
