"""Calendar services: validation, the default calendar, edits that rebuild schedules."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import connection

from frontdesk.calendars.models import BusinessCalendar, ClosedDay, OpeningInterval, SpecialHours
from frontdesk.calendars.schedule import schedule_for
from frontdesk.calendars.selectors import calendar_default
from frontdesk.calendars.services import (
    NO_HOURS,
    calendar_add_closed_day,
    calendar_create,
    calendar_delete,
    calendar_set_hours,
    calendar_set_special_hours,
    calendar_update,
)
from frontdesk.core.errors import Conflict, InvalidInput

from .conftest import BERLIN, at

WEEK = [(day, "09:00", "17:00") for day in range(5)]


def test_it_refuses_a_calendar_without_hours_unless_open_24_7(db):
    with pytest.raises(InvalidInput) as refused:
        calendar_create(name="Empty", time_zone="Europe/Berlin")
    assert refused.value.detail == NO_HOURS == "A calendar needs at least one opening interval (or mark it open 24/7)."
    assert not BusinessCalendar.objects.exists()
    assert calendar_create(name="Always", time_zone="UTC", always_open=True).always_open


def test_it_refuses_to_drop_the_hours_or_the_24_7_flag_into_nothing(plain, always):
    with pytest.raises(InvalidInput, match="at least one opening interval"):
        calendar_set_hours(calendar=plain, hours=[])
    with pytest.raises(InvalidInput, match="at least one opening interval"):
        calendar_update(calendar=always, always_open=False)
    assert OpeningInterval.objects.filter(calendar=plain).count() == 5
    calendar_update(calendar=always, always_open=False, hours=[(0, "08:00", "12:00")])
    assert not BusinessCalendar.objects.get(pk=always.pk).always_open


@pytest.mark.parametrize("zone", ["Europe/Berlinn", "", "../etc/passwd", "CET+1"])
def test_it_refuses_unknown_time_zones(db, zone):
    with pytest.raises(InvalidInput) as refused:
        calendar_create(name="Zone", time_zone=zone, hours=WEEK)
    assert refused.value.code == "invalid_time_zone"


def test_it_refuses_unknown_countries_and_subdivisions(db):
    with pytest.raises(InvalidInput) as refused:
        calendar_create(name="X", time_zone="UTC", country="XX", hours=WEEK)
    assert refused.value.code == "invalid_country"
    with pytest.raises(InvalidInput) as refused:
        calendar_create(name="X", time_zone="UTC", country="DE", subdivision="ZZ", hours=WEEK)
    assert refused.value.code == "invalid_subdivision"
    with pytest.raises(InvalidInput):
        calendar_create(name="X", time_zone="UTC", subdivision="BY", hours=WEEK)


def test_it_spells_the_region_as_the_holidays_package_does(db):
    cal = calendar_create(name="Munich", time_zone="Europe/Berlin", country="de", subdivision="by", hours=WEEK)
    assert (cal.country, cal.subdivision) == ("DE", "BY")


@pytest.mark.parametrize("hours,code", [
    ([(0, "09:00", "12:00"), (0, "11:00", "14:00")], "overlapping_intervals"),
    ([(0, "17:00", "09:00")], "invalid_interval"),
    ([(0, "22:00", "02:00")], "invalid_interval"),
    ([(0, "09:00", "09:00")], "invalid_interval"),
    ([(0, "24:00", "24:00")], "invalid_interval"),
    ([(7, "09:00", "17:00")], "invalid_weekday"),
    ([(0, "9h", "17:00")], "invalid_time"),
    ([(0, "09:60", "17:00")], "invalid_time"),
    ([(0, "09:00", "24:01")], "invalid_time"),
])
def test_it_refuses_bad_intervals(db, hours, code):
    with pytest.raises(InvalidInput) as refused:
        calendar_create(name="Bad", time_zone="UTC", hours=hours)
    assert refused.value.code == code
    assert not BusinessCalendar.objects.exists()


def test_it_accepts_touching_intervals_and_midnight_as_24_00(db):
    cal = calendar_create(name="Long", time_zone="UTC",
                          hours=[(0, "09:00", "12:00"), (0, "12:00", "24:00"), (1, 0, 360)])
    assert list(cal.intervals.values_list("weekday", "start_minute", "end_minute")) == [
        (0, 540, 720), (0, 720, 1440), (1, 0, 360)]


def test_it_refuses_a_taken_name(plain):
    with pytest.raises(Conflict):
        calendar_create(name="Plain", time_zone="UTC", hours=WEEK)
    other = calendar_create(name="Other", time_zone="UTC", hours=WEEK)
    with pytest.raises(Conflict):
        calendar_update(calendar=other, name="Plain")


def test_it_creates_the_default_calendar_once(db, settings):
    settings.TIME_ZONE = "UTC"
    first = calendar_default()
    assert calendar_default() == first
    assert (first.time_zone, first.is_default, first.always_open) == ("UTC", True, False)
    assert list(first.intervals.values_list("weekday", "start_minute", "end_minute")) == [
        (day, 540, 1020) for day in range(5)]
    s = schedule_for(first)
    assert s.add_minutes(at(BERLIN, 2025, 6, 13, 20), 60) == at(BERLIN, 2025, 6, 16, 12)  # Mon 09:00 → 10:00 UTC


def test_it_creates_the_default_even_when_its_name_is_taken(db):
    calendar_create(name="Business hours", time_zone="UTC", always_open=True)
    default = calendar_default()
    assert default.is_default and default.name == "Business hours (default)"


@pytest.mark.django_db(transaction=True)
def test_it_creates_one_default_calendar_under_concurrent_first_use():
    if connection.vendor == "sqlite":  # the in-memory test database locks whole tables across threads
        pytest.skip("needs a server database: run with DATABASE_URL=postgres://…")
    barrier = threading.Barrier(4)
    found, errors = [], []

    def first_use():
        try:
            barrier.wait()
            found.append(calendar_default().pk)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first_use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(found)) == 1
    assert BusinessCalendar.objects.filter(is_default=True).count() == 1


def test_it_moves_the_default_flag(plain, db):
    default = calendar_default()
    calendar_update(calendar=plain, is_default=True)
    assert list(BusinessCalendar.objects.filter(is_default=True)) == [plain]
    assert calendar_default() == plain
    with pytest.raises(InvalidInput):
        calendar_update(calendar=plain, is_default=False)
    with pytest.raises(Conflict):
        calendar_delete(calendar=plain)
    calendar_delete(calendar=BusinessCalendar.objects.get(pk=default.pk))
    assert not BusinessCalendar.objects.filter(pk=default.pk).exists()


def test_it_keeps_one_instruction_per_date(plain):
    day = date(2025, 12, 24)
    calendar_add_closed_day(calendar=plain, date=day, label="Christmas Eve")
    calendar_add_closed_day(calendar=plain, date=day, label="Heiligabend")
    assert list(ClosedDay.objects.values_list("label", flat=True)) == ["Heiligabend"]
    calendar_set_special_hours(calendar=plain, date=day, hours=[("09:00", "12:00")])
    assert not ClosedDay.objects.exists() and SpecialHours.objects.count() == 1
    calendar_add_closed_day(calendar=plain, date=day)
    assert not SpecialHours.objects.exists() and ClosedDay.objects.count() == 1
    with pytest.raises(InvalidInput) as refused:
        calendar_set_special_hours(calendar=plain, date=day, hours=[("09:00", "12:00"), ("11:00", "13:00")])
    assert refused.value.code == "overlapping_intervals"


def test_it_rebuilds_the_schedule_after_every_edit(plain):
    start = at(BERLIN, 2025, 6, 16, 16)
    assert schedule_for(plain).add_minutes(start, 120) == at(BERLIN, 2025, 6, 17, 10)
    calendar_set_hours(calendar=plain, hours=[(day, "08:00", "17:00") for day in range(5)])
    assert schedule_for(plain).add_minutes(start, 120) == at(BERLIN, 2025, 6, 17, 9)
    calendar_update(calendar=plain, time_zone="UTC")
    assert schedule_for(plain).add_minutes(start, 240) == at(BERLIN, 2025, 6, 17, 11)  # 14:00 UTC, 3 h + 1 h
    calendar_update(calendar=plain, always_open=True)
    assert schedule_for(plain).add_minutes(start, 240) == at(BERLIN, 2025, 6, 16, 20)
