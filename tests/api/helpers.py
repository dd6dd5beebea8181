"""Assertions shared by the API tests: the one error format, and counts of what was written."""

from __future__ import annotations

import base64

from frontdesk.customers.models import ContactPoint, Customer, Organization
from frontdesk.tickets.models import Attachment, Message, Ticket, TicketEvent


def assert_error(response, status: int, code: str) -> dict:
    """The response is ``status`` with body exactly ``{"error": code, "detail": text}``
    (plus ``fields`` for a 422); returns the body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    expected_keys = {"error", "detail", "fields"} if status == 422 else {"error", "detail"}
    assert set(body) == expected_keys, body
    assert body["error"] == code, body
    assert isinstance(body["detail"], str) and body["detail"], body
    return body


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def counts() -> dict[str, int]:
    """Row counts of everything an API write can create."""
    return {
        "tickets": Ticket.objects.count(),
        "messages": Message.objects.count(),
        "events": TicketEvent.objects.count(),
        "attachments": Attachment.objects.count(),
        "customers": Customer.objects.count(),
        "contact_points": ContactPoint.objects.count(),
        "organizations": Organization.objects.count(),
    }


def ticket_state(ticket: Ticket) -> dict:
    """The fields of a ticket a refused request must leave as they were."""
    ticket = Ticket.objects.get(pk=ticket.pk)
    return {
        "status": ticket.status, "priority": ticket.priority, "group_id": ticket.group_id,
        "assignee_id": ticket.assignee_id, "merged_into_id": ticket.merged_into_id,
        "updated_at": ticket.updated_at,
        "tags": sorted(ticket.tags.values_list("name", flat=True)),
        "messages": ticket.messages.count(), "events": ticket.events.count(),
    }
