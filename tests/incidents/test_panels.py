"""The reach panels of the incident page (htmx): updates, gesture, resolution — forms for full
agents, read-only for light agents, refusals come back with the input kept."""

from __future__ import annotations

from decimal import Decimal

import pytest

from frontdesk.goodwill.models import Gesture
from frontdesk.incidents.models import Broadcast, IncidentGesture
from tests.desk.conftest import client_for

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_the_detail_page_loads_the_three_panels(agent, incident):
    page = client_for(agent).get(f"/desk/incidents/{incident.pk}/").content.decode()
    for name in ("updates", "gesture", "resolve"):
        assert f'hx-get="/desk/incidents/{incident.pk}/{name}/"' in page


def test_it_posts_an_update_from_the_panel_and_keeps_a_refused_one(agent, incident):
    client = client_for(agent)
    panel = client.get(f"/desk/incidents/{incident.pk}/updates/", **HTMX).content.decode()
    assert 'name="body"' in panel and "No update sent yet." in panel
    refused = client.post(f"/desk/incidents/{incident.pk}/updates/post/", {"body": "x", "status": "asleep"}, **HTMX)
    assert refused.status_code == 200 and 'role="alert"' in refused.content.decode()
    assert ">x</textarea>" in refused.content.decode() and not Broadcast.objects.exists()
    sent = client.post(f"/desk/incidents/{incident.pk}/updates/post/", {"body": "We found it.", "on_status_page": "on"},
                       **HTMX)
    text = sent.content.decode()
    assert "Update sent" in text and "We found it." in text and "queued" in text and 'hx-trigger="every 3s"' in text
    moved = client.post(f"/desk/incidents/{incident.pk}/updates/post/", {"body": "Fixing.", "status": "identified"},
                        **HTMX)
    assert 'data-incident-status="identified" hx-swap-oob=' in moved.content.decode()  # the header follows
    first, second = Broadcast.objects.order_by("pk")
    assert first.on_status_page and first.status_after == "investigating" and second.status_after == "identified"


def test_light_agents_read_the_panels_without_forms(light, incident):
    client = client_for(light)
    for name in ("updates", "gesture", "resolve"):
        response = client.get(f"/desk/incidents/{incident.pk}/{name}/", **HTMX)
        assert response.status_code == 200 and "<form" not in response.content.decode(), name
    refused = client.post(f"/desk/incidents/{incident.pk}/updates/post/", {"body": "Hi"}, **HTMX)
    assert 'role="alert"' in refused.content.decode() and not Broadcast.objects.exists()


def test_it_proposes_a_gesture_and_shows_the_total(agent, incident, ticket):
    from frontdesk.incidents.services import incident_link_ticket

    incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
    gesture = Gesture.objects.create(name="Voucher 10", kind="voucher", currency="EUR", value=Decimal("10"),
                                     fulfilment="voucher_pool")
    client = client_for(agent)
    assert "Voucher 10" in client.get(f"/desk/incidents/{incident.pk}/gesture/", **HTMX).content.decode()
    panel = client.post(f"/desk/incidents/{incident.pk}/gesture/attach/",
                        {"gesture": gesture.pk, "value": "10", "currency": "EUR"}, **HTMX).content.decode()
    assert "needs one approval" in panel and "10.00 EUR" in panel and "Approve" in panel
    assert IncidentGesture.objects.get().state == "proposed"
    assert client.post(f"/desk/incidents/{incident.pk}/gesture/explode/", **HTMX).status_code == 404


def test_it_resolves_from_the_panel(agent, incident):
    client = client_for(agent)
    assert "What happened" in client.get(f"/desk/incidents/{incident.pk}/resolve/", **HTMX).content.decode()
    refused = client.post(f"/desk/incidents/{incident.pk}/resolve/post/", {"what_happened": "kept", "what_changed": ""},
                          **HTMX)
    assert 'role="alert"' in refused.content.decode() and ">kept</textarea>" in refused.content.decode()
    done = client.post(f"/desk/incidents/{incident.pk}/resolve/post/",
                       {"what_happened": "A cert expired.", "what_changed": "Renewal is automatic."}, **HTMX)
    assert done["HX-Redirect"] == f"/desk/incidents/{incident.pk}/"
    incident.refresh_from_db()
    assert incident.status == "resolved"
