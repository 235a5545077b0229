"""The audit log of admin actions: written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from django.db import models

from compliance.models import AuditEvent, Requirement

SYSTEM_ACTOR = "system"


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
) -> AuditEvent:
    """Record ``actor`` (a user, or ``None`` for the system) doing ``action`` to ``obj``."""
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = obj.pk
        object_repr = object_repr or str(obj)
        if isinstance(obj, Requirement):
            requirement_id = obj.pk
    return AuditEvent.objects.create(
        actor_id=getattr(actor, "pk", None),
        actor_label=actor.get_username() if actor is not None else SYSTEM_ACTOR,
        action=action,
        object_type=object_type,
        object_id="" if object_id in (None, "") else str(object_id),
        object_repr=object_repr[:300],
        requirement_id=requirement_id,
        before=before,
        after=after,
    )


def snapshot(obj: models.Model, fields: list[str]) -> dict:
    """A JSON-safe dict of ``fields`` of ``obj``; foreign keys by id, other values as text where needed."""
    data = {}
    for name in fields:
        field = obj._meta.get_field(name)
        value = getattr(obj, field.attname)
        data[name] = value if isinstance(value, (int, str, bool, type(None))) else str(value)
    return data
