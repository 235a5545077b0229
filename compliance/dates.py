"""Org days: calendar dates in the organisation's time zone (``TIME_ZONE``).

Always the organisation's zone, never the "current" one, so that a later
per-user ``timezone.activate()`` cannot shift what a day means.
"""

import datetime as dt
import zoneinfo

from django.conf import settings
from django.db.models.functions import TruncDate
from django.utils import timezone


def org_timezone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def org_today() -> dt.date:
    """Today in the organisation: taken once at the start of a request, run or export."""
    return timezone.localdate(timezone=org_timezone())


def org_date(moment: dt.datetime) -> dt.date:
    """The org day of an aware moment."""
    return timezone.localtime(moment, org_timezone()).date()


def org_day_start(day: dt.date) -> dt.datetime:
    """00:00 of an org day, as an aware moment: how a date without a time is stored."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), org_timezone())


def org_date_of(expression) -> TruncDate:
    """SQL: the org day of a timestamp column or expression."""
    return TruncDate(expression, tzinfo=org_timezone())
