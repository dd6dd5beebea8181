"""/api/v1/calendars: any agent reads, administrators write; the services' refusals as errors."""

from __future__ import annotations

from datetime import date

import pytest

from frontdesk.calendars.models import BusinessCalendar
from frontdesk.calendars.services import calendar_create
from tests.api.helpers import assert_error

WEEK = [{"weekday": day, "start": "09:00", "end": "17:00"} for day in range(5)]


def new_calendar(**overrides) -> dict:
    return {"name": "Support hours", "time_zone": "Europe/Berlin", "country": "DE", "hours": WEEK, **overrides}


def test_it_creates_and_reads_a_calendar(api_as, admin, agent):
    response = api_as(admin).post("/calendars", new_calendar(
        hours=[*WEEK, {"weekday": 5, "start": "10:00", "end": "24:00"}], subdivision="be"))
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["name"] == "Support hours" and created["subdivision"] == "BE"
    assert created["hours"][-1] == {"weekday": 5, "start": "10:00", "end": "24:00"}
    assert created["closed_days"] == [] and created["special_hours"] == []
    assert api_as(agent).get(f"/calendars/{created['id']}").json() == created
    listed = api_as(agent).get("/calendars").json()
    assert [c["id"] for c in listed["items"]] == [created["id"]] and listed["next_cursor"] is None


def test_it_refuses_a_calendar_without_hours_with_the_clear_message(api_as, admin):
    body = assert_error(api_as(admin).post("/calendars", new_calendar(hours=[])), 400, "no_opening_hours")
    assert body["detail"] == "A calendar needs at least one opening interval (or mark it open 24/7)."
    assert not BusinessCalendar.objects.exists()
    assert api_as(admin).post("/calendars", new_calendar(hours=[], always_open=True)).status_code == 201


@pytest.mark.parametrize("overrides,code", [
    ({"time_zone": "Mars/Olympus"}, "invalid_time_zone"),
    ({"country": "XX"}, "invalid_country"),
    ({"subdivision": "ZZ"}, "invalid_subdivision"),
    ({"hours": [{"weekday": 0, "start": "09:00", "end": "13:00"},
                {"weekday": 0, "start": "12:00", "end": "17:00"}]}, "overlapping_intervals"),
    ({"hours": [{"weekday": 0, "start": "22:00", "end": "06:00"}]}, "invalid_interval"),
])
def test_it_refuses_invalid_calendars(api_as, admin, overrides, code):
    assert_error(api_as(admin).post("/calendars", new_calendar(**overrides)), 400, code)
    assert not BusinessCalendar.objects.exists()


def test_it_refuses_malformed_input_before_the_services(api_as, admin):
    assert_error(api_as(admin).post("/calendars", new_calendar(hours=[{"weekday": 9, "start": "9", "end": "x"}])),
                 422, "validation_error")
    assert_error(api_as(admin).post("/calendars", new_calendar(colour="blue")), 422, "validation_error")


@pytest.mark.parametrize("who,status", [("agent", 403), ("light", 403), ("outsider", 403), (None, 401)])
def test_it_lets_only_administrators_write(api_as, persona, db, who, status):
    cal = calendar_create(name="Existing", time_zone="UTC", hours=[(0, "09:00", "17:00")])
    client = api_as(persona(who))
    code = "forbidden" if status == 403 else "unauthorized"
    assert_error(client.post("/calendars", new_calendar()), status, code)
    assert_error(client.patch(f"/calendars/{cal.pk}", {"name": "Renamed"}), status, code)
    assert_error(client.delete(f"/calendars/{cal.pk}"), status, code)
    assert_error(client.post(f"/calendars/{cal.pk}/closed-days", {"date": "2025-12-24"}), status, code)
    assert_error(client.put(f"/calendars/{cal.pk}/special-hours/2025-12-21",
                            {"hours": [{"start": "10:00", "end": "16:00"}]}), status, code)
    assert list(BusinessCalendar.objects.values_list("name", flat=True)) == ["Existing"]
    assert not cal.closed_days.exists() and not cal.special_hours.exists()
    if who is None:
        assert_error(client.get("/calendars"), 401, "unauthorized")
    else:
        assert client.get(f"/calendars/{cal.pk}").status_code == 200


