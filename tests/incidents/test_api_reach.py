"""API of the reach side: who may do what (light agents read, outsiders 401, unknown incident
404), bad input refused with a clear error and nothing written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from frontdesk.goodwill.models import Gesture
from frontdesk.incidents.models import Broadcast, IncidentGesture

pytestmark = pytest.mark.django_db


@pytest.fixture
def voucher(db):
    return Gesture.objects.create(name="Voucher 10", kind="voucher", currency="EUR", value=Decimal("10"),
                                  fulfilment="voucher_pool")


def test_it_lets_light_agents_read_but_not_write(incident, light, api_as, voucher):
    api = api_as(light)
    assert api.get(f"/incidents/{incident.pk}/broadcasts").json() == []
    assert api.get(f"/incidents/{incident.pk}/deliveries").json() == {"total": 0, "customers": []}
    assert api.get(f"/incidents/{incident.pk}/gesture").json()["state"] is None
    assert api.post(f"/incidents/{incident.pk}/broadcasts", {"body": "Hi"}).status_code == 403
    assert api.post(f"/incidents/{incident.pk}/resolve", {"what_happened": "x", "what_changed": "y"}).status_code == 403
    assert api.put(f"/incidents/{incident.pk}/gesture", {"gesture_id": voucher.pk, "value": "10",
                                                         "currency": "EUR"}).status_code == 403
    assert not Broadcast.objects.exists() and not IncidentGesture.objects.exists()


def test_it_refuses_strangers_and_unknown_incidents(incident, agent, api_as):
    assert api_as(None).get(f"/incidents/{incident.pk}/broadcasts").status_code == 401
    assert api_as(None).post(f"/incidents/{incident.pk}/broadcasts", {"body": "Hi"}).status_code == 401
    assert api_as(agent).post("/incidents/999999/broadcasts", {"body": "Hi"}).status_code == 404
    assert api_as(agent).get("/incidents/999999/deliveries").status_code == 404


def test_it_explains_bad_input(incident, agent, api_as, voucher):
    api = api_as(agent)
    empty = api.post(f"/incidents/{incident.pk}/broadcasts", {"body": "  "})
    assert empty.status_code == 400 and "empty" in empty.content.decode()
    assert api.post(f"/incidents/{incident.pk}/broadcasts", {"body": "Hi", "status": "resolved"}).status_code == 400
    assert api.post(f"/incidents/{incident.pk}/broadcasts", {"body": "Hi", "colour": "red"}).status_code in (400, 422)
    wrong = api.put(f"/incidents/{incident.pk}/gesture", {"gesture_id": voucher.pk, "value": "12", "currency": "EUR"})
    assert wrong.status_code == 400 and "exactly 10" in wrong.content.decode()
    assert api.put(f"/incidents/{incident.pk}/gesture", {"gesture_id": 999999, "value": "10",
                                                         "currency": "EUR"}).status_code == 404
    assert api.post(f"/incidents/{incident.pk}/gesture/approve").status_code == 409  # nothing proposed
    assert not Broadcast.objects.exists() and not IncidentGesture.objects.exists()


def test_it_posts_an_update_and_resolves(incident, agent, api_as):
    api = api_as(agent)
    created = api.post(f"/incidents/{incident.pk}/broadcasts", {"body": "On it.", "status": "identified",
                                                                "on_status_page": True})
    assert created.status_code == 201
    assert created.json()["status_after"] == "identified" and created.json()["on_status_page"] is True
    final = api.post(f"/incidents/{incident.pk}/resolve", {"what_happened": "A cert expired.",
                                                           "what_changed": "Auto-renewal."})
    assert final.status_code == 201 and final.json()["kind"] == "resolution"
    assert "A cert expired." in final.json()["body"] and "{name}" in final.json()["body"]
    assert api.post(f"/incidents/{incident.pk}/resolve", {"what_happened": "x", "what_changed": "y"}).status_code == 409
    assert [b["kind"] for b in api.get(f"/incidents/{incident.pk}/broadcasts").json()] == ["resolution", "update"]
