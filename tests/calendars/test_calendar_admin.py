"""The admin site edits calendars with the services' checks."""

from __future__ import annotations

import pytest
from django.test import Client

from frontdesk.accounts.services import agent_create
from frontdesk.calendars.models import BusinessCalendar
from frontdesk.calendars.schedule import schedule_for

from .conftest import BERLIN, at

PASSWORD = "correct horse battery 9"


@pytest.fixture
def browser(db):
    agent_create(email="root@example.com", name="Root", role="admin", password=PASSWORD)
    client = Client()
    assert client.login(email="root@example.com", password=PASSWORD)
    return client


def form(*, intervals=(), **fields) -> dict:
    data = {"name": "Admin made", "time_zone": "Europe/Berlin", "country": "DE", "subdivision": "", **fields}
    for prefix, rows in (("intervals", intervals), ("closed_days", ()), ("special_hours", ())):
        data.update({f"{prefix}-TOTAL_FORMS": len(rows), f"{prefix}-INITIAL_FORMS": 0,
                     f"{prefix}-MIN_NUM_FORMS": 0, f"{prefix}-MAX_NUM_FORMS": 1000})
        for index, row in enumerate(rows):
            data.update({f"{prefix}-{index}-{key}": value for key, value in row.items()})
    return data


def test_it_creates_a_calendar_in_the_admin(browser):
    intervals = [{"weekday": day, "start_minute": "09:00", "end_minute": "17:00"} for day in range(5)]
    response = browser.post("/admin/calendars/businesscalendar/add/", form(intervals=intervals))
    assert response.status_code == 302, response.content.decode()[:3000]
    cal = BusinessCalendar.objects.get()
    assert set(cal.intervals.values_list("weekday", "start_minute", "end_minute")) == {(d, 540, 1020) for d in range(5)}
    assert schedule_for(cal).add_minutes(at(BERLIN, 2025, 6, 13, 16), 120) == at(BERLIN, 2025, 6, 16, 10)
    assert browser.get(f"/admin/calendars/businesscalendar/{cal.pk}/change/").status_code == 200


@pytest.mark.parametrize("fields,intervals,message", [
    ({}, [], "A calendar needs at least one opening interval (or mark it open 24/7)."),
    ({"time_zone": "Nowhere/Land"}, [{"weekday": 0, "start_minute": "09:00", "end_minute": "17:00"}],
     "Unknown time zone"),
    ({"country": "XX"}, [{"weekday": 0, "start_minute": "09:00", "end_minute": "17:00"}], "No public holidays"),
    ({}, [{"weekday": 0, "start_minute": "09:00", "end_minute": "13:00"},
          {"weekday": 0, "start_minute": "12:00", "end_minute": "17:00"}], "overlaps"),
    ({}, [{"weekday": 0, "start_minute": "22:00", "end_minute": "06:00"}], "cannot cross midnight"),
])
def test_it_shows_the_services_refusals_in_the_admin(browser, fields, intervals, message):
    response = browser.post("/admin/calendars/businesscalendar/add/", form(intervals=intervals, **fields))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not BusinessCalendar.objects.exists()


def test_it_rebuilds_the_schedule_after_an_admin_edit(browser):
    intervals = [{"weekday": day, "start_minute": "09:00", "end_minute": "17:00"} for day in range(5)]
    browser.post("/admin/calendars/businesscalendar/add/", form(intervals=intervals))
    cal = BusinessCalendar.objects.get()
    before = schedule_for(cal).add_minutes(at(BERLIN, 2025, 6, 13, 16), 120)
    browser.post(f"/admin/calendars/businesscalendar/{cal.pk}/change/", form(always_open="on"))
    after = schedule_for(BusinessCalendar.objects.get()).add_minutes(at(BERLIN, 2025, 6, 13, 16), 120)
    assert (before, after) == (at(BERLIN, 2025, 6, 16, 10), at(BERLIN, 2025, 6, 13, 18))
