"""The audit log of admin actions: written in the same transaction as the change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import models
from django.utils import timezone

from compliance.models import AuditEvent, Requirement

SYSTEM_ACTOR = "system"
ACTOR_LABEL_MAX = AuditEvent._meta.get_field("actor_label").max_length


def _actor_fields(actor, actor_label: str | None) -> dict[str, Any]:
    """The event's actor: a user's id and username, or for the system (``actor``
    ``None``) no id and "system"; ``actor_label``, when given, names the actor instead."""
    if actor_label is None:
        actor_label = actor.get_username() if actor is not None else SYSTEM_ACTOR
    return {"actor_id": getattr(actor, "pk", None), "actor_label": actor_label[:ACTOR_LABEL_MAX]}


def audit_log(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: Any = "",
    object_repr: str = "",
    requirement_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Record ``actor`` (a user, or ``None`` for the system) doing ``action`` to ``obj``."""
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = obj.pk
        object_repr = object_repr or str(obj)
        if isinstance(obj, Requirement):
            requirement_id = obj.pk
    return AuditEvent.objects.create(
        **_actor_fields(actor, actor_label),
        action=action,
        object_type=object_type,
        object_id="" if object_id in (None, "") else str(object_id),
        object_repr=object_repr[:300],
        requirement_id=requirement_id,
        before=before,
        after=after,
    )


def audit_log_many(
    *,
    actor,
    action: str,
    entries: Iterable[tuple[models.Model, dict | None, dict | None]],
    batch_size: int = 1000,
    actor_label: str | None = None,
) -> int:
    """``audit_log`` for many objects at once, in batched INSERTs: ``entries``
    are ``(object, before, after)``. Returns how many events were written."""
    at = timezone.now()
    actor_fields = _actor_fields(actor, actor_label)
    events = [
        AuditEvent(
            at=at,
            **actor_fields,
            action=action,
            object_type=obj._meta.model_name,
            object_id=str(obj.pk),
            object_repr=str(obj)[:300],
            before=before,
            after=after,
        )
        for obj, before, after in entries
    ]
    AuditEvent.objects.bulk_create(events, batch_size=batch_size)
    return len(events)


def snapshot(obj: models.Model, fields: list[str]) -> dict:
    """A JSON-safe dict of ``fields`` of ``obj``: foreign keys by id, moments in
    UTC (the same text whether read from the database or just set in the org's
    zone), other values as text where needed."""
    data = {}
    for name in fields:
        value = getattr(obj, obj._meta.get_field(name).attname)
        if isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC)
        data[name] = value if isinstance(value, (int, str, bool, type(None))) else str(value)
    return data


def changed_only(before: dict, after: dict) -> tuple[dict, dict]:
    """The keys whose value differs, on both sides."""
    keys = [key for key in after if after[key] != before.get(key)]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}
