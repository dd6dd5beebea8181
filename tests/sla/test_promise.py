"""The promise to the customer: its wording and zone, the acknowledgement email, the contact
form's confirmation and the conversation page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from frontdesk.customers.services import customer_create
from frontdesk.mail.models import Inbox, OutboundKind, OutboundMessage
from frontdesk.sla.promise import promise_for_ticket
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.services import ticket_create, ticket_reply
from tests.portal.conftest import open_conversation, started

from .helpers import drain

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(support):
    return Inbox.objects.create(name="Acme Support", address="support@acme.test", group=support,
                                from_name="Acme Support", is_default=True)


def test_it_words_the_promise_in_the_customers_zone(clock, standard, support):
    berlin = customer_create(name="Bea", emails=["bea@example.de"], time_zone="Europe/Berlin")
    ticket = ticket_create(subject="x", requester=berlin, body="y", group=support)
    promise = promise_for_ticket(ticket)  # before any task ran: from the policy
    assert promise.text == "You'll hear from us by Monday 2 March, 15:00 (Europe/Berlin)"
    drain()
    assert promise_for_ticket(ticket).text == promise.text  # from the running timer


def test_it_falls_back_to_the_calendar_zone_and_crosses_the_weekend(clock, admin, calendar, support):
    from frontdesk.sla.policy_services import sla_policy_create

    sla_policy_create(actor=admin, name="Slow", is_default=True, calendar_id=calendar.pk,
                      targets={"first_response": {"normal": 8 * 60 * 5}})
    nobody = customer_create(name="Nemo", emails=["nemo@example.org"])  # no zone: the calendar's
    ticket = ticket_create(subject="x", requester=nobody, body="y", group=support)
    assert promise_for_ticket(ticket).text == "You'll hear from us by Monday 9 March, 10:00 (UTC)"


def test_it_promises_nothing_when_answered_or_without_policy(clock, customer, support, agent, standard):
    ticket = ticket_create(subject="x", requester=customer, body="y", group=support)
    drain()
    ticket_reply(ticket=ticket, author=agent, body="done")
    drain()
    assert promise_for_ticket(Ticket.objects.get(pk=ticket.pk)) is None


def test_it_states_the_promise_in_the_acknowledgement_and_confirmation(client, clock, standard, inbox):
    response = client.post("/help/", {
        "name": "Maria Lopez", "email": "maria@example.net", "subject": "Cannot log in",
        "message": "Password refused.", "website": "", "started": started(30)})
    assert response.status_code == 302
    drain()
    ack = OutboundMessage.objects.get(kind=OutboundKind.ACK)
    assert "You'll hear from us by Monday 2 March, 14:00 (UTC)." in ack.body_text
    page = client.get("/help/sent/").content.decode()
    assert "You&#x27;ll hear from us by Monday 2 March, 14:00 (UTC)." in page


def test_it_appends_the_promise_to_a_custom_acknowledgement(client, clock, standard, inbox):
    Inbox.objects.filter(pk=inbox.pk).update(ack_text="Thanks {name}, ticket {reference}.")
    client.post("/help/", {"name": "Maria", "email": "maria@example.net", "subject": "Hi", "message": "Hello",
                           "website": "", "started": started(30)})
    drain()
    body = OutboundMessage.objects.get(kind=OutboundKind.ACK).body_text
    assert body.startswith("Thanks Maria, ticket ")
    assert body.endswith("\n\nYou'll hear from us by Monday 2 March, 14:00 (UTC).")


def test_it_shows_the_promise_and_when_the_team_is_back_on_the_conversation_page(client, clock, standard,
                                                                                  customer, support):
    clock.move_to("2026-03-06T18:30:00+00:00")  # Friday evening: closed
    ticket = ticket_create(subject="x", requester=customer, body="y", group=support)
    drain()
    url = open_conversation(client, ticket)
    page = client.get(url).content.decode()
    # Maria is in Madrid (UTC+1): 240 business minutes from Monday 09:00 UTC is 13:00 UTC.
    assert "We'll reply by <strong>Monday 9 March, 14:00 (Europe/Madrid)</strong>" in page
    assert "Our team is back on Monday 10:00." in page
    clock.shift(timedelta(days=3))  # Monday 18:30 UTC: the promised time has passed
    page = client.get(open_conversation(client, ticket)).content.decode()  # a fresh link: days later
    assert "We'll reply by" not in page
    assert "Our team is back on Tuesday 10:00." in page  # still waiting on us: never silence
