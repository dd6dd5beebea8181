"""CCs by email, through the real protocols (fixtures in conftest.py): whom a customer copies
is copied on the ticket, may write on it, and gets its public replies; a thread match still
authorises nobody else, and machines add no one."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from frontdesk.customers.models import ContactPoint, Customer
from frontdesk.mail.models import InboundMessage, Inbox
from frontdesk.mail.parsing import parse_message
from frontdesk.mail.pipeline import Context, find_ccs
from frontdesk.tickets.models import Status, Ticket
from frontdesk.tickets.services import MAX_CCS, ticket_reply
from tests.conftest import run_tasks

from .helpers import mail, send, stranger_answers_our_reply

pytestmark = pytest.mark.django_db(transaction=True)

JO = "Jo Colleague <jo@example.org>"


def cc_emails(ticket: Ticket) -> set[str]:
    return set(ContactPoint.objects.filter(customer__cc_tickets=ticket).values_list("value", flat=True))


def open_ticket_with_jo(listener, relay) -> Ticket:
    send(listener, mail(extra=f"Cc: {JO}\r\n"))
    run_tasks()
    return Ticket.objects.get()


def test_it_copies_the_colleague_and_sends_them_the_replies_but_not_the_acknowledgement(
    listener, relay, inbox, sam, api_as
):
    ticket = open_ticket_with_jo(listener, relay)

    assert cc_emails(ticket) == {"jo@example.org"}
    assert ticket.ccs.get().name == "Jo Colleague"
    [ack] = relay.messages()
    assert relay.received[0][1] == ["maria@example.net"] and ack["Cc"] is None

    ticket_reply(ticket=ticket, author=sam, body="Refund issued.")
    run_tasks()

    _, recipients, _ = relay.received[1]
    reply = relay.messages()[1]
    assert (reply["To"], reply["Cc"]) == ("maria@example.net", "jo@example.org")
    # Maria's personal link to the conversation (it acts as her) goes to her alone.
    assert "View this conversation online" in ack.get_body(("plain",)).get_content()
    assert "View this conversation online" not in reply.get_body(("plain",)).get_content()
    assert sorted(recipients) == ["jo@example.org", "maria@example.net"]
    delivered = ticket.events.get(kind="delivery", after__kind="reply")
    assert (delivered.after["status"], delivered.after["cc"]) == ("sent", ["jo@example.org"])
    emails = api_as(sam).get(f"/tickets/{ticket.reference}/emails").json()["outbound"]
    assert [(m["kind"], m["to"], m["cc"]) for m in emails] == [
        ("ack", ["maria@example.net"], []), ("reply", ["maria@example.net"], ["jo@example.org"])]


def test_the_colleagues_reply_joins_the_ticket_as_theirs(listener, relay, inbox, sam):
    ticket = open_ticket_with_jo(listener, relay)
    ticket_reply(ticket=ticket, author=sam, body="Which card?", status=Status.PENDING)
    run_tasks()
    reply = relay.messages()[1]

    # Jo answers all: to our reply address, Maria and someone new in Cc.
    send(listener, mail(sender=JO, message_id="<jo1@example.org>", subject="Re: Charged twice", to=reply["Reply-To"],
                        body="The Visa one.", extra=f"Cc: maria@example.net, Lu <lu@example.org>\r\n"
                                                    f"In-Reply-To: {reply['Message-ID']}\r\n"),
         mail_from="jo@example.org", to=[reply["Reply-To"]])
    run_tasks()

    assert Ticket.objects.count() == 1
    ticket.refresh_from_db()
    last = ticket.messages.last()
    assert (last.body_text, last.author_customer.primary_email) == ("The Visa one.", "jo@example.org")
    assert ticket.status == Status.OPEN  # reopened, as the requester's reply would
    assert cc_emails(ticket) == {"jo@example.org"}  # a CC's mail copies no one
    assert len(relay.received) == 2  # no acknowledgement for a reply


def test_a_stranger_on_the_thread_gets_a_new_linked_ticket_and_nothing_of_the_old_one(listener, relay, inbox, sam):
    ticket = open_ticket_with_jo(listener, relay)
    stranger_answers_our_reply(listener, relay, ticket=ticket, agent=sam)

    assert ticket.messages.count() == 2 and cc_emails(ticket) == {"jo@example.org"}
    new = Ticket.objects.exclude(pk=ticket.pk).get()
    assert new.follow_up_of == ticket and new.requester.primary_email == "eve@evil.example"
    to_eve = [(raw, rcpt) for _, rcpt, raw in relay.received if "eve@evil.example" in rcpt]
    assert len(to_eve) == 1 and b"12345" not in to_eve[0][0]  # only her own acknowledgement
    assert "not_requester_of:" + ticket.reference in InboundMessage.objects.get(message_id="e1@evil.example").flags


def test_the_requester_copies_someone_new_on_a_later_mail(listener, relay, inbox, sam):
    ticket = open_ticket_with_jo(listener, relay)
    reply_to = relay.messages()[0]["Reply-To"]

    send(listener, mail(message_id="<m2@example.net>", subject="Re: Charged twice", to=reply_to,
                        body="Adding my boss.", extra=f"Cc: {JO}, Kim Boss <KIM@example.org>\r\n"),
         to=[reply_to])
    run_tasks()

    assert Ticket.objects.count() == 1
    assert cc_emails(ticket) == {"jo@example.org", "kim@example.org"}
    event = ticket.events.filter(kind="ccs").last()
    assert (event.before, event.after) == (["jo@example.org"], ["jo@example.org", "kim@example.org"])
    assert event.actor_customer == ticket.requester


def test_automated_mail_copies_no_one(listener, relay, inbox):
    ticket = open_ticket_with_jo(listener, relay)
    ack_id = relay.messages()[0]["Message-ID"]

    # Maria's out-of-office answers our acknowledgement, with her deputy in Cc.
    send(listener, mail(subject="Out of office", message_id="<ooo@example.net>", body="I am away.",
                        extra=f"Cc: deputy@example.net\r\nAuto-Submitted: auto-replied\r\nIn-Reply-To: {ack_id}\r\n"))
    # A newsletter to support with a list in Cc opens a ticket, copying no one.
    send(listener, mail(sender="news@shop.example", message_id="<n1@shop.example>", subject="Deals",
                        extra="Cc: everyone@shop.example\r\nList-Id: <deals.shop.example>\r\n"),
         mail_from="news@shop.example")
    run_tasks()

    assert cc_emails(ticket) == {"jo@example.org"}
    newsletter = Ticket.objects.get(subject="Deals")
    assert not newsletter.ccs.exists()
    assert not ContactPoint.objects.filter(value__in=["deputy@example.net", "everyone@shop.example"]).exists()


def test_it_copies_neither_us_nor_machines(listener, relay, inbox, sam):
    Inbox.objects.create(name="Sales", address="sales@acme.test")
    send(listener, mail(to="support@acme.test, Sales <sales@acme.test>",
                        extra="Cc: Sam <SAM@acme.test>, support+anything@acme.test, no-reply@vendor.example, "
                              "maria@example.net, Jo <jo@example.org>\r\n"))
    run_tasks()

    assert cc_emails(Ticket.objects.get()) == {"jo@example.org"}
    assert not ContactPoint.objects.filter(value__endswith="@acme.test").exists()


def test_it_copies_at_most_the_cap(listener, relay, inbox):
    copied = ", ".join(f"p{n}@example.org" for n in range(MAX_CCS + 5))
    send(listener, mail(extra=f"Cc: {copied}\r\n"))
    run_tasks()

    ticket = Ticket.objects.get()
    assert ticket.ccs.count() == MAX_CCS
    assert Customer.objects.count() == MAX_CCS + 1  # nobody beyond the cap is created


def test_a_bounced_cc_is_left_out_of_the_replies(listener, relay, inbox, sam):
    ticket = open_ticket_with_jo(listener, relay)
    ContactPoint.objects.filter(value="jo@example.org").update(undeliverable_since="2026-11-01T00:00:00Z")

    ticket_reply(ticket=ticket, author=sam, body="Refund issued.")
    run_tasks()

    reply = relay.messages()[1]
    assert reply["Cc"] is None and relay.received[1][1] == ["maria@example.net"]
    assert "View this conversation online" in reply.get_body(("plain",)).get_content()


def test_finding_ccs_costs_no_query_for_mail_without_other_recipients(listener, inbox):
    ctx = Context(inbound=InboundMessage(), parsed=parse_message(mail(to="support+x@acme.test")),
                  sender="maria@example.net", our_addresses={"support@acme.test"})

    with CaptureQueriesContext(connection) as queries:
        find_ccs(ctx)

    assert ctx.ccs == [] and len(queries) == 0
