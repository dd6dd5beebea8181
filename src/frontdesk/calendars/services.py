"""Writes on business calendars. Admin-only at the edges (API, admin site); each service is
one transaction that locks the calendar row, validates, writes, and renews ``revision`` so the
compiled schedule of every process is rebuilt on next use.

Times of day are given as ``"HH:MM"`` strings (``"24:00"`` allowed as an end), as minutes
after midnight (0–1440), or as ``datetime.time`` (an *end* of ``time(0, 0)`` means 24:00).
"""

from __future__ import annotations

import re
import uuid
import zoneinfo
from collections.abc import Iterable
from datetime import date as Date
from datetime import time

import holidays as holidays_lib
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from frontdesk.core.errors import Conflict, InvalidInput

from .models import BusinessCalendar, ClosedDay, OpeningInterval, SpecialHours, Weekday, format_minute

NO_HOURS = "A calendar needs at least one opening interval (or mark it open 24/7)."
CALENDAR_FIELDS = {"name", "time_zone", "always_open", "country", "subdivision", "is_default"}
TimeOfDay = str | int | time
WeeklyHours = Iterable[tuple[int, TimeOfDay, TimeOfDay]]  # (weekday 0=Monday, start, end)
DayHours = Iterable[tuple[TimeOfDay, TimeOfDay]]  # (start, end)

_HHMM = re.compile(r"(\d{1,2}):(\d{2})")


# ----- checks (also called by the admin forms) ----------------------------------------------

def parse_minute(value: TimeOfDay, *, end: bool = False) -> int:
    """A time of day as minutes after midnight; refuses what is not one."""
    if isinstance(value, time):
        minute = value.hour * 60 + value.minute
        return 1440 if end and minute == 0 else minute
    if isinstance(value, bool):
        raise InvalidInput(f"{value!r} is not a time of day.", code="invalid_time")
    if isinstance(value, int):
        minute = value
    else:
        match = _HHMM.fullmatch(str(value).strip())
        if not match or int(match[2]) > 59:
            raise InvalidInput(f"{value!r} is not a time of day (use HH:MM, e.g. 09:00).", code="invalid_time")
        minute = int(match[1]) * 60 + int(match[2])
    if not 0 <= minute <= 1440:
        raise InvalidInput(f"{value!r} is not a time of day between 00:00 and 24:00.", code="invalid_time")
    return minute


def check_spans(spans: Iterable[tuple[TimeOfDay, TimeOfDay]], *, where: str) -> list[tuple[int, int]]:
    """Parsed (start, end) minute pairs: each ends after it starts (no interval crosses
    midnight: use 24:00 and 00:00 on the next day), none overlaps another (touching is fine)."""
    parsed = []
    for start, end in spans:
        first, last = parse_minute(start), parse_minute(end, end=True)
        if first >= 1440 or last <= first:
            raise InvalidInput(
                f"{where}: {format_minute(first)}–{format_minute(last)} must end after it starts; an interval "
                "cannot cross midnight (end it at 24:00 and start the next day at 00:00).",
                code="invalid_interval",
            )
        parsed.append((first, last))
    ordered = sorted(parsed)
    for (a_start, a_end), (b_start, b_end) in zip(ordered, ordered[1:], strict=False):
        if b_start < a_end:
            raise InvalidInput(
                f"{where}: {format_minute(a_start)}–{format_minute(a_end)} overlaps "
                f"{format_minute(b_start)}–{format_minute(b_end)}.",
                code="overlapping_intervals",
            )
    return ordered


def check_weekly_hours(hours: WeeklyHours) -> list[tuple[int, int, int]]:
    """Parsed (weekday, start, end) triples, checked day by day."""
    by_day: dict[int, list] = {}
    for row in hours:
        try:
            weekday, start, end = row
        except (TypeError, ValueError) as exc:
            raise InvalidInput("Give each opening interval as (weekday, start, end).", code="invalid_interval") from exc
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise InvalidInput(f"{weekday!r} is not a weekday (0 = Monday … 6 = Sunday).", code="invalid_weekday")
        by_day.setdefault(weekday, []).append((start, end))
    return [
        (weekday, start, end)
        for weekday in sorted(by_day)
        for start, end in check_spans(by_day[weekday], where=Weekday(weekday).label)
    ]


