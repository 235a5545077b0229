"""Reading an import file: its size, UTF-8 text, the header and the rows.

Line numbers are physical lines of the file (the header is line 1), so ops can
find a reported row in any editor, also when a quoted cell spans lines.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from compliance.imports.errors import ImportRejected, Problems

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Columns:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.required + self.optional


@dataclass(frozen=True, slots=True)
class CsvRow:
    line: int
    cells: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.cells.get(column, "")


@dataclass(frozen=True)
class CsvTable:
    columns: frozenset[str]
    rows: list[CsvRow]

    def has(self, column: str) -> bool:
        return column in self.columns


def max_import_bytes() -> int:
    return int(float(settings.IMPORT_MAX_MB) * 1024 * 1024)


def _human(size: float) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{int(size)} bytes"


def _too_large(size: int) -> ImportRejected:
    return ImportRejected(
        [f"the file is {_human(size)}, larger than the limit of {_human(max_import_bytes())} (IMPORT_MAX_MB)"]
    )


def _size_of(file: BinaryIO) -> int | None:
    size = getattr(file, "size", None)
    if isinstance(size, int):
        return size
    if file.seekable():
        here = file.tell()
        end = file.seek(0, os.SEEK_END)
        file.seek(here)
        return end - here
    return None


@contextmanager
def open_import_file(path_or_file: str | os.PathLike | BinaryIO) -> Iterator[BinaryIO]:
    """The file opened for binary reading, refused before any byte is read when too large."""
    if isinstance(path_or_file, str | os.PathLike):
        size = os.stat(path_or_file).st_size
        if size > max_import_bytes():
            raise _too_large(size)
        with open(path_or_file, "rb") as file:
            yield file
        return
    size = _size_of(path_or_file)
    if size is not None and size > max_import_bytes():
        raise _too_large(size)
    yield path_or_file


def file_name_of(path_or_file) -> str:
    if isinstance(path_or_file, str | os.PathLike):
        return Path(path_or_file).name
    return Path(str(getattr(path_or_file, "name", "") or "upload.csv")).name


def _physical_lines(file: BinaryIO) -> Iterator[bytes]:
    """The file's lines, ended by LF, CRLF or a lone CR (old Mac spreadsheets)."""
    for chunk in file:
        yield from chunk.splitlines(keepends=True)


def _text_lines(file: BinaryIO) -> Iterator[str]:
    """The file's lines as text, checked to be UTF-8 one line at a time (a
    UTF-8 character never contains a line-break byte), so an error names its line."""
    limit = max_import_bytes()
    read = 0
    for number, raw in enumerate(_physical_lines(file), start=1):
        read += len(raw)
        if read > limit:  # a stream whose size could not be known up front
            raise _too_large(read)
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = raw[exc.start : exc.start + 1].hex()
            raise ImportRejected(
                [f"line {number}: not valid UTF-8 (byte 0x{bad}); save the file as CSV UTF-8 and try again"]
            ) from None


def _records(file: BinaryIO) -> Iterator[tuple[int, list[str]]]:
    """``(first line, cells)`` for every CSV record."""
    reader = csv.reader(_text_lines(file), strict=True)
    while True:
        first_line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportRejected([f"line {first_line}: not readable as CSV ({exc})"]) from None
        yield first_line, cells


def _header(cells: list[str], columns: Columns) -> list[str]:
    names = [cell.strip().lower() for cell in cells]
    problems = []
    if len(names) == 1 and ";" in names[0]:
        problems.append("the columns must be separated by commas, not semicolons")
    for position, name in enumerate(names, start=1):
        if not name:
            problems.append(f"column {position} has no name")
        elif name not in columns.all:
            problems.append(f'unknown column "{name}" (the columns are: {", ".join(columns.all)})')
        elif names.index(name) != position - 1:
            problems.append(f'column "{name}" appears twice')
    problems += [f"missing column {name}" for name in columns.required if name not in names]
    if problems:
        raise ImportRejected([f"line 1: {problem}" for problem in problems])
    return names


def read_table(file: BinaryIO, *, columns: Columns, problems: Problems) -> CsvTable:
    """Every non-blank row of the file, cells trimmed and keyed by column name.

    A header fault refuses the file at once; a row of the wrong width is
    recorded in ``problems`` and left out.
    """
    records = _records(file)
    first = next(records, None)
    if first is None:
        raise ImportRejected(["line 1: the file is empty; a header row is required"])
    names = _header(first[1], columns)
    rows = []
    for line, cells in records:
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(names):
            problems.add(line, f"{len(cells)} cells, but the header has {len(names)} columns")
            continue
        rows.append(CsvRow(line, {name: cell.strip() for name, cell in zip(names, cells, strict=True)}))
    return CsvTable(columns=frozenset(names), rows=rows)
