"""Business-time arithmetic on a compiled calendar.

``schedule_for(calendar)`` compiles a calendar's rows once into a ``BusinessSchedule`` (cached
in-process, keyed on the calendar's pk and ``revision``, which every editing service renews).

Contract (aware datetimes in any zone; results are aware UTC):

- ``add_minutes(start, n)``: the instant when ``n`` business minutes have elapsed since
  ``start``. Counting starts at ``next_open(start)``, so a ticket created while closed starts
  its clock at the next opening, and ``add_minutes(start, 0) == next_open(start)``. A result
  that lands exactly on a closing time is that closing time (Mon 09:00 + 480 min = Mon 17:00,
  not Tue 09:00).
- ``minutes_between(start, end)``: business minutes in [start, end), floored; 0 if end <= start.
  ``minutes_between(s, add_minutes(s, n)) == n`` for every s and n >= 0.
- ``add_days(start, n)``: let ``o = next_open(start)``; the result is the same local wall time
  as ``o`` on the n-th open day after ``o``'s local date (an open day has any business time),
  or, if the calendar is closed at that wall time that day, the next opening after it.
  ``add_days(start, 0) == next_open(start)``.
- ``is_open(at)``; ``next_open(at)`` (``at`` itself when open).

Intervals are half-open [start, end): at 17:00 a 09:00–17:00 calendar is closed.

Local wall times are converted to UTC date by date with ``zoneinfo``, so DST is exact: a
09:00–17:00 day is 8 h on both transition days, a night interval spanning a change has its
real length (00:00–06:00 is 5 h in spring, 7 h in autumn in Europe/Berlin). Wall times that
do not exist or exist twice follow PEP 495 with ``fold=0``, deterministically:

- a non-existent time (spring-forward gap) is read with the offset in force *before* the
  jump, i.e. it lands as much later as the gap is long (Berlin 02:30 → 03:30 CEST);
- an ambiguous time (autumn overlap) is its first occurrence (summer time).

After conversion a day's intervals are sorted and merged, and an interval that would begin
before the previous day's last one ended is clipped, so business time is never counted twice.

Precedence on a date: closed day > special hours > public holiday > weekly hours. Special hours
open a date even on a public holiday (an admin set them for that date on purpose).

Cost: no per-minute stepping. Each date's UTC intervals and open total are computed once and
memoised; whole weeks whose open total is below what remains are skipped with one lookup. A
calendar with no business time for ``MAX_CLOSED_DAYS`` consecutive days raises
``NoBusinessTime`` instead of searching forever.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from frontdesk.core.errors import InvalidInput

MAX_CLOSED_DAYS = 3 * 366  # consecutive days without business time before we give up
DAY_CACHE_LIMIT = 20_000  # memoised dates per schedule (~55 years); cleared when exceeded
ZERO = timedelta(0)
ONE_DAY = timedelta(days=1)
ONE_MINUTE = timedelta(minutes=1)

Span = tuple[int, int]  # (start_minute, end_minute) of local wall time, 0 <= start < end <= 1440
Interval = tuple[datetime, datetime]  # [start, end) in UTC


class NoBusinessTime(InvalidInput):
    """The calendar has no business time within ``MAX_CLOSED_DAYS`` days of the search."""

    code = "no_business_time"


@lru_cache(maxsize=512)
def holiday_dates(country: str, subdivision: str, year: int) -> frozenset[date]:
    """Public holidays of one year (observed days included, as the ``holidays`` package
    lists them). Holiday rules do not change with calendar edits, so this is shared."""
    table = holidays_lib.country_holidays(country, subdiv=subdivision or None, years=year)
    return frozenset(day for day in table if day.year == year)


def _aware(at: datetime, what: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime (got naive {at!r}).")
    return at.astimezone(UTC)


def _merge(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Sorted, with overlapping or touching spans joined."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((start, end) for start, end in merged)


@dataclass(frozen=True)
class _Day:
    intervals: tuple[Interval, ...]
    total: timedelta


class BusinessSchedule:
    """A calendar compiled for arithmetic. Build it with ``schedule_for(calendar)``; the
    constructor takes plain data so the arithmetic can be used (and benchmarked) without rows.

    ``weekly`` maps weekday (0 = Monday) to spans of minutes; ``special`` maps a date to the
    spans that replace its weekly hours; ``closed`` are dates closed all day.
    """

    def __init__(
        self,
        *,
        time_zone: str,
        weekly: Mapping[int, Iterable[Span]] | None = None,
        always_open: bool = False,
        country: str = "",
        subdivision: str = "",
        closed: Iterable[date] = (),
        special: Mapping[date, Iterable[Span]] | None = None,
    ):
        self.zone = ZoneInfo(time_zone)
        self.time_zone = time_zone
        self.always_open = always_open
        self.country = country
        self.subdivision = subdivision
        self.weekly = tuple(_merge((weekly or {}).get(day, ())) for day in range(7))
        self.closed = frozenset(closed)
        self.special = {day: _merge(spans) for day, spans in (special or {}).items()}
        self._days: dict[date, _Day] = {}
        self._raws: dict[date, tuple[Interval, ...]] = {}
        self._weeks: dict[date, timedelta] = {}
        self._lock = threading.Lock()  # guards only the clearing of the memo dicts

    # ----- the calendar, date by date -------------------------------------------------------

    def is_holiday(self, day: date) -> bool:
        return bool(self.country) and day in holiday_dates(self.country, self.subdivision, day.year)

    def spans_on(self, day: date) -> tuple[Span, ...]:
        """The local opening spans of ``day`` after closed days, special hours and holidays."""
        if day in self.closed:
            return ()
        if day in self.special:
            return self.special[day]
        if self.is_holiday(day):
            return ()
        return self.weekly[day.weekday()]

    def _wall(self, day: date, minute: int) -> datetime:
        """Local wall time ``minute`` after midnight of ``day`` (1440 = next midnight), in UTC,
        with fold=0 for non-existent and ambiguous times (see the module docstring)."""
        if minute >= 1440:
            day, minute = day + ONE_DAY, minute - 1440
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone)
        return local.astimezone(UTC)

    def _raw(self, day: date) -> tuple[Interval, ...]:
        cached = self._raws.get(day)
        if cached is not None:
            return cached
        converted = [(self._wall(day, s), self._wall(day, e)) for s, e in self.spans_on(day)]
        merged: list[list[datetime]] = []
        for start, end in sorted(converted):
            if end <= start:  # a span that lies wholly in a DST gap has no real time
                continue
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        result = tuple((start, end) for start, end in merged)
        self._raws[day] = result
        return result

    def _day(self, day: date) -> _Day:
        cached = self._days.get(day)
        if cached is not None:
            return cached
        raw = self._raw(day)
        previous = self._raw(day - ONE_DAY)
        clip = previous[-1][1] if previous else None
        intervals = []
        for start, end in raw:
            if clip is not None and start < clip:
                start = clip
            if end > start:
                intervals.append((start, end))
        result = _Day(
            intervals=tuple(intervals),
            total=sum((end - start for start, end in intervals), ZERO),
        )
        if len(self._days) >= DAY_CACHE_LIMIT:
            with self._lock:
                self._days.clear()
                self._raws.clear()
                self._weeks.clear()
        self._days[day] = result
        return result

    def _week_total(self, monday: date) -> timedelta:
        total = self._weeks.get(monday)
        if total is None:
            total = sum((self._day(monday + timedelta(days=i)).total for i in range(7)), ZERO)
            self._weeks[monday] = total
        return total

    def _local_date(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def _no_time(self, since: date) -> NoBusinessTime:
        return NoBusinessTime(
            f"The calendar has no business time in the {MAX_CLOSED_DAYS} days after {since.isoformat()}: "
            "give it opening hours or fewer closed days."
        )

    # ----- the contract --------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        at = _aware(at, "at")
        if self.always_open:
            return True
        local = self._local_date(at)
        for day in (local - ONE_DAY, local, local + ONE_DAY):
            for start, end in self._day(day).intervals:
                if start <= at < end:
                    return True
        return False

    def next_open(self, at: datetime) -> datetime:
        at = _aware(at, "at")
        if self.always_open:
            return at
        return self._walk(at, ZERO)

    def add_minutes(self, start: datetime, minutes: int) -> datetime:
        start = _aware(start, "start")
        if minutes < 0:
            raise ValueError("minutes must be >= 0.")
        if self.always_open:
            return start + timedelta(minutes=minutes)
        return self._walk(start, timedelta(minutes=minutes))

    def _walk(self, start: datetime, remaining: timedelta) -> datetime:
        """The instant at which ``remaining`` business time has elapsed after ``start``
        (``next_open(start)`` when ``remaining`` is zero)."""
        first = self._local_date(start)
        day = first - ONE_DAY
        # From ``first + 2`` on, every interval starts after ``start`` (intervals stay within
        # their local date, give or take a DST gap), so whole days and weeks may be skipped.
        clear_from = first + timedelta(days=2)
        closed_streak = 0
        while True:
            if day >= clear_from:
                if day.weekday() == 0:
                    while (week := self._week_total(day)) < remaining:
                        remaining -= week
                        closed_streak = closed_streak + 7 if not week else 0
                        if closed_streak > MAX_CLOSED_DAYS:
                            raise self._no_time(first)
                        day += timedelta(days=7)
                info = self._day(day)
                if info.total < remaining:
                    remaining -= info.total
                    closed_streak = closed_streak + 1 if not info.total else 0
                    if closed_streak > MAX_CLOSED_DAYS:
                        raise self._no_time(first)
                    day += ONE_DAY
                    continue
            info = self._day(day)
            for begin, end in info.intervals:
                if end <= start:
                    continue
                begin = max(begin, start)
                if remaining <= end - begin:
                    return begin + remaining
                remaining -= end - begin
            closed_streak = closed_streak + 1 if not info.total else 0
            if closed_streak > MAX_CLOSED_DAYS:
                raise self._no_time(first)
            day += ONE_DAY

    def minutes_between(self, start: datetime, end: datetime) -> int:
        start, end = _aware(start, "start"), _aware(end, "end")
        if end <= start:
            return 0
        if self.always_open:
            return (end - start) // ONE_MINUTE
        first, last = self._local_date(start), self._local_date(end)
        # Days in [first + 2, last - 2] lie wholly inside (start, end): count their totals.
        inner_from, inner_to = first + timedelta(days=2), last - timedelta(days=2)
        total = ZERO
        day = first - ONE_DAY
        while day <= last + ONE_DAY:
            if inner_from <= day <= inner_to:
                if day.weekday() == 0 and day + timedelta(days=6) <= inner_to:
                    total += self._week_total(day)
                    day += timedelta(days=7)
                    continue
                total += self._day(day).total
                day += ONE_DAY
                continue
            for begin, finish in self._day(day).intervals:
                begin, finish = max(begin, start), min(finish, end)
                if finish > begin:
                    total += finish - begin
            day += ONE_DAY
        return total // ONE_MINUTE

    def add_days(self, start: datetime, days: int) -> datetime:
        start = _aware(start, "start")
        if days < 0:
            raise ValueError("days must be >= 0.")
        opening = self.next_open(start)
        if days == 0:
            return opening
        local = opening.astimezone(self.zone)
        wall = local.time().replace(tzinfo=None, fold=0)
        day = local.date()
        if self.always_open:
            day += timedelta(days=days)
        else:
            closed_streak = 0
            while days:
                day += ONE_DAY
                if self._day(day).total:
                    days -= 1
                    closed_streak = 0
                else:
                    closed_streak += 1
                    if closed_streak > MAX_CLOSED_DAYS:
                        raise self._no_time(local.date())
        target = datetime.combine(day, wall, tzinfo=self.zone).astimezone(UTC)
        return self.next_open(target)

    def open_intervals(self, day: date) -> tuple[Interval, ...]:
        """The UTC business intervals of one local date (for display and tests)."""
        if self.always_open:
            return ((self._wall(day, 0), self._wall(day, 1440)),)
        return self._day(day).intervals


# ----- compiling rows, cached --------------------------------------------------------------

_CACHE_LIMIT = 256
_cache: dict[tuple[int, uuid.UUID], BusinessSchedule] = {}
_cache_lock = threading.Lock()


def compile_calendar(calendar) -> BusinessSchedule:
    """Read a calendar's rows (3 queries) into a schedule. Prefer ``schedule_for``."""
    weekly: dict[int, list[Span]] = {}
    for weekday, start, end in calendar.intervals.values_list("weekday", "start_minute", "end_minute"):
        weekly.setdefault(weekday, []).append((start, end))
    special: dict[date, list[Span]] = {}
    for day, start, end in calendar.special_hours.values_list("date", "start_minute", "end_minute"):
        special.setdefault(day, []).append((start, end))
    return BusinessSchedule(
        time_zone=calendar.time_zone,
        weekly=weekly,
        always_open=calendar.always_open,
        country=calendar.country,
        subdivision=calendar.subdivision,
        closed=calendar.closed_days.values_list("date", flat=True),
        special=special,
    )


def schedule_for(calendar) -> BusinessSchedule:
    """The compiled schedule of ``calendar`` (a saved ``BusinessCalendar``), from the
    in-process cache when this pk and ``revision`` were compiled before. An instance loaded
    before an edit still has the old revision and gets the old schedule: load the calendar
    fresh (as a task does) to see edits."""
    if calendar.pk is None:
        raise ValueError("Save the calendar before computing with it.")
    key = (calendar.pk, calendar.revision)
    schedule = _cache.get(key)
    if schedule is None:
        schedule = compile_calendar(calendar)
        with _cache_lock:
            if len(_cache) >= _CACHE_LIMIT:
                _cache.clear()
            _cache[key] = schedule
    return schedule
