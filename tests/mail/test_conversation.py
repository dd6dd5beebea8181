"""Email both ways through the real protocols: customers write to our SMTP listener with
smtplib, a local aiosmtpd relay receives what we send, the worker runs the tasks."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from frontdesk.customers.models import ContactPoint
from frontdesk.mail.models import InboundMessage, InboundStatus, OutboundMessage, OutboundStatus
from frontdesk.tickets.models import Status, Ticket
from frontdesk.tickets.services import ticket_reply
from tests.conftest import run_tasks

# The listener, relay, inbox and sam fixtures are in conftest.py; RecordingRelay is imported
# from here by other test packages.
from .helpers import RecordingRelay, mail, send, stranger_answers_our_reply

__all__ = ["RecordingRelay"]

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_runs_a_whole_conversation_threaded_both_ways(listener, relay, inbox, sam):
    send(listener, mail())
    run_tasks()

    ticket = Ticket.objects.get()
    assert (ticket.subject, ticket.channel, ticket.status, ticket.group) == (
        "Charged twice", "email", Status.NEW, inbox.group)
    assert ticket.requester.primary_email == "maria@example.net"
    [ack] = relay.messages()
    assert ack["Auto-Submitted"] == "auto-replied" and ack["X-Auto-Response-Suppress"] == "All"
    assert ack["In-Reply-To"] == "<m1@example.net>"
    assert ticket.reference in ack["Subject"] and ack["To"] == "maria@example.net"
    assert ack["Reply-To"].startswith("support+t") and ack["Reply-To"].endswith("@acme.test")

    ticket_reply(ticket=ticket, author=sam, body="Refund issued.", status=Status.PENDING)
    run_tasks()
    reply = relay.messages()[1]
    assert "Refund issued." in reply.get_body(("plain",)).get_content()
    assert "Auto-Submitted" not in reply
    assert "<m1@example.net>" in reply["References"]
    mail_from = relay.received[1][0]
    assert mail_from.startswith("bounces+o")  # VERP: a bounce names the exact message

    # The customer's phone keeps only In-Reply-To and writes to the plain address.
    send(listener, mail(subject="Re: Charged twice", message_id="<m2@example.net>", body="Thanks, got it!",
                        extra=f"In-Reply-To: {reply['Message-ID']}\r\n"))
    run_tasks()
    ticket.refresh_from_db()
    assert Ticket.objects.count() == 1
    assert ticket.status == Status.OPEN  # the customer's reply reopened the pending ticket
    assert list(ticket.messages.values_list("body_text", flat=True)) == [
        "My card was charged twice.", "Refund issued.", "Thanks, got it!"]
    assert len(relay.received) == 2  # no acknowledgement for a reply


def test_it_threads_by_the_signed_reply_address_alone(listener, relay, inbox, sam):
    send(listener, mail())
    run_tasks()
    ticket = Ticket.objects.get()
    reply_to = relay.messages()[0]["Reply-To"]

    send(listener, mail(subject="something else entirely", message_id="<m9@example.net>", to=reply_to,
                        body="More details."), to=[reply_to])
    run_tasks()

    assert Ticket.objects.count() == 1
    assert ticket.messages.count() == 2


def test_it_gives_a_stranger_a_new_linked_ticket_and_nothing_of_the_old_one(listener, relay, inbox, sam):
    send(listener, mail())
    run_tasks()
    ticket = Ticket.objects.get()
    stranger_answers_our_reply(listener, relay, ticket=ticket, agent=sam)

    assert ticket.messages.count() == 2  # nothing appended to Maria's ticket
    new = Ticket.objects.exclude(pk=ticket.pk).get()
    assert new.follow_up_of == ticket and new.requester.primary_email == "eve@evil.example"
    to_eve = [m for m in relay.messages() if m["To"] == "eve@evil.example"]
    assert len(to_eve) == 1 and "12345" not in to_eve[0].as_string()  # only her own acknowledgement


def test_it_acknowledges_an_auto_responder_exactly_once(listener, relay, inbox):
    send(listener, mail())
    run_tasks()
    ack_id = relay.messages()[0]["Message-ID"]

    for n in range(3):  # the customer's out-of-office answers everything we send
        send(listener, mail(subject="Out of office", message_id=f"<ooo{n}@example.net>", body="I am away.",
                            extra=f"Auto-Submitted: auto-replied\r\nIn-Reply-To: {ack_id}\r\n"))
        run_tasks()

    assert len(relay.received) == 1
    assert InboundMessage.objects.filter(automated__startswith="Auto-Submitted").count() == 3
    assert Ticket.objects.count() == 1


def test_it_marks_a_bounced_reply_and_the_address(listener, relay, inbox, sam):
    send(listener, mail())
    run_tasks()
    ticket = Ticket.objects.get()
    ticket_reply(ticket=ticket, author=sam, body="Refund issued.")
    run_tasks()
    verp, _, raw = relay.received[1]
    original_id = message_from_bytes(raw, policy=default_policy)["Message-ID"]

    dsn = (
        f"From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\nTo: {verp}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@mx.example.net>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
        "Final-Recipient: rfc822; maria@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {original_id}\r\nTo: maria@example.net\r\n"
        "--B--\r\n"
    ).encode()
    send(listener, dsn, mail_from="", to=[verp])
    run_tasks()

    outbound = OutboundMessage.objects.get(kind="reply")
    assert outbound.status == OutboundStatus.BOUNCED and "5.1.1" in outbound.last_error
    assert ContactPoint.objects.get(value="maria@example.net").undeliverable_since is not None
    assert Ticket.objects.count() == 1
    assert InboundMessage.objects.get(message_id="dsn1@mx.example.net").status == InboundStatus.BOUNCE
    assert ticket.events.filter(kind="delivery", after__status="bounced").exists()


def test_it_retries_while_the_relay_is_down_and_delivers_once_with_the_same_id(listener, relay, inbox, sam):
    send(listener, mail(extra="Auto-Submitted: auto-generated\r\n"))  # no acknowledgement to muddle the count
    run_tasks()
    ticket = Ticket.objects.get()
    relay.stop()

    ticket_reply(ticket=ticket, author=sam, body="Refund issued.")
    run_tasks()
    outbound = OutboundMessage.objects.get()
    assert outbound.status == OutboundStatus.RETRYING and outbound.attempts == 1
    assert "ConnectionRefused" in outbound.last_error

    relay.restart()
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
    run_tasks()

    outbound.refresh_from_db()
    assert outbound.status == OutboundStatus.SENT and outbound.attempts == 2
    [delivered] = relay.messages()
    assert delivered["Message-ID"] == f"<{outbound.message_id}>"


def test_it_fails_at_once_on_a_permanent_refusal(listener, relay, inbox, sam):
    send(listener, mail(extra="Auto-Submitted: auto-generated\r\n"))
    run_tasks()
    relay.refuse_with = "550 5.1.1 no such user"

    ticket_reply(ticket=Ticket.objects.get(), author=sam, body="Hello")
    run_tasks()

    outbound = OutboundMessage.objects.get()
    assert outbound.status == OutboundStatus.FAILED and "550" in outbound.last_error
    assert not DBTaskResult.objects.filter(status="READY").exists()  # no retry of a 5xx


def test_it_keeps_going_past_a_poison_message(listener, relay, inbox):
    send(listener, mail(message_id="<a@example.net>", subject="First"))
    send(listener, b"Subject: no sender at all\r\n\r\nwho am I?\r\n", mail_from="")
    send(listener, mail(message_id="<c@example.net>", subject="Third", sender="Jo <jo@example.org>"),
         mail_from="jo@example.org")
    run_tasks()

    statuses = dict(InboundMessage.objects.values_list("subject", "status"))
    assert statuses == {"First": "processed", "no sender at all": "failed", "Third": "processed"}
    failed = InboundMessage.objects.get(status=InboundStatus.FAILED)
    assert "no sender" in failed.error
    assert Ticket.objects.count() == 2


def test_it_stores_the_same_message_once_when_it_arrives_twice(listener, relay, inbox):
    send(listener, mail())
    send(listener, mail().replace(b"From:", b"Received: from relay2.example.net\r\nFrom:"))
    run_tasks()

    assert Ticket.objects.count() == 1
    assert sorted(InboundMessage.objects.values_list("status", flat=True)) == ["duplicate", "processed"]
    assert len(relay.received) == 1


def test_it_keeps_both_when_a_message_id_is_reused_with_other_content(listener, relay, inbox):
    send(listener, mail())
    send(listener, mail(body="Totally different text, same Message-ID", sender="Jo <jo@example.org>"),
         mail_from="jo@example.org")
    run_tasks()

    assert Ticket.objects.count() == 2
    assert "message_id_reused" in InboundMessage.objects.order_by("-id").first().flags


def test_it_neutralises_header_injection_in_names_and_subjects(listener, relay, inbox):
    raw = mail(subject="=?utf-8?q?Hello=0D=0ABcc=3A_victim=40example.com?=",
               sender="=?utf-8?q?Maria=0D=0ABcc=3A_x=40y.z?= <maria@example.net>")
    send(listener, raw)
    run_tasks()

    ticket = Ticket.objects.get()
    assert "\n" not in ticket.subject and "\r" not in ticket.subject
    assert "\n" not in ticket.requester.name
    [ack] = relay.messages()
    assert ack["Bcc"] is None and relay.received[0][1] == ["maria@example.net"]