def test_it_updates_hours_and_fields(api_as, admin):
    cal = calendar_create(name="Old", time_zone="UTC", hours=[(0, "09:00", "17:00")])
    response = api_as(admin).patch(f"/calendars/{cal.pk}", {
        "name": "New", "time_zone": "America/New_York",
        "hours": [{"weekday": 1, "start": "08:00", "end": "12:00"}, {"weekday": 1, "start": "13:00", "end": "16:30"}],
    })
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "New" and response.json()["time_zone"] == "America/New_York"
    assert response.json()["hours"] == [{"weekday": 1, "start": "08:00", "end": "12:00"},
                                        {"weekday": 1, "start": "13:00", "end": "16:30"}]
    body = assert_error(api_as(admin).patch(f"/calendars/{cal.pk}", {"hours": []}), 400, "no_opening_hours")
    assert "at least one opening interval" in body["detail"]
    assert api_as(admin).patch(f"/calendars/{cal.pk}", {"always_open": True, "hours": []}).json()["hours"] == []


def test_it_manages_closed_days_and_special_hours(api_as, admin):
    cal = calendar_create(name="Shop", time_zone="Europe/Berlin", hours=[(0, "09:00", "17:00")])
    client = api_as(admin)
    response = client.post(f"/calendars/{cal.pk}/closed-days", {"date": "2025-12-24", "label": "Christmas Eve"})
    assert response.status_code == 201 and response.json() == {"date": "2025-12-24", "label": "Christmas Eve"}
    response = client.put(f"/calendars/{cal.pk}/special-hours/2025-12-21", {
        "label": "Shopping Sunday", "hours": [{"start": "10:00", "end": "13:00"}, {"start": "14:00", "end": "18:00"}]})
    assert response.json()["special_hours"] == [{"date": "2025-12-21", "label": "Shopping Sunday", "hours": [
        {"start": "10:00", "end": "13:00"}, {"start": "14:00", "end": "18:00"}]}]
    assert client.delete(f"/calendars/{cal.pk}/closed-days/2025-12-24").status_code == 204
    assert client.put(f"/calendars/{cal.pk}/special-hours/2025-12-21", {"hours": []}).json()["special_hours"] == []
    assert client.get(f"/calendars/{cal.pk}").json()["closed_days"] == []


def test_it_previews_a_due_time(api_as, agent, db):
    cal = calendar_create(name="Berlin", time_zone="Europe/Berlin", country="DE",
                          hours=[(day, "09:00", "17:00") for day in range(5)])
    response = api_as(agent).get(f"/calendars/{cal.pk}/add", start="2025-04-17T16:00:00+02:00", minutes=120)
    assert response.status_code == 200, response.content
    assert response.json()["due"] == "2025-04-22T08:00:00Z"  # after Easter, 10:00 CEST
    assert_error(api_as(agent).get(f"/calendars/{cal.pk}/add", start="2025-04-17T16:00:00", minutes=5),
                 400, "naive_datetime")


def test_it_deletes_unused_calendars_but_not_the_default(api_as, admin):
    client = api_as(admin)
    cal = calendar_create(name="Temp", time_zone="UTC", always_open=True)
    default = calendar_create(name="Main", time_zone="UTC", always_open=True, is_default=True)
    assert client.delete(f"/calendars/{cal.pk}").status_code == 204
    assert_error(client.delete(f"/calendars/{default.pk}"), 409, "default_calendar")
    assert_error(client.get(f"/calendars/{cal.pk}"), 404, "not_found")


def test_it_lists_calendars_in_a_fixed_number_of_queries(api_as, agent, db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from frontdesk.calendars.services import calendar_add_closed_day, calendar_set_special_hours

    client = api_as(agent)

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/calendars").status_code == 200
        return len(captured)

    first = calendar_create(name="One", time_zone="UTC", hours=[(0, "09:00", "17:00")])
    calendar_add_closed_day(calendar=first, date=date(2025, 12, 24))
    queries_for_list()  # the token's first use is recorded once
    one = queries_for_list()
    for index in range(4):
        cal = calendar_create(name=f"More {index}", time_zone="UTC",
                              hours=[(day, "09:00", "17:00") for day in range(5)])
        calendar_set_special_hours(calendar=cal, date=date(2025, 12, 21), hours=[("10:00", "12:00")])
    assert queries_for_list() == one
