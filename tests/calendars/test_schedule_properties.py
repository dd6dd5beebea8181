"""Properties of the arithmetic on random instants, against a minute-by-minute oracle.

The schedules are built from plain data (``BusinessSchedule`` is what ``schedule_for``
compiles rows into), so hypothesis can run many examples without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.calendars.schedule import BusinessSchedule

OFFICE = BusinessSchedule(
    time_zone="Europe/Berlin", country="DE",
    weekly={day: [(540, 720), (780, 1020)] for day in range(5)},
    closed=[date(2025, 6, 17), date(2025, 12, 31)],
    special={date(2025, 12, 21): [(600, 960)]},
)
NIGHTS = BusinessSchedule(  # night shifts across midnight and both DST changes
    time_zone="America/New_York", country="US",
    weekly={**{day: [(0, 360), (1260, 1440)] for day in range(6)}, 6: [(0, 150), (170, 200)]},
)
SCHEDULES = st.sampled_from([OFFICE, NIGHTS])
MINUTE = timedelta(minutes=1)

instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)
minute_instants = instants.map(lambda at: at.replace(second=0, microsecond=0))


def oracle_add(schedule: BusinessSchedule, start: datetime, minutes: int) -> datetime:
    """Minute by minute, asking only ``is_open``."""
    at = start
    while not schedule.is_open(at):
        at += MINUTE
    counted, end = 0, at
    while counted < minutes:
        if schedule.is_open(at):
            counted += 1
            end = at + MINUTE
        at += MINUTE
    return end


@settings(max_examples=300, deadline=None)
@given(schedule=SCHEDULES, start=instants, minutes=st.integers(0, 60_000))
def test_it_counts_back_exactly_what_it_added(schedule, start, minutes):
    due = schedule.add_minutes(start, minutes)
    assert due.tzinfo is UTC
    assert schedule.minutes_between(start, due) == minutes
    if minutes:
        assert schedule.is_open(due - timedelta(microseconds=1))


@settings(max_examples=200, deadline=None)
@given(schedule=SCHEDULES, start=instants, minutes=st.integers(0, 20_000), more=st.integers(0, 5_000))
def test_it_is_monotonic_in_the_minutes_added(schedule, start, minutes, more):
    assert schedule.add_minutes(start, minutes) <= schedule.add_minutes(start, minutes + more)
    if more:
        assert schedule.add_minutes(start, minutes) < schedule.add_minutes(start, minutes + more)


@settings(max_examples=60, deadline=None)
@given(schedule=SCHEDULES, start=minute_instants, minutes=st.integers(0, 900))
def test_it_agrees_with_stepping_minute_by_minute(schedule, start, minutes):
    assert schedule.add_minutes(start, minutes) == oracle_add(schedule, start, minutes)


@settings(max_examples=200, deadline=None)
@given(schedule=SCHEDULES, start=instants, end=instants, middle=instants)
def test_it_adds_up_business_time_over_consecutive_spans(schedule, start, end, middle):
    start, middle, end = sorted((start, middle, end))
    seconds = [schedule.minutes_between(start, middle), schedule.minutes_between(middle, end)]
    whole = schedule.minutes_between(start, end)
    assert sum(seconds) <= whole <= sum(seconds) + 1  # each part is floored on its own


@settings(max_examples=200, deadline=None)
@given(schedule=SCHEDULES, at=instants, days=st.integers(0, 30))
def test_it_lands_add_days_on_an_open_instant(schedule, at, days):
    result = schedule.add_days(at, days)
    assert schedule.is_open(result)
    assert result >= schedule.next_open(at)
    assert schedule.next_open(result) == result
