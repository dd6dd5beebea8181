"""Reads on business calendars. Every agent may read calendars; only admins change them."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from frontdesk.core.errors import NotFound

from .models import BusinessCalendar, OpeningInterval

DEFAULT_NAMES = ("Business hours", "Business hours (default)", "Default business hours")
DEFAULT_HOURS = ((540, 1020),)  # 09:00–17:00, Monday to Friday


def calendar_list() -> QuerySet[BusinessCalendar]:
    return BusinessCalendar.objects.order_by("id")


def calendar_get(*, calendar_id: int) -> BusinessCalendar:
    calendar = BusinessCalendar.objects.filter(pk=calendar_id).first()
    if calendar is None:
        raise NotFound("No such calendar.")
    return calendar


def calendar_default() -> BusinessCalendar:
    """The default calendar; created on first use as Monday–Friday 09:00–17:00 in
    ``settings.TIME_ZONE``. Race-safe: the partial unique constraint allows one default, and a
    loser of the race reads the winner's row."""
    calendar = BusinessCalendar.objects.filter(is_default=True).first()
    if calendar is not None:
        return calendar
    for name in DEFAULT_NAMES:
        try:
            with transaction.atomic():
                calendar = BusinessCalendar.objects.create(
                    name=name, time_zone=settings.TIME_ZONE, is_default=True
                )
                OpeningInterval.objects.bulk_create([
                    OpeningInterval(calendar=calendar, weekday=weekday, start_minute=start, end_minute=end)
                    for weekday in range(5) for start, end in DEFAULT_HOURS
                ])
            return calendar
        except IntegrityError:
            # Either another process created the default just now, or an admin's calendar
            # already has this name (then try the next name).
            calendar = BusinessCalendar.objects.filter(is_default=True).first()
            if calendar is not None:
                return calendar
    raise RuntimeError("Could not create the default calendar: its names are all taken.")
