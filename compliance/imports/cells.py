"""Parsers for the cells of an import file. Each returns the value or raises
``CellError`` with a message fit for ops, naming the column and the value."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils import timezone

from compliance.dates import org_date, org_day_start, org_timezone
from compliance.imports.errors import Problems

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*")
_PROGRESS = re.compile(r"\d{1,3}")
_validate_email = EmailValidator()
_validate_url = URLValidator(schemes=["http", "https"])

EMAIL_MAX = 254


class CellError(ValueError):
    pass


def email(value: str, *, column: str = "email") -> str:
    """A valid email address, in lower case."""
    if not value:
        raise CellError(f"{column} is empty")
    address = value.lower()
    try:
        _validate_email(address)
    except ValidationError:
        raise CellError(f'{column} "{value}" is not a valid email address') from None
    if len(address) > EMAIL_MAX:
        raise CellError(f"{column} is longer than {EMAIL_MAX} characters")
    return address


def optional_email(value: str, *, column: str) -> str:
    return email(value, column=column) if value else ""


def text(value: str, *, column: str, max_length: int, required: bool = False) -> str:
    if required and not value:
        raise CellError(f"{column} is empty")
    if len(value) > max_length:
        raise CellError(f"{column} is longer than {max_length} characters")
    return value


def url(value: str, *, column: str = "url", max_length: int = 500) -> str:
    if not value:
        return ""
    try:
        _validate_url(value)
    except ValidationError:
        raise CellError(f'{column} "{value}" is not a web address (http:// or https://)') from None
    return text(value, column=column, max_length=max_length)


def boolean(value: str, *, column: str, empty: bool) -> bool:
    """``true`` or ``false`` in any case; ``empty`` when the cell is empty."""
    if not value:
        return empty
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise CellError(f'{column} must be true or false, not "{value}"')


def date(value: str, *, column: str, today: dt.date) -> dt.date:
    """A ``YYYY-MM-DD`` org day, not later than ``today``."""
    if not value:
        raise CellError(f"{column} is empty")
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise CellError(f'{column} "{value}" is not a date (YYYY-MM-DD)') from None
    if day > today:
        raise CellError(f"{column} {value} is in the future")
    return day


def optional_date(value: str, *, column: str, today: dt.date) -> dt.date | None:
    return date(value, column=column, today=today) if value else None


def moment(value: str, *, column: str, now: dt.datetime) -> dt.datetime:
    """A date (``YYYY-MM-DD``: 00:00 that org day) or an ISO datetime, not later
    than ``now``, as an aware moment. A datetime without an offset is in the
    organisation's time zone."""
    if _DATE.fullmatch(value):
        return org_day_start(date(value, column=column, today=org_date(now)))
    if not value:
        raise CellError(f"{column} is empty")
    try:
        if not _DATETIME.fullmatch(value):
            raise ValueError(value)
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CellError(
            f'{column} "{value}" is not a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM[:SS][+HH:MM])'
        ) from None
    aware = timezone.make_aware(parsed, org_timezone()) if timezone.is_naive(parsed) else parsed
    if aware > now:
        raise CellError(f"{column} {value} is in the future")
    return aware


def progress(value: str, *, column: str = "progress") -> int | None:
    """A whole number from 0 to 100, or ``None`` for an empty cell."""
    if not value:
        return None
    if not _PROGRESS.fullmatch(value) or int(value) > 100:
        raise CellError(f'{column} must be a whole number from 0 to 100, not "{value}"')
    return int(value)


def parse_all(checks: dict[str, Callable[[], Any]], *, line: int, problems: Problems) -> dict[str, Any] | None:
    """Run every check of a row; its values, or ``None`` when any failed (each
    failure recorded against ``line``)."""
    values = {}
    for name, check in checks.items():
        try:
            values[name] = check()
        except CellError as exc:
            problems.add(line, str(exc))
    return None if problems.has(line) else values
