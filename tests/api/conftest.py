"""Fixtures for the API tests, on top of the personas in tests/conftest.py."""

from __future__ import annotations

import pytest

from frontdesk.tickets.attachments import NewAttachment
from frontdesk.tickets.services import ticket_add_note, ticket_create


@pytest.fixture
def persona(request):
    """``persona("agent")`` → that persona fixture; ``persona(None)`` → None (no token)."""
    return lambda name: request.getfixturevalue(name) if name else None


@pytest.fixture
def make_ticket(customer):
    """Open a ticket through the service (as the customer unless ``author`` is given)."""

    def make(subject="A question", *, requester=None, body="Hello, I need help.", **kwargs):
        return ticket_create(subject=subject, requester=requester or customer, body=body, **kwargs)

    return make


@pytest.fixture
def attachment(ticket, agent):
    """An attachment on an internal note of ``ticket`` (the Support ticket)."""
    note = ticket_add_note(
        ticket=ticket, author=agent, body="Screenshot attached.",
        attachments=[NewAttachment(filename="screen.png", content=b"\x89PNG\r\n\x1a\nfake",
                                   content_type="image/png")],
    )
    return note.attachments.get()
