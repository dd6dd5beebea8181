"""Calendars used by the calendar tests, built through the services."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from frontdesk.calendars.services import calendar_create

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = range(5)


def at(zone, *parts) -> datetime:
    """``at(BERLIN, 2025, 3, 28, 16)`` → an aware local time."""
    return datetime(*parts, tzinfo=zone)


@pytest.fixture
def office(db):
    """Berlin office: Mon–Fri 09:00–12:00 and 13:00–17:00 (lunch break), German public holidays."""
    return calendar_create(
        name="Berlin office", time_zone="Europe/Berlin", country="DE",
        hours=[(day, start, end) for day in WEEKDAYS for start, end in (("09:00", "12:00"), ("13:00", "17:00"))],
    )


@pytest.fixture
def plain(db):
    """Berlin, Mon–Fri 09:00–17:00, no public holidays."""
    return calendar_create(name="Plain", time_zone="Europe/Berlin",
                           hours=[(day, "09:00", "17:00") for day in WEEKDAYS])


@pytest.fixture
def always(db):
    return calendar_create(name="24/7", time_zone="Europe/Berlin", always_open=True)


@pytest.fixture
def persona(request):
    """``persona("agent")`` → that persona fixture; ``persona(None)`` → None (no token)."""
    return lambda name: request.getfixturevalue(name) if name else None
