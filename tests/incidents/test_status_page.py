"""/help/status: public, opted-in incidents only, public text only, newest first, resolved ones
for N days, cache-friendly (public caching, ETag → 304)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from frontdesk.incidents.broadcasts import broadcast_post
from frontdesk.incidents.models import Incident
from frontdesk.incidents.resolution import incident_resolve
from frontdesk.incidents.services import incident_create


@pytest.fixture
def shown(agent):
    return incident_create(actor=agent, title="Card payments failing", severity="critical", on_status_page=True,
                           public_description="Some card payments are declined.",
                           description="INTERNAL: processor cert expired, ask Bob")


@pytest.mark.django_db
def test_it_shows_opted_in_incidents_and_public_updates_only(shown, agent):
    broadcast_post(incident=shown, actor=agent, body="We found the cause.", status="identified", on_status_page=True)
    broadcast_post(incident=shown, actor=agent, body="Hello {name}, a private note to customers only.")
    hidden = incident_create(actor=agent, title="Secret maintenance")  # not opted in
    broadcast_post(incident=hidden, actor=agent, body="Hidden update", on_status_page=True)

    response = Client().get("/help/status")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Card payments failing" in page and "Some card payments are declined." in page
    assert "We found the cause." in page and "Identified" in page
    for secret in ("INTERNAL", "ask Bob", "private note", hidden.title, "Hidden update"):
        assert secret not in page
    assert "public" in response["Cache-Control"] and "max-age=30" in response["Cache-Control"]
    assert "Cookie" not in response.get("Vary", "") and not response.cookies


@pytest.mark.django_db
def test_it_answers_not_modified_until_something_changes(shown, agent):
    client = Client()
    first = client.get("/help/status")
    etag = first["ETag"]
    assert client.get("/help/status", HTTP_IF_NONE_MATCH=etag).status_code == 304
    broadcast_post(incident=shown, actor=agent, body="Fixed for most.", on_status_page=True)
    again = client.get("/help/status", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 200 and "Fixed for most." in again.content.decode()


@pytest.mark.django_db
def test_it_keeps_resolved_incidents_for_the_configured_days(shown, agent, settings):
    settings.FRONTDESK_STATUS_PAGE_RESOLVED_DAYS = 3
    incident_resolve(incident=shown, actor=agent, what_happened="A certificate expired.",
                     what_changed="Automatic renewal.")
    page = Client().get("/help/status").content.decode()
    assert "Resolved in the last 3 days" in page and "A certificate expired." in page
    assert "Everything is running normally." in page
    Incident.objects.filter(pk=shown.pk).update(ended_at=timezone.now() - timedelta(days=4))
    page = Client().get("/help/status").content.decode()
    assert "Card payments failing" not in page


@pytest.mark.django_db
def test_it_shows_the_newest_first_and_refuses_writes(agent):
    old = incident_create(actor=agent, title="Old outage", on_status_page=True,
                          started_at=timezone.now() - timedelta(hours=5))
    new = incident_create(actor=agent, title="New outage", on_status_page=True)
    page = Client().get("/help/status").content.decode()
    assert page.index(new.title) < page.index(old.title)
    assert Client().post("/help/status").status_code == 405