def check_time_zone(name: str) -> str:
    name = (name or "").strip()
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"Unknown time zone {name!r} (use an IANA name such as Europe/Berlin).",
                           code="invalid_time_zone") from exc
    return name


def check_region(country: str, subdivision: str) -> tuple[str, str]:
    """The ``holidays`` package's spelling of a country code and subdivision (case-insensitive
    input); ("", "") for no public holidays."""
    country, subdivision = (country or "").strip(), (subdivision or "").strip()
    if not country:
        if subdivision:
            raise InvalidInput("Choose a country for the subdivision.", code="invalid_country")
        return "", ""
    supported = holidays_lib.list_supported_countries()
    canonical = {code.upper(): code for code in supported}
    if country.upper() not in canonical:
        raise InvalidInput(f"No public holidays are known for country {country!r} (use an ISO code such as DE).",
                           code="invalid_country")
    country = canonical[country.upper()]
    if subdivision:
        subdivisions = {name.upper(): name for name in supported[country]}
        if subdivision.upper() not in subdivisions:
            known = ", ".join(supported[country][:40]) or "none"
            raise InvalidInput(f"{country} has no subdivision {subdivision!r} (known: {known}).",
                               code="invalid_subdivision")
        subdivision = subdivisions[subdivision.upper()]
    return country, subdivision


def check_has_hours(*, always_open: bool, interval_count: int) -> None:
    if not always_open and interval_count == 0:
        raise InvalidInput(NO_HOURS, code="no_opening_hours")


