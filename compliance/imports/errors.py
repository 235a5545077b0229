"""What makes an import refuse a file, and the list of bad rows it reports."""

from __future__ import annotations

from collections import defaultdict


class ImportRejected(Exception):
    """The file was refused and nothing was written; ``problems`` are the lines to show."""

    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} problem(s); nothing was written")
        self.problems = problems


class Problems:
    """Bad rows collected while checking a file: one entry per line, all its reasons."""

    def __init__(self) -> None:
        self._reasons: dict[int, list[str]] = defaultdict(list)

    def add(self, line: int, reason: str) -> None:
        self._reasons[line].append(reason)

    def __bool__(self) -> bool:
        return bool(self._reasons)

    def has(self, line: int) -> bool:
        return line in self._reasons

    def lines(self) -> list[str]:
        """``line N: reason; reason`` for every bad line, in file order."""
        return [f"line {line}: {'; '.join(reasons)}" for line, reasons in sorted(self._reasons.items())]

    def reject_if_any(self) -> None:
        if self:
            raise ImportRejected(self.lines())


class FirstLines:
    """The line each key of a file was first seen on, to report a repeated key."""

    def __init__(self, problems: Problems) -> None:
        self._problems = problems
        self._lines: dict[object, int] = {}

    def repeated(self, key: object, *, line: int, label: str) -> bool:
        """Whether ``key`` was seen on an earlier line (then reported as a duplicate ``label``)."""
        first = self._lines.setdefault(key, line)
        if first != line:
            self._problems.add(line, f"duplicate {label} (also on line {first})")
            return True
        return False
