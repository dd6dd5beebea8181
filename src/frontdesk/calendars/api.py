"""/api/v1/calendars: business calendars. Any agent may read; administrators write."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Query, Router, Schema, Status

from frontdesk.accounts.permissions import check_admin
from frontdesk.core.errors import InvalidInput
from frontdesk.core.schemas import StrictIn, id_page

from . import selectors, services
from .models import BusinessCalendar, format_minute
from .schedule import schedule_for

router = Router(tags=["business calendars"])

TimeText = Field(pattern=r"^\d{1,2}:\d{2}$", description='"HH:MM"; "24:00" allowed as an end.')


class HoursIn(StrictIn):
    weekday: int = Field(ge=0, le=6, description="0 = Monday … 6 = Sunday.")
    start: str = TimeText
    end: str = TimeText


class SpanIn(StrictIn):
    start: str = TimeText
    end: str = TimeText


class HoursOut(Schema):
    weekday: int
    start: str
    end: str


class SpanOut(Schema):
    start: str
    end: str


class ClosedDayIn(StrictIn):
    date: date
    label: str = Field(default="", max_length=200)


class ClosedDayOut(Schema):
    date: date
    label: str


class SpecialDayIn(StrictIn):
    label: str = Field(default="", max_length=200)
    hours: list[SpanIn] = Field(max_length=24, description="Empty removes the special hours of that date.")


class SpecialDayOut(Schema):
    date: date
    label: str
    hours: list[SpanOut]


class CalendarOut(Schema):
    id: int
    name: str
    time_zone: str
    always_open: bool
    country: str
    subdivision: str
    is_default: bool
    hours: list[HoursOut]
    closed_days: list[ClosedDayOut]
    special_hours: list[SpecialDayOut]
    created_at: datetime
    updated_at: datetime


class CalendarPage(Schema):
    items: list[CalendarOut]
    next_cursor: str | None


class CalendarIn(StrictIn):
    name: str = Field(min_length=1, max_length=100)
    time_zone: str = Field(max_length=64, description="IANA name, e.g. Europe/Berlin.")
    always_open: bool = False
    country: str = Field(default="", max_length=3, description="ISO code for public holidays, e.g. DE.")
    subdivision: str = Field(default="", max_length=64)
    is_default: bool = False
    hours: list[HoursIn] = Field(default_factory=list, max_length=168)


class CalendarPatch(StrictIn):
    """Only the fields sent change; ``hours``, when sent, replaces the weekly hours."""

    name: str = Field(default="", min_length=1, max_length=100)
    time_zone: str = Field(default="", max_length=64)
    always_open: bool = False
    country: str = Field(default="", max_length=3)
    subdivision: str = Field(default="", max_length=64)
    is_default: bool = False
    hours: list[HoursIn] = Field(default_factory=list, max_length=168)


class AddOut(Schema):
    start: datetime
    minutes: int
    due: datetime


def _special_days(calendar: BusinessCalendar) -> list[dict]:
    days: dict[date, dict] = {}
    for row in calendar.special_hours.all():
        day = days.setdefault(row.date, {"date": row.date, "label": row.label, "hours": []})
        day["hours"].append({"start": format_minute(row.start_minute), "end": format_minute(row.end_minute)})
    return list(days.values())


def calendar_out(calendar: BusinessCalendar) -> dict:
    return {
        "id": calendar.pk, "name": calendar.name, "time_zone": calendar.time_zone,
        "always_open": calendar.always_open, "country": calendar.country,
        "subdivision": calendar.subdivision, "is_default": calendar.is_default,
        "hours": [
            {"weekday": row.weekday, "start": format_minute(row.start_minute), "end": format_minute(row.end_minute)}
            for row in calendar.intervals.all()
        ],
        "closed_days": [{"date": row.date, "label": row.label} for row in calendar.closed_days.all()],
        "special_hours": _special_days(calendar),
        "created_at": calendar.created_at, "updated_at": calendar.updated_at,
    }


def _hours(rows: list[HoursIn]) -> list[tuple[int, str, str]]:
    return [(row.weekday, row.start, row.end) for row in rows]


def _fresh(calendar_id: int) -> dict:
    return calendar_out(selectors.calendar_get(calendar_id=calendar_id))


@router.get("/calendars", response=CalendarPage)
def list_calendars(request, cursor: str | None = None, limit: int = Query(25, ge=1, le=100)):
    rows, next_cursor = id_page(
        selectors.calendar_list().prefetch_related("intervals", "closed_days", "special_hours"),
        cursor=cursor, limit=limit,
    )
    return {"items": [calendar_out(c) for c in rows], "next_cursor": next_cursor}


@router.post("/calendars", response={201: CalendarOut})
def create_calendar(request, payload: CalendarIn):
    check_admin(request.auth)
    fields = payload.model_dump(exclude={"hours"})
    calendar = services.calendar_create(**fields, hours=_hours(payload.hours))
    return Status(201, _fresh(calendar.pk))


@router.get("/calendars/{calendar_id}", response=CalendarOut)
def get_calendar(request, calendar_id: int):
    return _fresh(calendar_id)


@router.patch("/calendars/{calendar_id}", response=CalendarOut)
def update_calendar(request, calendar_id: int, payload: CalendarPatch):
    check_admin(request.auth)
    calendar = selectors.calendar_get(calendar_id=calendar_id)
    changes = payload.model_dump(exclude_unset=True, exclude={"hours"})
    hours = _hours(payload.hours) if "hours" in payload.model_fields_set else None
    services.calendar_update(calendar=calendar, hours=hours, **changes)
    return _fresh(calendar_id)


@router.delete("/calendars/{calendar_id}", response={204: None})
def delete_calendar(request, calendar_id: int):
    check_admin(request.auth)
    services.calendar_delete(calendar=selectors.calendar_get(calendar_id=calendar_id))
    return Status(204, None)


@router.post("/calendars/{calendar_id}/closed-days", response={201: ClosedDayOut})
def add_closed_day(request, calendar_id: int, payload: ClosedDayIn):
    check_admin(request.auth)
    calendar = selectors.calendar_get(calendar_id=calendar_id)
    return Status(201, services.calendar_add_closed_day(calendar=calendar, date=payload.date, label=payload.label))


@router.delete("/calendars/{calendar_id}/closed-days/{day}", response={204: None})
def remove_closed_day(request, calendar_id: int, day: date):
    check_admin(request.auth)
    services.calendar_remove_closed_day(calendar=selectors.calendar_get(calendar_id=calendar_id), date=day)
    return Status(204, None)


@router.put("/calendars/{calendar_id}/special-hours/{day}", response=CalendarOut)
def set_special_hours(request, calendar_id: int, day: date, payload: SpecialDayIn):
    check_admin(request.auth)
    services.calendar_set_special_hours(
        calendar=selectors.calendar_get(calendar_id=calendar_id), date=day, label=payload.label,
        hours=[(span.start, span.end) for span in payload.hours],
    )
    return _fresh(calendar_id)


@router.get("/calendars/{calendar_id}/add", response=AddOut)
def preview_add(request, calendar_id: int, start: datetime, minutes: int = Query(..., ge=0, le=5_000_000)):
    """When ``minutes`` business minutes after ``start`` fall due (an offset in ``start`` is
    required, e.g. 2025-06-16T10:00:00+02:00)."""
    if start.tzinfo is None:
        raise InvalidInput("Give start with a UTC offset, e.g. 2025-06-16T10:00:00+02:00.", code="naive_datetime")
    calendar = selectors.calendar_get(calendar_id=calendar_id)
    return {"start": start, "minutes": minutes, "due": schedule_for(calendar).add_minutes(start, minutes)}
