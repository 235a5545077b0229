"""What an import reports, and the parts every kind of import provides."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from compliance.imports.csvfile import Columns, CsvTable
from compliance.imports.errors import Problems
from compliance.imports.trail import Trail


class Plan(Protocol):
    """The checked rows of a file, ready to write."""

    @property
    def created(self) -> int: ...
    @property
    def updated(self) -> int: ...
    @property
    def unchanged(self) -> int: ...


@dataclass(frozen=True)
class Written:
    requirement_ids: frozenset[int] = frozenset()
    groups_created: int = 0
    enrollments_closed: int = 0
    trail: Trail = field(default_factory=Trail)


@dataclass(frozen=True)
class ImportKind:
    """One kind of import: its columns, then three steps.

    ``parse`` checks each row on its own (no database); ``plan`` looks up what
    the rows refer to and decides what changes; ``write`` writes it, set-based.
    Bad rows go to ``problems``.
    """

    columns: Columns
    parse: Callable[[CsvTable, Problems, dt.datetime], list[Any]]
    plan: Callable[[list[Any], Problems], Plan]
    write: Callable[..., Written]


@dataclass(frozen=True)
class ImportResult:
    kind: str
    file_name: str
    dry_run: bool
    rows: int
    created: int
    updated: int
    unchanged: int
    requirement_ids: frozenset[int] = field(default_factory=frozenset)
    groups_created: int = 0
    enrollments_closed: int = 0

    def counts(self) -> dict[str, int]:
        return {"rows": self.rows, "created": self.created, "updated": self.updated, "unchanged": self.unchanged}
