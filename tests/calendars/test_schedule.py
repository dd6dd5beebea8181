"""Business-time arithmetic through ``schedule_for`` on calendars built by the services."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from frontdesk.calendars.models import BusinessCalendar
from frontdesk.calendars.schedule import NoBusinessTime, schedule_for
from frontdesk.calendars.services import (
    calendar_add_closed_day,
    calendar_create,
    calendar_remove_closed_day,
    calendar_set_hours,
    calendar_set_special_hours,
    calendar_update,
)

from .conftest import BERLIN, NEW_YORK, at

EVERY_DAY = range(7)


def test_it_counts_across_a_weekend(plain):
    s = schedule_for(plain)
    friday = at(BERLIN, 2025, 6, 13, 16)
    due = s.add_minutes(friday, 120)
    assert due == at(BERLIN, 2025, 6, 16, 10)
    assert due.tzinfo is UTC
    assert s.minutes_between(friday, due) == 120


def test_it_lands_on_the_closing_time_rather_than_the_next_opening(plain):
    s = schedule_for(plain)
    assert s.add_minutes(at(BERLIN, 2025, 6, 16, 9), 480) == at(BERLIN, 2025, 6, 16, 17)
    assert s.add_minutes(at(BERLIN, 2025, 6, 16, 9), 481) == at(BERLIN, 2025, 6, 17, 9, 1)


def test_it_starts_the_clock_at_the_next_opening_when_closed(plain):
    s = schedule_for(plain)
    saturday = at(BERLIN, 2025, 6, 14, 11)
    assert s.add_minutes(saturday, 0) == at(BERLIN, 2025, 6, 16, 9)
    assert s.next_open(saturday) == at(BERLIN, 2025, 6, 16, 9)
    assert s.add_minutes(saturday, 30) == at(BERLIN, 2025, 6, 16, 9, 30)
    assert s.add_minutes(at(BERLIN, 2025, 6, 16, 17), 0) == at(BERLIN, 2025, 6, 17, 9)  # [09:00, 17:00)


def test_it_keeps_an_open_start_as_is(plain):
    s = schedule_for(plain)
    monday = at(BERLIN, 2025, 6, 16, 10, 15, 30)
    assert s.next_open(monday) == monday
    assert s.add_minutes(monday, 0) == monday
    assert s.is_open(monday)
    assert not s.is_open(at(BERLIN, 2025, 6, 16, 17))
    assert s.is_open(at(BERLIN, 2025, 6, 16, 9))


def test_it_skips_the_lunch_break(office):
    s = schedule_for(office)
    assert s.add_minutes(at(BERLIN, 2025, 6, 16, 11, 30), 60) == at(BERLIN, 2025, 6, 16, 13, 30)
    assert not s.is_open(at(BERLIN, 2025, 6, 16, 12, 30))
    assert s.minutes_between(at(BERLIN, 2025, 6, 16, 0), at(BERLIN, 2025, 6, 17, 0)) == 420


def test_it_skips_german_public_holidays(office):
    s = schedule_for(office)
    # Good Friday 18 April and Easter Monday 21 April 2025.
    maundy_thursday = at(BERLIN, 2025, 4, 17, 16)
    assert s.add_minutes(maundy_thursday, 120) == at(BERLIN, 2025, 4, 22, 10)
    assert not s.is_open(at(BERLIN, 2025, 4, 18, 10))
    assert s.minutes_between(maundy_thursday, at(BERLIN, 2025, 4, 22, 10)) == 120


def test_it_honours_regional_holidays_only_in_their_subdivision(db):
    hours = [(day, "09:00", "17:00") for day in range(5)]
    bavaria = schedule_for(calendar_create(name="Munich", time_zone="Europe/Berlin", country="DE",
                                           subdivision="BY", hours=hours))
    berlin = schedule_for(calendar_create(name="Berlin", time_zone="Europe/Berlin", country="DE", hours=hours))
    epiphany = at(BERLIN, 2025, 1, 6, 10)  # a holiday in Bavaria, not in Berlin
    assert not bavaria.is_open(epiphany)
    assert berlin.is_open(epiphany)


def test_it_skips_us_holidays_in_new_york(db):
    cal = calendar_create(name="NYC", time_zone="America/New_York", country="US",
                          hours=[(day, "09:00", "17:00") for day in range(5)])
    s = schedule_for(cal)
    # Friday 4 July 2025 is Independence Day.
    assert s.add_minutes(at(NEW_YORK, 2025, 7, 3, 16), 120) == at(NEW_YORK, 2025, 7, 7, 10)


def test_it_skips_custom_closed_days_and_sees_the_edit_at_once(plain):
    with time_machine.travel(datetime(2025, 6, 1, tzinfo=UTC), tick=False):
        before = schedule_for(plain).add_minutes(at(BERLIN, 2025, 6, 16, 16), 120)
        assert before == at(BERLIN, 2025, 6, 17, 10)
        calendar_add_closed_day(calendar=plain, date=date(2025, 6, 17), label="Inventory")
        fresh = BusinessCalendar.objects.get(pk=plain.pk)
        assert schedule_for(fresh).add_minutes(at(BERLIN, 2025, 6, 16, 16), 120) == at(BERLIN, 2025, 6, 18, 10)
        calendar_remove_closed_day(calendar=fresh, date=date(2025, 6, 17))
        again = BusinessCalendar.objects.get(pk=plain.pk)
        assert schedule_for(again).add_minutes(at(BERLIN, 2025, 6, 16, 16), 120) == before


def test_it_opens_on_special_hours_even_on_a_sunday_or_holiday(office):
    calendar_set_special_hours(calendar=office, date=date(2025, 12, 21), hours=[("10:00", "16:00")],
                               label="Christmas shopping Sunday")
    calendar_set_special_hours(calendar=office, date=date(2025, 12, 26), hours=[("10:00", "12:00")])
    s = schedule_for(BusinessCalendar.objects.get(pk=office.pk))
    friday = at(BERLIN, 2025, 12, 19, 16, 30)
    assert s.add_minutes(friday, 60) == at(BERLIN, 2025, 12, 21, 10, 30)
    assert s.minutes_between(at(BERLIN, 2025, 12, 21), at(BERLIN, 2025, 12, 22)) == 360
    # 26 December is a public holiday, opened 10:00–12:00 on purpose.
    assert s.is_open(at(BERLIN, 2025, 12, 26, 11))
    assert s.minutes_between(at(BERLIN, 2025, 12, 26), at(BERLIN, 2025, 12, 27)) == 120


def test_it_replaces_the_weekly_hours_with_special_hours(plain):
    calendar_set_special_hours(calendar=plain, date=date(2025, 12, 24), hours=[("09:00", "12:00")])
    s = schedule_for(BusinessCalendar.objects.get(pk=plain.pk))
    assert s.add_minutes(at(BERLIN, 2025, 12, 24, 11), 120) == at(BERLIN, 2025, 12, 25, 10)


def test_it_gives_a_day_its_real_length_when_clocks_go_forward(db):
    cal = calendar_create(name="Every day", time_zone="Europe/Berlin",
                          hours=[(day, "09:00", "17:00") for day in EVERY_DAY])
    s = schedule_for(cal)
    sunday = date(2025, 3, 30)  # 02:00 CET → 03:00 CEST
    assert s.minutes_between(at(BERLIN, 2025, 3, 30), at(BERLIN, 2025, 3, 31)) == 480
    assert s.add_minutes(at(BERLIN, 2025, 3, 30, 9), 480) == datetime(2025, 3, 30, 15, tzinfo=UTC)
    assert s.open_intervals(sunday) == ((datetime(2025, 3, 30, 7, tzinfo=UTC), datetime(2025, 3, 30, 15, tzinfo=UTC)),)
    saturday_open = datetime(2025, 3, 29, 8, tzinfo=UTC)  # 09:00 CET
    assert s.add_minutes(saturday_open, 480 + 60) == datetime(2025, 3, 30, 8, tzinfo=UTC)  # 10:00 CEST


def test_it_gives_a_day_its_real_length_when_clocks_go_back(db):
    cal = calendar_create(name="Every day", time_zone="Europe/Berlin",
                          hours=[(day, "09:00", "17:00") for day in EVERY_DAY])
    s = schedule_for(cal)
    assert s.minutes_between(at(BERLIN, 2025, 10, 26), at(BERLIN, 2025, 10, 27)) == 480
    assert s.add_minutes(at(BERLIN, 2025, 10, 25, 16), 120) == datetime(2025, 10, 26, 9, tzinfo=UTC)  # 10:00 CET


def test_it_counts_the_real_length_of_a_night_shift_across_dst(db):
    # Saturday 22:00–24:00 and Sunday 00:00–06:00: one stretch, 8 wall-clock hours.
    cal = calendar_create(name="Night", time_zone="Europe/Berlin", hours=[(5, "22:00", "24:00"), (6, "00:00", "06:00")])
    s = schedule_for(cal)
    assert s.minutes_between(at(BERLIN, 2025, 3, 29), at(BERLIN, 2025, 3, 31)) == 7 * 60
    assert s.minutes_between(at(BERLIN, 2025, 10, 25), at(BERLIN, 2025, 10, 27)) == 9 * 60
    assert s.minutes_between(at(BERLIN, 2025, 6, 14), at(BERLIN, 2025, 6, 16)) == 8 * 60
    # In autumn 02:00–03:00 happens twice: 4 business hours after 23:00 CEST is 02:00 CET.
    assert s.add_minutes(at(BERLIN, 2025, 10, 25, 23), 240) == datetime(2025, 10, 26, 1, tzinfo=UTC)
    assert s.add_minutes(at(BERLIN, 2025, 3, 29, 23), 180) == at(BERLIN, 2025, 3, 30, 3)  # 02:00 never happens


def test_it_reads_non_existent_and_ambiguous_wall_times_with_fold_0(db):
    cal = calendar_create(name="Odd hours", time_zone="Europe/Berlin",
                          hours=[(6, "01:00", "02:30"), (6, "02:30", "04:00")])
    s = schedule_for(cal)
    # Spring: 02:30 does not exist; read with the CET offset it is 03:30 CEST (01:30 UTC).
    assert s.open_intervals(date(2025, 3, 30)) == (
        (datetime(2025, 3, 30, 0, tzinfo=UTC), datetime(2025, 3, 30, 2, tzinfo=UTC)),
    )
    # Autumn: 02:30 exists twice; fold=0 takes the first (CEST), so the day is 01:00 CEST–04:00 CET.
    assert s.open_intervals(date(2025, 10, 26)) == (
        (datetime(2025, 10, 25, 23, tzinfo=UTC), datetime(2025, 10, 26, 3, tzinfo=UTC)),
    )


def test_it_handles_new_york_dst_in_both_directions(db):
    cal = calendar_create(name="NY every day", time_zone="America/New_York",
                          hours=[(day, "00:00", "06:00") for day in EVERY_DAY])
    s = schedule_for(cal)
    assert s.minutes_between(at(NEW_YORK, 2025, 3, 9), at(NEW_YORK, 2025, 3, 10)) == 5 * 60
    assert s.minutes_between(at(NEW_YORK, 2025, 11, 2), at(NEW_YORK, 2025, 11, 3)) == 7 * 60
    assert s.add_minutes(at(NEW_YORK, 2025, 11, 2, 0), 6 * 60) == at(NEW_YORK, 2025, 11, 2, 5)


def test_it_starts_a_holiday_ticket_at_2359_after_the_dst_change(db):
    # Austria's National Day, Saturday 26 October 2024; clocks go back at 03:00 on Sunday 27.
    vienna = ZoneInfo("Europe/Vienna")
    cal = calendar_create(name="Vienna round the clock", time_zone="Europe/Vienna", country="AT",
                          hours=[(day, "00:00", "24:00") for day in EVERY_DAY])
    s = schedule_for(cal)
    created = at(vienna, 2024, 10, 26, 23, 59)
    assert not s.is_open(created)
    assert s.next_open(created) == datetime(2024, 10, 26, 22, tzinfo=UTC)  # Sunday 00:00 CEST
    due = s.add_minutes(created, 240)
    assert due == datetime(2024, 10, 27, 2, tzinfo=UTC)  # 03:00 CET: four real hours, one repeated
    assert s.minutes_between(created, at(vienna, 2024, 10, 28)) == 25 * 60


def test_it_does_plain_utc_arithmetic_when_open_24_7(always):
    s = schedule_for(always)
    start = at(BERLIN, 2025, 3, 29, 23)
    assert s.add_minutes(start, 180) == start.astimezone(UTC) + timedelta(hours=3)  # 03:00 CEST
    assert s.minutes_between(start, at(BERLIN, 2025, 3, 31)) == 24 * 60  # 1 h on Saturday + the 23 h Sunday
    assert s.is_open(start) and s.next_open(start) == start
    assert s.add_days(start, 2) == at(BERLIN, 2025, 3, 31, 23)  # same wall time across the change


def test_it_computes_in_the_calendars_zone_whatever_the_callers_zone(plain):
    s = schedule_for(plain)
    tokyo = ZoneInfo("Asia/Tokyo")
    # Monday 16 June 2025 23:30 in Tokyo is 16:30 in Berlin.
    due = s.add_minutes(at(tokyo, 2025, 6, 16, 23, 30), 60)
    assert due == at(BERLIN, 2025, 6, 17, 9, 30)
    assert due.tzinfo is UTC
    assert s.minutes_between(at(tokyo, 2025, 6, 16, 23, 30), due) == 60


def test_it_adds_business_days_at_the_same_local_time(office):
    s = schedule_for(office)
    assert s.add_days(at(BERLIN, 2025, 6, 13, 15), 1) == at(BERLIN, 2025, 6, 16, 15)
    assert s.add_days(at(BERLIN, 2025, 4, 17, 10), 1) == at(BERLIN, 2025, 4, 22, 10)  # Easter
    assert s.add_days(at(BERLIN, 2025, 6, 13, 18), 1) == at(BERLIN, 2025, 6, 17, 9)  # from Monday's opening
    assert s.add_days(at(BERLIN, 2025, 6, 13, 18), 0) == at(BERLIN, 2025, 6, 16, 9)
    assert s.add_days(at(BERLIN, 2025, 6, 16, 11, 30), 5) == at(BERLIN, 2025, 6, 23, 11, 30)


def test_it_moves_add_days_to_the_next_opening_when_that_day_is_closed_at_that_time(office):
    calendar_set_special_hours(calendar=office, date=date(2025, 6, 17), hours=[("09:00", "12:00")])
    s = schedule_for(BusinessCalendar.objects.get(pk=office.pk))
    assert s.add_days(at(BERLIN, 2025, 6, 16, 15), 1) == at(BERLIN, 2025, 6, 18, 9)
    assert s.add_days(at(BERLIN, 2025, 6, 16, 12, 30), 1) == at(BERLIN, 2025, 6, 18, 9)  # lunch on Monday → 13:00


def test_it_adds_ten_thousand_minutes_without_stepping(office):
    s = schedule_for(office)
    start = at(BERLIN, 2025, 1, 2, 9)
    due = s.add_minutes(start, 10_000)
    assert s.minutes_between(start, due) == 10_000
    far = s.add_minutes(start, 2_000_000)  # about 19 years of office hours
    assert s.minutes_between(start, far) == 2_000_000


def test_it_refuses_to_search_forever_for_time_that_never_comes(plain):
    calendar_update(calendar=plain, always_open=True)
    calendar_set_hours(calendar=plain, hours=[(0, "09:00", "17:00")])
    for day in range(3 * 366 // 7 + 2):
        calendar_add_closed_day(calendar=plain, date=date(2025, 6, 16) + timedelta(days=7 * day))
    calendar_update(calendar=plain, always_open=False)
    s = schedule_for(BusinessCalendar.objects.get(pk=plain.pk))
    with pytest.raises(NoBusinessTime):
        s.add_minutes(at(BERLIN, 2025, 6, 14), 1)
    with pytest.raises(NoBusinessTime):
        s.add_days(at(BERLIN, 2025, 6, 14), 1)
    assert s.minutes_between(at(BERLIN, 2025, 6, 14), at(BERLIN, 2026, 6, 14)) == 0


def test_it_refuses_naive_datetimes_and_negative_spans(plain):
    s = schedule_for(plain)
    with pytest.raises(ValueError):
        s.add_minutes(datetime(2025, 6, 16, 10), 5)
    with pytest.raises(ValueError):
        s.add_minutes(at(BERLIN, 2025, 6, 16, 10), -1)
    assert s.minutes_between(at(BERLIN, 2025, 6, 17), at(BERLIN, 2025, 6, 16)) == 0