def _check_name(name: str, *, calendar: BusinessCalendar | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Give the calendar a name.", code="empty_name")
    if len(name) > 100:
        raise InvalidInput("A calendar name has at most 100 characters.", code="invalid_name")
    taken = BusinessCalendar.objects.filter(name=name)
    if calendar is not None:
        taken = taken.exclude(pk=calendar.pk)
    if taken.exists():
        raise Conflict(f"A calendar named {name!r} already exists.", code="name_taken")
    return name


def _locked(calendar: BusinessCalendar) -> None:
    """Serialize edits of one calendar (interval checks read then write)."""
    if not BusinessCalendar.objects.select_for_update().filter(pk=calendar.pk).exists():
        raise Conflict("This calendar was deleted.", code="calendar_deleted")


def _touch(calendar: BusinessCalendar) -> None:
    calendar.revision = uuid.uuid4()
    calendar.save(update_fields=["revision", "updated_at"])


def _replace_hours(calendar: BusinessCalendar, parsed: list[tuple[int, int, int]]) -> None:
    calendar.intervals.all().delete()
    OpeningInterval.objects.bulk_create([
        OpeningInterval(calendar=calendar, weekday=weekday, start_minute=start, end_minute=end)
        for weekday, start, end in parsed
    ])


def _take_default(calendar: BusinessCalendar) -> None:
    BusinessCalendar.objects.filter(is_default=True).exclude(pk=calendar.pk).update(is_default=False)


# ----- services -------------------------------------------------------------------------------

@transaction.atomic
def calendar_create(
    *,
    name: str,
    time_zone: str,
    always_open: bool = False,
    country: str = "",
    subdivision: str = "",
    hours: WeeklyHours = (),
    is_default: bool = False,
) -> BusinessCalendar:
    """A new calendar with its weekly ``hours``; refused without hours unless ``always_open``."""
    name = _check_name(name)
    time_zone = check_time_zone(time_zone)
    country, subdivision = check_region(country, subdivision)
    parsed = check_weekly_hours(hours)
    check_has_hours(always_open=always_open, interval_count=len(parsed))
    if is_default:
        BusinessCalendar.objects.filter(is_default=True).update(is_default=False)
    try:
        with transaction.atomic():
            calendar = BusinessCalendar.objects.create(
                name=name, time_zone=time_zone, always_open=always_open, country=country,
                subdivision=subdivision, is_default=is_default,
            )
    except IntegrityError as exc:  # a concurrent create with the same name (or default)
        raise Conflict(f"A calendar named {name!r} already exists.", code="name_taken") from exc
    _replace_hours(calendar, parsed)
    return calendar


@transaction.atomic
def calendar_update(
    *, calendar: BusinessCalendar, hours: WeeklyHours | None = None, **fields
) -> BusinessCalendar:
    """Change any of name, time_zone, always_open, country, subdivision, is_default and, when
    given, replace the weekly ``hours``; the result must still have hours or be 24/7."""
    if unknown := set(fields) - CALENDAR_FIELDS:
        raise InvalidInput(f"Unknown calendar fields: {', '.join(sorted(unknown))}.")
    _locked(calendar)
    if "name" in fields:
        fields["name"] = _check_name(fields["name"], calendar=calendar)
    if "time_zone" in fields:
        fields["time_zone"] = check_time_zone(fields["time_zone"])
    if "country" in fields or "subdivision" in fields:
        fields["country"], fields["subdivision"] = check_region(
            fields.get("country", calendar.country),
            fields.get("subdivision", calendar.subdivision if "country" not in fields else ""),
        )
    if fields.get("is_default") is False and calendar.is_default:
        raise InvalidInput("Make another calendar the default instead.", code="default_required")
    always_open = fields.get("always_open", calendar.always_open)
    if hours is not None:
        parsed = check_weekly_hours(hours)
        check_has_hours(always_open=always_open, interval_count=len(parsed))
        _replace_hours(calendar, parsed)
    else:
        check_has_hours(always_open=always_open, interval_count=calendar.intervals.count())
    if fields.get("is_default"):
        _take_default(calendar)
    for field, value in fields.items():
        setattr(calendar, field, value)
    calendar.revision = uuid.uuid4()
    try:
        with transaction.atomic():
            calendar.save()
    except IntegrityError as exc:
        raise Conflict(f"A calendar named {calendar.name!r} already exists.", code="name_taken") from exc
    return calendar


def calendar_set_hours(*, calendar: BusinessCalendar, hours: WeeklyHours) -> BusinessCalendar:
    """Replace the weekly opening hours."""
    return calendar_update(calendar=calendar, hours=hours)


@transaction.atomic
def calendar_add_closed_day(*, calendar: BusinessCalendar, date: Date, label: str = "") -> ClosedDay:
    """Close ``date`` all day (idempotent: an existing closed day gets the new label). Special
    hours on that date are removed: the newest instruction for a date wins."""
    if not isinstance(date, Date):
        raise InvalidInput(f"{date!r} is not a date.", code="invalid_date")
    _locked(calendar)
    calendar.special_hours.filter(date=date).delete()
    closed, _ = ClosedDay.objects.update_or_create(
        calendar=calendar, date=date, defaults={"label": (label or "").strip()[:200]}
    )
    _touch(calendar)
    return closed


@transaction.atomic
def calendar_remove_closed_day(*, calendar: BusinessCalendar, date: Date) -> None:
    _locked(calendar)
    calendar.closed_days.filter(date=date).delete()
    _touch(calendar)


@transaction.atomic
def calendar_set_special_hours(
    *, calendar: BusinessCalendar, date: Date, hours: DayHours, label: str = ""
) -> list[SpecialHours]:
    """Give ``date`` its own opening ``hours``, replacing the weekly hours (and any holiday)
    that day. Empty ``hours`` removes the special hours (to close the date, add a closed day).
    A closed day on that date is removed: the newest instruction for a date wins."""
    if not isinstance(date, Date):
        raise InvalidInput(f"{date!r} is not a date.", code="invalid_date")
    parsed = check_spans(hours, where=date.isoformat())
    _locked(calendar)
    calendar.special_hours.filter(date=date).delete()
    rows = SpecialHours.objects.bulk_create([
        SpecialHours(calendar=calendar, date=date, start_minute=start, end_minute=end,
                     label=(label or "").strip()[:200])
        for start, end in parsed
    ])
    if rows:
        calendar.closed_days.filter(date=date).delete()
    _touch(calendar)
    return rows


@transaction.atomic
def calendar_delete(*, calendar: BusinessCalendar) -> None:
    """Delete an unused calendar. Refused for the default one and for one still referenced
    (e.g. by an SLA policy through a PROTECT foreign key)."""
    if calendar.is_default:
        raise Conflict("This is the default calendar: make another one the default first.",
                       code="default_calendar")
    try:
        with transaction.atomic():
            calendar.delete()
    except ProtectedError as exc:
        raise Conflict("This calendar is in use; change what uses it first.", code="calendar_in_use") from exc
