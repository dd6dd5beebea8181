"""Business-time arithmetic: computations per second, next to naive minute-by-minute stepping.

    .venv/bin/python bench/business_time.py [--seconds 0.5] [--seed 7]

Two calendars, built from plain data (what ``schedule_for`` compiles rows into, so no database
is needed): a realistic office (Europe/Berlin, Mon–Fri 09:00–12:30 and 13:30–17:30, German
public holidays, a dozen company closed days, special hours before Christmas) and a 24/7 one.
For each, ``add_minutes`` and ``minutes_between`` over spans from 30 business minutes to 30
business days, from random instants in 2025–2026. The schedule is warm (as in a running
process: compiled once per calendar and memoising dates); one row shows a cold schedule.

The baseline, written here and used only here, steps one minute at a time and asks, for
each minute, "is the calendar open?" from local wall time. Both must agree on every sampled
result, which the benchmark checks before it prints.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontdesk.settings")

import django  # noqa: E402

django.setup()

from frontdesk.calendars.schedule import BusinessSchedule, holiday_dates  # noqa: E402

ZONE = "Europe/Berlin"
WEEKLY = {day: [(540, 750), (810, 1050)] for day in range(5)}  # 7.5 h a day
DAY_MINUTES = 450
CLOSED = [date(2025, 8, 1), date(2025, 8, 4), date(2025, 12, 24), date(2025, 12, 31), date(2026, 1, 2),
          date(2026, 5, 15), date(2026, 8, 3), date(2026, 8, 4), date(2026, 12, 24), date(2026, 12, 31),
          date(2027, 1, 4), date(2027, 1, 5)]
SPECIAL = {date(2025, 12, 20): [(600, 960)], date(2026, 12, 19): [(600, 960)]}
MINUTE = timedelta(minutes=1)


def office() -> BusinessSchedule:
    return BusinessSchedule(time_zone=ZONE, weekly=WEEKLY, country="DE", closed=CLOSED, special=SPECIAL)


def always() -> BusinessSchedule:
    return BusinessSchedule(time_zone=ZONE, always_open=True)


class NaiveCalendar:
    """The baseline: is each minute open? Local wall time, holidays, closed days, special hours."""

    def __init__(self, *, always_open: bool):
        self.zone = ZoneInfo(ZONE)
        self.always_open = always_open

    def is_open(self, at: datetime) -> bool:
        if self.always_open:
            return True
        local = at.astimezone(self.zone)
        day = local.date()
        if day in CLOSED:
            return False
        if day in SPECIAL:
            spans = SPECIAL[day]
        elif day in holiday_dates("DE", "", day.year):
            return False
        else:
            spans = WEEKLY.get(day.weekday(), ())
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in spans)

    def add_minutes(self, start: datetime, minutes: int) -> datetime:
        at = start
        while not self.is_open(at):
            at += MINUTE
        end = at
        while minutes:
            if self.is_open(at):
                minutes -= 1
                end = at + MINUTE
            at += MINUTE
        return end

    def minutes_between(self, start: datetime, end: datetime) -> int:
        count, at = 0, start
        while at < end:
            count += self.is_open(at)
            at += MINUTE
        return count


def starts(rng: random.Random, count: int) -> list[datetime]:
    """Random whole-minute instants in 2025–2026 (the naive stepper counts whole minutes)."""
    base = datetime(2025, 1, 1, tzinfo=UTC)
    return [base + timedelta(minutes=rng.randrange(2 * 365 * 24 * 60)) for _ in range(count)]


def rate(call, cases: list, budget: float) -> tuple[float, list]:
    """Calls per second over the cases (cycled until ``budget`` seconds have passed)."""
    results, done = [], 0
    began = time.perf_counter()
    while True:
        for case in cases:
            results.append(call(*case))
            done += 1
        elapsed = time.perf_counter() - began
        if elapsed >= budget:
            return done / elapsed, results[: len(cases)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time budget per measurement")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    spans = [("30 min", 30), ("8 h", 480), ("5 days", 5 * DAY_MINUTES), ("30 days", 30 * DAY_MINUTES)]
    calendars = [("office", office(), NaiveCalendar(always_open=False)),
                 ("24/7", always(), NaiveCalendar(always_open=True))]

    rows = []
    for name, schedule, naive in calendars:
        for label, minutes in spans:
            sample = starts(rng, 200)
            naive_sample = sample[:6]
            for start in sample:  # warm: a running process has these dates memoised already
                schedule.minutes_between(start, schedule.add_minutes(start, minutes))
            add_fast, due = rate(schedule.add_minutes, [(s, minutes) for s in sample], args.seconds)
            add_naive, naive_due = rate(naive.add_minutes, [(s, minutes) for s in naive_sample], args.seconds)
            assert due[: len(naive_due)] == naive_due, (name, label, due[:6], naive_due)
            pairs = list(zip(sample, due, strict=True))
            between_fast, counted = rate(schedule.minutes_between, pairs, args.seconds)
            assert counted == [minutes] * len(pairs), (name, label)
            between_naive, naive_counted = rate(naive.minutes_between, pairs[:6], args.seconds)
            assert naive_counted == [minutes] * 6, (name, label, naive_counted)
            rows.append((name, "add_minutes", label, add_fast, add_naive))
            rows.append((name, "minutes_between", label, between_fast, between_naive))

    cold_sample = [(s, 30 * DAY_MINUTES) for s in starts(rng, 50)]
    cold, _ = rate(lambda s, m: office().add_minutes(s, m), cold_sample, args.seconds)
    rows.append(("office, cold", "add_minutes", "30 days", cold, None))

    print(f"{'calendar':<14} {'operation':<16} {'span':>8} {'ops/s':>12} {'naive ops/s':>12} {'speed-up':>10}")
    for name, operation, label, fast, naive_rate in rows:
        naive_text = f"{naive_rate:12,.1f}" if naive_rate else f"{'—':>12}"
        ratio = f"{fast / naive_rate:9,.0f}×" if naive_rate else f"{'—':>10}"
        print(f"{name:<14} {operation:<16} {label:>8} {fast:12,.0f} {naive_text} {ratio}")
    print(f"\nspans in business time (a business day = {DAY_MINUTES} min); {args.seconds} s per measurement; "
          f"results of both implementations compared on every naive sample")


if __name__ == "__main__":
    main()
