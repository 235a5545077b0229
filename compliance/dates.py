"""Org days: calendar dates in the organisation's time zone (``TIME_ZONE``)."""

import datetime as dt

from django.utils import timezone


def org_date(moment: dt.datetime) -> dt.date:
    """The org day of an aware moment."""
    return timezone.localtime(moment).date()


def org_day_start(day: dt.date) -> dt.datetime:
    """00:00 of an org day, as an aware moment: how a date without a time is stored."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
