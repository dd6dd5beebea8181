"""Automatic messages (reminders, delay updates, check-ins): written by Frontdesk itself,
emailed as automatic mail to the requester alone, never counted as an agent's reply."""

from __future__ import annotations

import pytest

from frontdesk.core.errors import Conflict, InvalidInput
from frontdesk.customers.services import customer_create
from frontdesk.mail.models import OutboundKind, OutboundMessage
from frontdesk.tickets.models import EventKind, Status, Ticket
from frontdesk.tickets.services import (
    ticket_create_for_email,
    ticket_send_automatic_message,
    ticket_set_ccs,
    ticket_set_status,
)
from tests.conftest import run_tasks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mailed_ticket(inbox, sam):
    return ticket_create_for_email(requester_email="maria@example.net", requester_name="Maria",
                                   subject="Router offline", body="It blinks red.", group=inbox.group)


def test_it_mails_an_automatic_message_as_automatic_mail_to_the_requester_only(relay, mailed_ticket, sam):
    colleague = customer_create(name="Jo", emails=["jo@example.net"])
    ticket_set_ccs(ticket=mailed_ticket, actor=sam, customers=[colleague])
    ticket_set_status(ticket=mailed_ticket, actor=sam, status=Status.PENDING)
    message = ticket_send_automatic_message(ticket=mailed_ticket, body="Any news? Just reply to this email.",
                                            purpose="reminder", actor="followups")
    run_tasks()

    [email] = relay.messages()
    assert email["Auto-Submitted"] == "auto-generated"
    assert email["To"] == "maria@example.net" and email["Cc"] is None
    assert mailed_ticket.reference in email["Subject"]
    assert "Any news?" in email.get_body(("plain",)).get_content()
    ticket = Ticket.objects.get(pk=mailed_ticket.pk)
    assert ticket.status == Status.PENDING and ticket.last_agent_reply_at is None  # nobody's reply
    assert (message.automatic, message.author, message.author_label) == ("reminder", None, "Automatic message")
    event = ticket.events.get(kind=EventKind.AUTOMATIC)
    assert (event.actor_label, event.after, event.message_id) == ("followups", {"purpose": "reminder"}, message.pk)
    assert OutboundMessage.objects.get(ticket_message=message).kind == OutboundKind.AUTOMATIC


def test_it_holds_back_automatic_mail_over_the_address_ceiling_and_says_so(settings, relay, mailed_ticket):
    settings.FRONTDESK_AUTOREPLY_PER_HOUR = 1
    ticket_send_automatic_message(ticket=mailed_ticket, body="First.", purpose="reminder")
    ticket_send_automatic_message(ticket=mailed_ticket, body="Second.", purpose="reminder")
    run_tasks()
    run_tasks()  # a second run of the same tasks sends nothing more

    assert len(relay.messages()) == 1
    suppressed = mailed_ticket.events.filter(kind=EventKind.DELIVERY, after__status="suppressed")
    assert suppressed.count() == 1


def test_it_refuses_bad_purposes_and_closed_tickets(mailed_ticket, sam):
    with pytest.raises(InvalidInput):
        ticket_send_automatic_message(ticket=mailed_ticket, body="x", purpose="Not A Slug")
    ticket_set_status(ticket=mailed_ticket, actor=sam, status=Status.SOLVED)
    ticket_set_status(ticket=mailed_ticket, actor=sam, status=Status.CLOSED)
    with pytest.raises(Conflict):
        ticket_send_automatic_message(ticket=mailed_ticket, body="x", purpose="check_in")
    assert not mailed_ticket.messages.filter(automatic__gt="").exists()


def test_it_shows_automatic_messages_in_the_api_workspace_and_conversation_page(mailed_ticket, sam, api_as, client):
    ticket_send_automatic_message(ticket=mailed_ticket, body="Still there?", purpose="reminder")

    response = api_as(sam).get(f"/tickets/{mailed_ticket.reference}")
    assert response.status_code == 200, response.content
    automatic = [m for m in response.json()["messages"] if m["automatic"]]
    assert [(m["author_type"], m["author"], m["automatic"]) for m in automatic] == [("system", None, "reminder")]

    client.force_login(sam)
    page = client.get(f"/desk/tickets/{mailed_ticket.reference}/").content.decode()
    assert "Automatic message" in page and "Still there?" in page
