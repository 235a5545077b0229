"""The audit trail of an import: besides its summary event, one event per
record it created (``import.create``, with the record's state) or updated
(``import.update``, with before/after of the fields that changed), written in
batched INSERTs and tagged with the import's file and summary event."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models

from compliance.audit import audit_log_many, changed_only
from compliance.imports.batching import WRITE_BATCH

CREATE, UPDATE = "import.create", "import.update"

#: (record, state before or ``None`` when created, state after)
Entry = tuple[models.Model, dict | None, dict]


@dataclass
class Trail:
    created: list[Entry] = field(default_factory=list)
    updated: list[Entry] = field(default_factory=list)

    def add_created(self, record: models.Model, state: dict) -> None:
        self.created.append((record, None, state))

    def add_updated(self, record: models.Model, before: dict, after: dict) -> bool:
        """Keep the fields whose value differs, if any; whether any did."""
        changed_before, changed_after = changed_only(before, after)
        if changed_after:
            self.updated.append((record, changed_before, changed_after))
        return bool(changed_after)

    def log(self, *, actor, actor_label: str | None, tag: dict) -> None:
        """Write the events; ``tag`` (the import's file and summary event) joins each ``after``."""
        for action, entries in ((CREATE, self.created), (UPDATE, self.updated)):
            audit_log_many(
                actor=actor,
                actor_label=actor_label,
                action=action,
                entries=[(record, before, {**after, **tag}) for record, before, after in entries],
                batch_size=WRITE_BATCH,
            )
