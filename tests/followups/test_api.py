"""The followups API: follow-ups (agents see those on tickets they can see), snooze,
resolution counts, settings for administrators."""

from __future__ import annotations

from datetime import timedelta

import pytest

from frontdesk.followups.models import FollowUp, FollowUpState, Snooze
from frontdesk.tickets.models import Status
from frontdesk.tickets.services import ticket_set_status
from tests.api.helpers import assert_error

from .conftest import MONDAY, settle

pytestmark = pytest.mark.django_db(transaction=True)


def _new(api, ticket, **fields):
    body = {"ticket": ticket.reference, "due_at": (MONDAY + timedelta(days=1)).isoformat(), "note": "Call back"}
    return api.post("/followups/follow-ups", {**body, **fields})


def test_it_creates_lists_and_changes_follow_ups(clock, api_as, ticket, agent):
    api = api_as(agent)
    created = _new(api, ticket)
    assert created.status_code == 201, created.content
    item = created.json()
    assert (item["ticket"], item["state"], item["owner"]["email"]) == (ticket.reference, "scheduled", agent.email)
    assert [f["id"] for f in api.get("/followups/follow-ups", scope="mine").json()] == [item["id"]]
    assert api.get("/followups/follow-ups", when="due").json() == []

    moved = api.patch(f"/followups/follow-ups/{item['id']}", {"due_at": (MONDAY + timedelta(days=2)).isoformat()})
    assert moved.status_code == 200 and moved.json()["due_at"].startswith("2026-11-25")
    gone = api.delete(f"/followups/follow-ups/{item['id']}")
    assert gone.json()["state"] == "cancelled"


def test_it_refuses_a_due_time_in_the_past(clock, api_as, ticket, agent):
    refused = _new(api_as(agent), ticket, due_at=(MONDAY - timedelta(hours=1)).isoformat())
    body = assert_error(refused, 400, "due_in_past")
    assert "in the past" in body["detail"]
    assert not FollowUp.objects.exists()


def test_it_hides_follow_ups_on_tickets_an_agent_cannot_see(clock, api_as, ticket, agent, outsider):
    item = _new(api_as(agent), ticket).json()
    outsider_api = api_as(outsider)
    assert_error(outsider_api.get(f"/followups/follow-ups/{item['id']}"), 404, "not_found")
    assert_error(outsider_api.patch(f"/followups/follow-ups/{item['id']}", {"state": "done"}), 404, "not_found")
    assert outsider_api.get("/followups/follow-ups", scope="team").json() == []
    assert_error(_new(outsider_api, ticket), 404, "not_found")
    assert_error(outsider_api.put(f"/followups/snooze/{ticket.reference}",
                                  {"until": (MONDAY + timedelta(days=1)).isoformat()}), 404, "not_found")
    assert FollowUp.objects.get().state == FollowUpState.SCHEDULED


def test_it_lets_only_owner_creator_or_admin_change_one(clock, api_as, ticket, agent, admin, light):
    item = _new(api_as(agent), ticket).json()
    assert api_as(light).get(f"/followups/follow-ups/{item['id']}").status_code == 200  # may see it
    assert_error(api_as(light).patch(f"/followups/follow-ups/{item['id']}", {"state": "cancelled"}), 403, "forbidden")
    assert api_as(admin).patch(f"/followups/follow-ups/{item['id']}", {"state": "cancelled"}).status_code == 200


def test_it_snoozes_and_wakes_through_the_api(clock, api_as, ticket, agent, light):
    api = api_as(agent)
    until = (MONDAY + timedelta(hours=3)).isoformat()
    assert_error(api_as(light).put(f"/followups/snooze/{ticket.reference}", {"until": until}), 403, "forbidden")
    snoozed = api.put(f"/followups/snooze/{ticket.reference}", {"until": until, "note": "courier"})
    assert snoozed.status_code == 200 and snoozed.json()["snoozed"] is True
    assert api.get(f"/followups/snooze/{ticket.reference}").json()["until"].startswith("2026-11-23T13:00")
    assert api.delete(f"/followups/snooze/{ticket.reference}").json()["snoozed"] is False
    assert not Snooze.objects.exists()


def test_it_counts_resolutions_by_kind_and_period(clock, api_as, ticket, agent, outsider):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    settle()
    [row] = api_as(agent).get("/followups/resolutions", period="day").json()
    assert (row["agent"], row["confirmed"], row["silent"], row["total"]) == (1, 0, 0, 1)
    assert row["period"].startswith("2026-11-23")
    assert api_as(outsider).get("/followups/resolutions").json() == []


def test_it_lets_only_admins_change_settings_and_ladders(clock, api_as, agent, admin):
    assert_error(api_as(agent).get("/followups/settings"), 403, "forbidden")
    changed = api_as(admin).put("/followups/settings", {"close_solved_after_hours": 48, "check_in_enabled": True})
    assert changed.json()["close_solved_after_hours"] == 48 and changed.json()["check_in_enabled"] is True
    back = api_as(admin).put("/followups/settings", {"use_default_close_period": True})
    assert back.json()["close_solved_after_hours_override"] is None

    assert_error(api_as(agent).post("/followups/ladders", {"scope": "plan", "plan": "gold"}), 403, "forbidden")
    made = api_as(admin).post("/followups/ladders", {"scope": "plan", "plan": "gold", "first_reminder_days": 1,
                                                     "second_reminder_days": 0, "solve_after_days": 2})
    assert made.status_code == 201, made.content
    assert_error(api_as(admin).post("/followups/ladders", {"scope": "plan", "plan": "gold"}), 409, "ladder_exists")
    bad = api_as(admin).post("/followups/ladders", {"scope": "plan", "plan": "silver", "first_reminder_days": 5,
                                                    "second_reminder_days": 3})
    assert_error(bad, 400, "invalid_ladder")
    scopes = [p["scope"] for p in api_as(admin).get("/followups/ladders").json()]
    assert sorted(scopes) == ["global", "plan"]
    assert api_as(admin).delete(f"/followups/ladders/{made.json()['id']}").status_code == 204
