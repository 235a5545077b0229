"""Sizes of the statements an import issues, so that none grows with the file."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

# Keys per IN (...) list: under SQLite's historical limit of 999 parameters.
LOOKUP_CHUNK = 900
# Rows per bulk INSERT/UPDATE statement (SQLite may split further, to its parameter limit).
WRITE_BATCH = 1000


def chunked(values: Iterable, size: int = LOOKUP_CHUNK) -> Iterator[list]:
    batch: list = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
