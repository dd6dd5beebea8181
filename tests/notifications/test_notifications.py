"""Agent notifications: written once per key, listed and read only by their agent."""

from __future__ import annotations

import pytest

from frontdesk.accounts.services import agent_create
from frontdesk.notifications.models import Notification
from frontdesk.notifications.services import notify_agents
from tests.desk.conftest import client_for

pytestmark = pytest.mark.django_db


def test_it_notifies_each_active_agent_once_per_key(agent, admin, ticket):
    retired = agent_create(email="old@example.com", name="Old Timer", group_names=["Support"])
    retired.is_active = False
    retired.save()

    first = notify_agents(agents=[agent, admin, agent, None, retired], kind="sla_warning",
                          text="Ticket is about to miss its first response", ticket=ticket, key=f"sla:{ticket.pk}:1")
    again = notify_agents(agents=[agent, admin], kind="sla_warning", text="same", ticket=ticket,
                          key=f"sla:{ticket.pk}:1")
    unkeyed = notify_agents(agents=[agent], kind="note", text="hello")

    assert (first, again, unkeyed) == (2, 0, 1)
    assert Notification.objects.filter(agent=agent).count() == 2
    assert not Notification.objects.filter(agent=retired).exists()


def test_it_shows_the_unread_count_and_opens_a_notification_into_its_ticket(agent, ticket):
    notify_agents(agents=[agent], kind="followup_due", text="Call the depot about the tablet", ticket=ticket)
    client = client_for(agent)

    inbox = client.get("/desk/").content.decode()
    assert 'data-unread="1"' in inbox
    page = client.get("/desk/notifications/").content.decode()
    assert "Call the depot about the tablet" in page
    notification = Notification.objects.get()
    response = client.post(f"/desk/notifications/{notification.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/desk/tickets/{ticket.reference}/"
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert 'data-unread' not in client.get("/desk/").content.decode()


def test_it_keeps_notifications_private_to_their_agent(agent, outsider, ticket):
    notify_agents(agents=[agent], kind="followup_due", text="Secret follow-up", ticket=ticket)
    notification = Notification.objects.get()
    client = client_for(outsider)

    assert "Secret follow-up" not in client.get("/desk/notifications/").content.decode()
    assert client.post(f"/desk/notifications/{notification.pk}/").status_code == 404
    client.post("/desk/notifications/read/")
    notification.refresh_from_db()
    assert notification.read_at is None
