"""A batch of stored mail (one SMTP group commit): new conversations are opened together,
everything else goes through the stages in arrival order, and one bad message fails alone."""

import pytest
from django_tasks_db.models import DBTaskResult

from frontdesk.customers.services import customer_create
from frontdesk.mail.batch import inbound_process_many
from frontdesk.mail.models import InboundMessage, InboundStatus, OutboundKind, OutboundMessage
from frontdesk.mail.spool import Envelope, SpoolWriter, spool_index_many
from frontdesk.tickets.models import EventKind, Ticket, TicketEvent

from .helpers import mail


def store_many(*raws: bytes) -> list[InboundMessage]:
    spooled = []
    for raw in raws:
        writer = SpoolWriter()
        writer.write(raw)
        spooled.append(writer.commit(envelope=Envelope(mail_from="x@example.net", rcpt_tos=("support@acme.test",))))
    return spool_index_many(spooled)


@pytest.fixture
def home(settings, tmp_path):
    settings.FRONTDESK_HOME = tmp_path


def tasks(name: str) -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path__endswith=name))


def test_it_opens_new_conversations_and_threads_a_reply_stored_in_the_same_batch(db, home, inbox):
    customer_create(name="Maria Lopez", emails=["maria@example.net"])
    rows = store_many(
        mail(message_id="<a@example.net>", subject="Charged twice"),
        mail(message_id="<b@example.org>", subject="Login broken", sender="Ana <ana@example.org>"),
        mail(message_id="<r@example.net>", subject="Re: Charged twice", body="Still charged twice.",
             extra="In-Reply-To: <a@example.net>\r\n"),
        mail(message_id="<c@example.com>", subject="Invoice", sender="Bo <bo@example.com>"),
    )

    outcomes = inbound_process_many(inbound_ids=[row.pk for row in rows])

    assert outcomes[InboundStatus.PROCESSED] == 4
    charged = Ticket.objects.get(subject="Charged twice")
    assert list(charged.messages.values_list("body_text", flat=True)) == [
        "My card was charged twice.", "Still charged twice."]
    assert set(Ticket.objects.values_list("subject", flat=True)) == {"Charged twice", "Login broken", "Invoice"}
    assert Ticket.objects.get(subject="Login broken").requester.name == "Ana"  # a new customer
    for ticket in Ticket.objects.all():
        assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.CREATED).count() == 1
    acks = OutboundMessage.objects.filter(kind=OutboundKind.ACK)
    assert sorted(acks.values_list("recipient", flat=True)) == ["ana@example.org", "bo@example.com",
                                                                "maria@example.net"]
    ack = acks.get(recipient="ana@example.org")
    assert ack.in_reply_to == "b@example.org" and ack.conversation_url  # answers the mail, with a link
    assert set(InboundMessage.objects.values_list("status", flat=True)) == {InboundStatus.PROCESSED}


def test_it_queues_one_task_per_subscriber_for_a_batch(db, home, inbox):
    rows = store_many(*(mail(message_id=f"<n{i}@example.net>", sender=f"P{i} <p{i}@example.net>")
                        for i in range(3)))

    inbound_process_many(inbound_ids=[row.pk for row in rows])

    deliveries = tasks(".deliver_outbound_many")
    assert len(deliveries) == 1 and len(deliveries[0].args_kwargs["kwargs"]["outbound_ids"]) == 3
    sla = tasks(".sla_on_ticket_events")
    # One event per ticket: the SLA task applies all of a ticket's events, whichever it is given.
    assert len(sla) == 1 and len(sla[0].args_kwargs["kwargs"]["event_ids"]) == 3
    assert not tasks(".on_customer_message")  # nothing can wait on a ticket's first message


def test_it_fails_a_poison_message_alone(db, home, inbox):
    rows = store_many(
        mail(message_id="<ok1@example.net>", sender="A <a@example.net>"),
        mail(message_id="<big@example.net>", sender="B <b@example.net>", body="x" * 200_001),
        mail(message_id="<ok2@example.net>", sender="C <c@example.net>"),
    )

    outcomes = inbound_process_many(inbound_ids=[row.pk for row in rows])

    assert outcomes[InboundStatus.PROCESSED] == 2 and outcomes[InboundStatus.FAILED] == 1
    failed = InboundMessage.objects.get(status=InboundStatus.FAILED)
    assert failed.message_id == "big@example.net" and "200000 characters" in failed.error
    assert Ticket.objects.count() == 2


def test_it_keeps_one_ticket_for_the_same_message_stored_twice_in_a_batch(db, home, inbox):
    rows = store_many(mail(message_id="<same@example.net>"),
                      mail(message_id="<same@example.net>", extra="Received: from relay2\r\n"))

    outcomes = inbound_process_many(inbound_ids=[row.pk for row in rows])

    assert +outcomes == {InboundStatus.PROCESSED: 1, InboundStatus.DUPLICATE: 1}
    assert Ticket.objects.count() == 1


def test_it_skips_messages_already_processed(db, home, inbox):
    rows = store_many(mail(message_id="<once@example.net>"))
    ids = [row.pk for row in rows]
    inbound_process_many(inbound_ids=ids)

    assert +inbound_process_many(inbound_ids=ids) == {"skipped": 1}
    assert Ticket.objects.count() == 1
