"""The goodwill API: who may do what (admin, agent, light agent, outsider, no token)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from frontdesk.goodwill.models import Gesture, Grant, GrantStatus, Mandate, Voucher
from tests.api.helpers import assert_error

pytestmark = pytest.mark.django_db

NEW_GESTURE = {"name": "Free month", "kind": "free_period", "currency": "EUR", "value": "15",
               "fulfilment": "manual", "snippet": "Your next month is on us, {name}."}


@pytest.fixture
def everyone(admin, agent, light, outsider, supervisor, api_as):
    return {"admin": api_as(admin), "agent": api_as(agent), "light": api_as(light),
            "outsider": api_as(outsider), "supervisor": api_as(supervisor), "anonymous": api_as(None)}


@pytest.mark.parametrize(("who", "status"), [
    ("admin", 201), ("agent", 403), ("light", 403), ("outsider", 403), ("anonymous", 401),
])
def test_only_admins_edit_the_catalog(everyone, who, status):
    response = everyone[who].post("/goodwill/gestures", NEW_GESTURE)
    assert response.status_code == status, response.content
    assert Gesture.objects.filter(name="Free month").exists() == (status == 201)


@pytest.mark.parametrize(("who", "status"), [("admin", 200), ("agent", 200), ("light", 200), ("anonymous", 401)])
def test_agents_read_the_catalog(everyone, credit, who, status):
    response = everyone[who].get("/goodwill/gestures")
    assert response.status_code == status
    if status == 200:
        assert [g["name"] for g in response.json()] == ["Account credit"]


def test_the_catalog_refuses_a_gesture_with_value_and_range(everyone):
    body = {**NEW_GESTURE, "min_value": "1", "max_value": "2"}
    assert_error(everyone["admin"].post("/goodwill/gestures", body), 400, "invalid_gesture")
    assert_error(everyone["admin"].post("/goodwill/gestures", {**NEW_GESTURE, "color": "red"}), 422,
                 "validation_error")


def test_admins_update_and_retire_gestures(everyone, credit):
    body = {**NEW_GESTURE, "name": "Credit", "kind": "account_credit", "value": None, "min_value": "5",
            "max_value": "300", "fulfilment": "webhook", "endpoint_id": credit.endpoint_id}
    assert everyone["admin"].put(f"/goodwill/gestures/{credit.pk}", body).json()["max_value"] == "300.00"
    assert everyone["agent"].put(f"/goodwill/gestures/{credit.pk}", body).status_code == 403
    assert everyone["admin"].delete(f"/goodwill/gestures/{credit.pk}").status_code == 204
    assert everyone["agent"].get("/goodwill/gestures").json() == []


@pytest.mark.parametrize(("who", "status"), [("admin", 201), ("agent", 403), ("light", 403), ("anonymous", 401)])
def test_only_admins_set_mandates(everyone, support, who, status):
    body = {"group_id": support.pk, "currency": "EUR", "max_per_gesture": "75", "group_monthly_budget": "400"}
    assert everyone[who].post("/goodwill/mandates", body).status_code == status
    assert everyone[who].get("/goodwill/mandates").status_code == (200 if who == "admin" else status)


def test_a_mandate_needs_exactly_one_holder(everyone, support, agent):
    body = {"group_id": support.pk, "agent_id": agent.pk, "currency": "EUR", "max_per_gesture": "75"}
    assert_error(everyone["admin"].post("/goodwill/mandates", body), 400, "invalid_mandate")
    assert_error(everyone["admin"].post("/goodwill/mandates", {**body, "agent_id": None, "max_per_gesture": "-1"}),
                 422, "validation_error")


def grant_body(ticket, gesture, value="20", **extra):
    return {"ticket": ticket.reference, "gesture_id": gesture.pk, "value": value, "currency": "EUR",
            "reason": "our_mistake", **extra}


def test_an_agent_grants_through_the_api(everyone, ticket, voucher):
    response = everyone["agent"].post("/goodwill/grants", grant_body(ticket, voucher, value="10"))
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "fulfilled" and body["code"] == "CODE-0" and "CODE-0" in body["snippet"]
    assert body["source"] == ""  # set only on pre-approved grants (an incident's)


@pytest.mark.parametrize(("who", "status", "code"), [
    ("light", 403, "forbidden"), ("outsider", 404, "not_found"), ("anonymous", 401, "unauthorized"),
])
def test_the_api_refuses_grants_from_the_wrong_people(everyone, ticket, credit, who, status, code):
    assert_error(everyone[who].post("/goodwill/grants", grant_body(ticket, credit)), status, code)
    assert Grant.objects.count() == 0


@pytest.mark.parametrize(("change", "code"), [
    ({"value": "999"}, "out_of_range"), ({"value": "-1"}, "negative_value"), ({"currency": "ZZZ"}, "unknown_currency"),
    ({"reason": "whim"}, "invalid_reason"),
])
def test_the_api_reports_bad_input(everyone, ticket, credit, change, code):
    assert_error(everyone["agent"].post("/goodwill/grants", {**grant_body(ticket, credit), **change}), 400, code)


def test_the_api_reports_an_empty_pool(everyone, ticket, voucher):
    Voucher.objects.all().delete()
    assert_error(everyone["agent"].post("/goodwill/grants", grant_body(ticket, voucher, value="10")), 409,
                 "pool_exhausted")


def test_approve_and_deny_through_the_api(everyone, ticket, credit):
    first = everyone["agent"].post("/goodwill/grants", grant_body(ticket, credit, value="120")).json()
    assert first["status"] == "pending_approval"
    assert_error(everyone["agent"].post(f"/goodwill/grants/{first['id']}/approve", {}), 403, "own_request")
    assert_error(everyone["outsider"].post(f"/goodwill/grants/{first['id']}/approve", {}), 404, "not_found")
    assert_error(everyone["light"].post(f"/goodwill/grants/{first['id']}/approve", {}), 403, "forbidden")
    assert everyone["supervisor"].post(f"/goodwill/grants/{first['id']}/approve", {"note": "ok"}).json()["status"] \
        == "granted"
    assert_error(everyone["admin"].post(f"/goodwill/grants/{first['id']}/deny", {}), 409, "decided")
    second = everyone["agent"].post("/goodwill/grants", grant_body(ticket, credit, value="150")).json()
    assert everyone["admin"].post(f"/goodwill/grants/{second['id']}/deny", {}).json()["status"] == "denied"
    assert Grant.objects.get(pk=second["id"]).status == GrantStatus.DENIED


def test_the_ledger_shows_only_visible_tickets(everyone, ticket, credit):
    everyone["agent"].post("/goodwill/grants", grant_body(ticket, credit))
    assert [e["kind"] for e in everyone["agent"].get("/goodwill/ledger").json()["items"]] == ["granted"]
    assert everyone["outsider"].get("/goodwill/ledger").json()["items"] == []
    assert len(everyone["admin"].get("/goodwill/ledger").json()["items"]) == 1
    assert everyone["outsider"].get("/goodwill/grants").json() == []


def test_my_budget(everyone, ticket, credit):
    everyone["agent"].post("/goodwill/grants", grant_body(ticket, credit, value="30"))
    body = everyone["agent"].get("/goodwill/budget/me").json()
    assert (body["mandate_source"], body["spent_this_month"]) == ("role", "30.00")
    assert body["remaining_this_month"] == "70.00"
    assert everyone["light"].get("/goodwill/budget/me").json()["mandate_source"] == "none"


def test_voucher_import_is_for_admins_and_skips_duplicates(everyone, voucher, credit):
    csv = "code\nNEW-1\nNEW-2\nCODE-0\nNEW-1\n"
    assert everyone["agent"].post(f"/goodwill/gestures/{voucher.pk}/vouchers", {"csv": csv}).status_code == 403
    response = everyone["admin"].post(f"/goodwill/gestures/{voucher.pk}/vouchers", {"csv": csv})
    assert response.status_code == 201 and response.json() == {"added": 2, "free": 5}
    assert_error(everyone["admin"].post(f"/goodwill/gestures/{credit.pk}/vouchers", {"csv": csv}), 400, "not_a_pool")


def test_reports_are_for_admins(everyone, ticket, credit, customer):
    customer.plan = "enterprise"
    customer.save()
    everyone["agent"].post("/goodwill/grants", grant_body(ticket, credit, value="30"))
    assert everyone["agent"].get("/goodwill/reports").status_code == 403
    report = everyone["admin"].get("/goodwill/reports").json()
    assert report["cost"]["total"] == "30.00"
    assert report["cost"]["by_reason"] == [{"key": "our_mistake", "total": "30.00", "count": 1}]
    assert report["cost"]["by_plan"][0]["key"] == "enterprise"
    assert report["cost"]["by_group"][0]["key"] == "Support"
    assert Mandate.objects.count() == 2  # role + supervisor: untouched
    assert Decimal(report["budgets"][0]["spent"]) >= 0


def test_only_admins_revoke(everyone, ticket, credit):
    granted = everyone["agent"].post("/goodwill/grants", grant_body(ticket, credit, value="30")).json()
    assert_error(everyone["agent"].post(f"/goodwill/grants/{granted['id']}/revoke", {}), 403, "forbidden")
    assert everyone["admin"].post(f"/goodwill/grants/{granted['id']}/revoke", {"note": "typo"}).json()["status"] \
        == "revoked"
    assert everyone["agent"].get("/goodwill/budget/me").json()["spent_this_month"] == "0.00"
    assert_error(everyone["admin"].post(f"/goodwill/grants/{granted['id']}/revoke", {}), 409, "not_granted")
