"""The SLA API: policies (validation, admin-only writes), a ticket's timers, the report."""

from __future__ import annotations

from datetime import timedelta

import pytest

from frontdesk.sla.models import SlaPolicy

from .conftest import STANDARD_TARGETS
from .helpers import drain

pytestmark = pytest.mark.django_db


def policy_body(calendar, **extra):
    return {"name": "Gold", "calendar_id": calendar.pk, "targets": {"first_response": {"normal": 60}}, **extra}


def test_it_lets_admins_create_and_agents_read_policies(api_as, admin, agent, calendar, support):
    body = policy_body(calendar, conditions={"plans": ["Gold"], "group_ids": [support.pk], "tags": ["VIP"]},
                       breach_actions=[{"kind": "move_to_group", "group_id": support.pk}, {"kind": "notify"}])
    assert api_as(agent).post("/sla/policies", body).status_code == 403
    response = api_as(admin).post("/sla/policies", body)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["conditions"] == {"plans": ["gold"], "group_ids": [support.pk], "tags": ["vip"]}
    assert created["warning_share"] == 75 and created["send_delay_update"] is True  # premium: a plan policy
    assert [p["name"] for p in api_as(agent).get("/sla/policies").json()] == ["Gold"]
    assert api_as(agent).patch(f"/sla/policies/{created['id']}", {"position": 1}).status_code == 403
    assert api_as(agent).delete(f"/sla/policies/{created['id']}").status_code == 403


@pytest.mark.parametrize(("change", "code"), [
    ({"targets": {"first_response": {"normal": 0}}}, "invalid_targets"),
    ({"targets": {"first_response": {"normal": -5}}}, "invalid_targets"),
    ({"targets": {"reply_time": {"normal": 5}}}, "invalid_targets"),
    ({"targets": {}}, "invalid_targets"),
    ({"calendar_id": 999999}, "unknown_calendar"),
    ({"conditions": {"group_ids": [999999]}}, "unknown_group"),
    ({"conditions": {"organization_ids": [999999]}}, "unknown_organization"),
    ({"conditions": {"channels": ["pigeon"]}}, "invalid_conditions"),
    ({"breach_actions": [{"kind": "move_to_group"}]}, "unknown_group"),
    ({"breach_actions": [{"kind": "add_tag"}]}, "invalid_actions"),
    ({"warning_share": 100}, "invalid_warning_share"),
    ({"is_default": True, "conditions": {"plans": ["x"]}}, "invalid_default"),
])
def test_it_refuses_invalid_policies_with_a_clear_error(api_as, admin, calendar, change, code):
    response = api_as(admin).post("/sla/policies", {**policy_body(calendar), **change})
    assert response.status_code in (400, 409, 422), response.content
    assert response.json()["error"] == code, response.json()
    assert response.json()["detail"]
    assert not SlaPolicy.objects.exists()


def test_it_refuses_unknown_fields_and_a_second_expedited_policy(api_as, admin, calendar):
    assert api_as(admin).post("/sla/policies", {**policy_body(calendar), "colour": "red"}).status_code == 422
    assert api_as(admin).post("/sla/policies", policy_body(calendar, is_expedited=True)).status_code == 201
    second = api_as(admin).post("/sla/policies", policy_body(calendar, name="Other", is_expedited=True))
    assert second.status_code == 409 and second.json()["error"] == "expedited_taken"


def test_it_updates_and_deletes_policies(api_as, admin, calendar, clock, customer, support):
    created = api_as(admin).post("/sla/policies", policy_body(calendar, is_default=True)).json()
    path = f"/sla/policies/{created['id']}"
    changed = api_as(admin).patch(path, {"targets": STANDARD_TARGETS, "warning_share": 50}).json()
    assert changed["warning_share"] == 50 and changed["targets"] == STANDARD_TARGETS
    assert api_as(admin).patch(path, {"targets": {"resolution": {"normal": 0}}}).status_code == 400
    from frontdesk.tickets.services import ticket_create

    ticket_create(subject="x", requester=customer, body="y", group=support)
    drain()
    in_use = api_as(admin).delete(path)
    assert in_use.status_code == 409 and in_use.json()["error"] == "policy_in_use"
    assert api_as(admin).patch(path, {"active": False}).json()["active"] is False


def test_it_shows_a_tickets_timers_to_those_who_see_it(api_as, clock, standard, ticket, agent, outsider):
    drain()
    assert api_as(outsider).get(f"/tickets/{ticket.reference}/sla").status_code == 404
    timers = api_as(agent).get(f"/tickets/{ticket.reference}/sla").json()
    assert {(t["metric"], t["state"], t["target_minutes"]) for t in timers} == {
        ("first_response", "running", 240), ("resolution", "running", 1440)}


def test_it_reports_share_within_target_and_business_minutes(api_as, clock, standard, premium, customer, support,
                                                             agent, light):
    from frontdesk.customers.services import customer_create
    from frontdesk.tickets.services import ticket_create, ticket_reply

    from .helpers import tick

    vip = customer_create(name="V", emails=["v@example.org"], plan="premium")
    fast = ticket_create(subject="fast", requester=customer, body="x", group=support)
    slow = ticket_create(subject="slow", requester=vip, body="x", group=support)
    drain()
    clock.shift(timedelta(minutes=30))
    ticket_reply(ticket=fast, author=agent, body="answer", status="solved")
    clock.shift(timedelta(minutes=160))
    # The premium ticket's 120-minute first response is missed, and the honest update's new
    # time (13:00) too: the answer comes at 13:10.
    tick()
    ticket_reply(ticket=slow, author=agent, body="late answer")
    drain()
    report = api_as(agent).get("/sla/report", start="2026-03-02", end="2026-03-02").json()
    rows = {row["key"]: row for row in report["rows"]}
    assert set(rows) == {"Standard", "Premium"}
    assert rows["Standard"]["first_response"] == {"completed": 1, "within_target": 1, "share_within_target": 1.0}
    assert rows["Standard"]["resolution"]["share_within_target"] == 1.0
    assert rows["Standard"]["first_response_minutes_median"] == 30.0
    assert rows["Premium"]["first_response"]["share_within_target"] == 0.0
    assert rows["Premium"]["first_response_minutes_p90"] == 190.0
    assert (rows["Standard"]["promises_kept"], rows["Premium"]["promises_broken"]) == (1, 1)
    by_plan = api_as(agent).get("/sla/report", group_by="plan", start="2026-03-02").json()
    assert {row["key"] for row in by_plan["rows"]} == {"(none)", "premium"}
    assert api_as(light).get("/sla/report").status_code == 403
    assert api_as(agent).get("/sla/report", group_by="moon").status_code == 422
