"""Queueing mail to customers: agent replies, automatic messages and acknowledgements.

A queued message has its final headers (Message-ID, In-Reply-To, References, Reply-To) fixed
at once, so every delivery attempt sends the same message. Delivery itself is
``delivery.outbound_deliver``, run by a task enqueued in the same transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from frontdesk.core.tasks import PRIORITY_DEFAULT, PRIORITY_INTERACTIVE, enqueue_batch_on_commit, enqueue_on_commit
from frontdesk.core.text import single_line
from frontdesk.customers.models import ContactKind, ContactPoint
from frontdesk.portal.services import link_issue_many, link_issue_url, link_url
from frontdesk.sla.promise import promise_for_ticket, promises_for_new_tickets
from frontdesk.tickets.models import EventKind, Message, Ticket, TicketEvent, Visibility
from frontdesk.tickets.timeline import record_event

from .addresses import mail_domain, reply_address, ticket_reference_id
from .models import InboundMessage, InboundStatus, Inbox, OutboundKind, OutboundMessage

logger = logging.getLogger(__name__)

MAX_REFERENCES = 20
DELIVERY_BATCH = 100  # acknowledgements one delivery task sends at most


def default_from_address() -> str:
    return f"support@{mail_domain()}"


def ticket_inbox(ticket: Ticket) -> Inbox | None:
    """The inbox the conversation runs through: where the customer last wrote, else the default."""
    last = (
        InboundMessage.objects.filter(ticket=ticket, inbox__isnull=False)
        .select_related("inbox").order_by("-received_at", "-id").first()
    )
    return last.inbox if last else Inbox.objects.filter(is_default=True).first()


def reply_recipients(ticket: Ticket) -> tuple[list[str], list[str], bool]:
    """(To, Cc, whether the requester alone receives it) of a public reply, in one query: the
    requester's primary email address, and each CC's; an address that bounced permanently is
    left out, none appears twice. When the requester cannot be reached, the CCs are the To."""
    ccs = Ticket.ccs.through.objects.filter(ticket_id=ticket.pk).values("customer_id")
    rows = (
        ContactPoint.objects.filter(Q(customer_id=ticket.requester_id) | Q(customer_id__in=ccs), kind=ContactKind.EMAIL)
        .order_by("-is_primary", "id").values_list("customer_id", "value", "undeliverable_since")
    )
    primary: dict[int, str | None] = {}
    for customer_id, value, undeliverable_since in rows:
        primary.setdefault(customer_id, None if undeliverable_since else value)
    to = [address] if (address := primary.pop(ticket.requester_id, None)) else []
    cc = [value for _, value in sorted(primary.items()) if value and value not in to]
    cc = list(dict.fromkeys(cc))
    return (to, cc, not cc) if to else (cc, [], False)


def thread_headers(ticket: Ticket, *, known: list[str] | None = None) -> tuple[str, list[str]]:
    """(In-Reply-To, References) continuing the ticket's thread (RFC 5322 §3.6.4): the latest
    message of the conversation, and the ids before it, ending with our stable ticket id.
    ``known``: the thread's Message-IDs when the caller has them (a ticket just opened by mail)."""
    if known is None:
        inbound = InboundMessage.objects.filter(
            ticket=ticket, status__in=[InboundStatus.RECEIVED, InboundStatus.PROCESSED]  # received: in progress
        ).exclude(message_id="")
        ids = [
            *inbound.values_list("received_at", "message_id"),
            *OutboundMessage.objects.filter(ticket=ticket).values_list("created_at", "message_id"),
        ]
        known = [message_id for _, message_id in sorted(ids)]
    ordered = known[-MAX_REFERENCES:]
    in_reply_to = ordered[-1] if ordered else ""
    return in_reply_to, [ticket_reference_id(ticket.reference), *ordered]


def tagged_subject(ticket: Ticket, *, prefix: str = "Re: ") -> str:
    subject = ticket.subject
    if not subject.lower().startswith(("re:", "aw:", "sv:")):
        subject = prefix + subject
    return single_line(f"{subject} [#{ticket.reference}]", max_length=300)


def _queue(
    *, ticket: Ticket, kind: str, to: str | list[str], body_text: str, subject: str, auto_submitted: str = "",
    cc: list[str] | None = None,
    ticket_message: Message | None = None, inbox: Inbox | None = None, thread: list[str] | None = None,
    conversation_url: str = "", personal: bool = True,
) -> OutboundMessage:
    """Queue one email to the customer (``to``: one address or several, ``cc``: copies) and its
    delivery task. It carries a signed link to the conversation in its footer (a new link per
    email, so each can be revoked on its own) when it is ``personal``: the link acts as the
    requester, so mail that also goes to anyone else carries none."""
    to_addresses = [to] if isinstance(to, str) else list(to)
    inbox = inbox or ticket_inbox(ticket)
    from_address = inbox.address if inbox else default_from_address()
    in_reply_to, references = thread_headers(ticket, known=thread)
    public_id = uuid.uuid4()
    outbound = OutboundMessage.objects.create(
        public_id=public_id, ticket=ticket, ticket_message=ticket_message, inbox=inbox, kind=kind,
        auto_submitted=auto_submitted, from_address=from_address,
        from_name=(inbox.from_name if inbox else "") or "Support",
        reply_to=reply_address(from_address, ticket.pk), recipient=to_addresses[0], to_addresses=to_addresses,
        cc_addresses=list(cc or []), subject=subject,
        body_text=body_text, in_reply_to=in_reply_to, references=" ".join(f"<{ref}>" for ref in references),
        # Our own id in the Message-ID: unique, and the same for every delivery attempt.
        message_id=f"{public_id.hex}@{mail_domain()}",
        conversation_url=(conversation_url or link_issue_url(ticket=ticket)) if personal else "",
    )
    from .tasks import deliver_outbound, deliver_outbound_many

    if kind == OutboundKind.ACK:  # bulk mail of a burst: delivered with the others waiting
        enqueue_batch_on_commit(deliver_outbound_many, key="outbound_ids", items=[outbound.pk], limit=DELIVERY_BATCH)
        return outbound
    # Someone waits for these (an agent's reply, a link the customer asked for); the rest
    # (automatic messages, broadcasts to many) is bulk work and waits behind inbound mail.
    interactive = kind in (OutboundKind.REPLY, OutboundKind.NOTIFICATION)
    enqueue_on_commit(deliver_outbound.using(priority=PRIORITY_INTERACTIVE if interactive else PRIORITY_DEFAULT),
                      outbound_id=outbound.pk)
    return outbound


def _unmailed_message_event(event_id: int, *, automatic: bool) -> TicketEvent | None:
    """The event of a public message (an automatic one or not) that has no email yet, else None:
    what makes the queueing tasks safe to run twice."""
    event = TicketEvent.objects.select_related("ticket", "message").filter(pk=event_id).first()
    if event is None or event.message is None or event.message.visibility != Visibility.PUBLIC:
        return None
    if bool(event.message.automatic) != automatic:
        return None
    if OutboundMessage.objects.filter(ticket_message=event.message).exists():
        return None
    return event


@transaction.atomic
def outbound_queue_reply(*, event_id: int) -> OutboundMessage | None:
    """Email an agent's public reply to the requester, copying the ticket's CCs
    (``reply_recipients``). Safe to run twice for one event."""
    event = _unmailed_message_event(event_id, automatic=False)
    if event is None:
        return None
    to, cc, requester_only = reply_recipients(event.ticket)
    if not to:
        logger.info("ticket %s: no deliverable email address; reply not mailed", event.ticket.reference)
        return None
    return _queue(
        ticket=event.ticket, kind=OutboundKind.REPLY, to=to, cc=cc, body_text=event.message.body_text,
        subject=tagged_subject(event.ticket), ticket_message=event.message, personal=requester_only,
    )


def _automatic_mail_sent(*, ticket: Ticket, address: str) -> dict[str, int]:
    """Counts of automatic mail to ``address`` (all tickets and this one), in one query."""
    now = timezone.now()
    hour_ago = now - timedelta(hours=1)
    return OutboundMessage.objects.exclude(auto_submitted="").filter(
        recipient=address, created_at__gte=now - timedelta(days=1)
    ).aggregate(
        day=Count("id"),
        hour=Count("id", filter=Q(created_at__gte=hour_ago)),
        ticket_day=Count("id", filter=Q(ticket=ticket)),
        ticket_links_hour=Count("id", filter=Q(ticket=ticket, kind=OutboundKind.NOTIFICATION,
                                               created_at__gte=hour_ago)),
    )


def _within_address_ceilings(sent: dict[str, int]) -> bool:
    return sent["hour"] < settings.FRONTDESK_AUTOREPLY_PER_HOUR and sent["day"] < settings.FRONTDESK_AUTOREPLY_PER_DAY


def auto_reply_allowed(*, ticket: Ticket, address: str) -> bool:
    """RFC 3834 rate limits: one acknowledgement per sender and ticket per day, and ceilings
    per address across all tickets (an auto-responder on the other side cannot make us loop)."""
    sent = _automatic_mail_sent(ticket=ticket, address=address)
    return not sent["ticket_day"] and _within_address_ceilings(sent)


# Incident updates (``incidents.broadcasts``) are written by an agent, once per customer and
# update (a unique delivery row), and never answer inbound mail, so they cannot loop: the
# per-address ceilings meant for auto-replies do not hold them back (an outage must not silence
# the update that explains it). They still go out as automatic mail (``auto-generated``, so
# out-of-office responders stay quiet), to everyone on the conversation like a reply, and they
# count towards the ceilings of later auto-replies. Their pace is the broadcast's rate limit.
BROADCAST_PURPOSES = frozenset({"incident_update", "incident_resolution", "incident_gesture"})


def _queue_broadcast(event: TicketEvent) -> OutboundMessage | None:
    to, cc, requester_only = reply_recipients(event.ticket)
    if not to:
        logger.info("ticket %s: no deliverable email address; incident update not mailed", event.ticket.reference)
        return None
    return _queue(
        ticket=event.ticket, kind=OutboundKind.AUTOMATIC, to=to, cc=cc, body_text=event.message.body_text,
        subject=tagged_subject(event.ticket), ticket_message=event.message, auto_submitted="auto-generated",
        personal=requester_only,
    )


@transaction.atomic
def outbound_queue_automatic(*, event_id: int) -> OutboundMessage | None:
    """Email an automatic message (``ticket_send_automatic_message``) to the requester alone, as
    automatic mail (``Auto-Submitted: auto-generated``) within the per-address ceilings. A
    message the ceilings hold back is recorded as a ``suppressed`` delivery event. Safe to run
    twice for one event."""
    event = _unmailed_message_event(event_id, automatic=True)
    if event is None:
        return None
    if event.message.automatic in BROADCAST_PURPOSES:
        return _queue_broadcast(event)
    to, _, _ = reply_recipients(event.ticket)
    if not to:
        logger.info("ticket %s: no deliverable email address; automatic message not mailed", event.ticket.reference)
        return None
    if not _within_address_ceilings(_automatic_mail_sent(ticket=event.ticket, address=to[0])):
        logger.warning("automatic message to %s on ticket %s suppressed by rate limit", to[0], event.ticket.reference)
        record_event(
            ticket=event.ticket, kind=EventKind.DELIVERY, actor="mail", message=event.message,
            after={"status": "suppressed", "to": to[:1], "kind": OutboundKind.AUTOMATIC,
                   "error": "automatic-mail rate limit for this address"},
        )
        return None
    return _queue(
        ticket=event.ticket, kind=OutboundKind.AUTOMATIC, to=to[0], body_text=event.message.body_text,
        subject=tagged_subject(event.ticket), ticket_message=event.message, auto_submitted="auto-generated",
    )


def _ack_body(*, ticket: Ticket, customer_name: str, inbox: Inbox | None, promise) -> str:
    template = inbox.ack_text if inbox else Inbox._meta.get_field("ack_text").default
    promise_text = f" {promise.text}." if promise else ""
    body = template.format_map(_SafeFormat(
        name=customer_name or "there", reference=ticket.reference, subject=ticket.subject,
        inbox=(inbox.from_name or inbox.name) if inbox else "Support", promise=promise_text,
    ))
    if promise and "{promise}" not in template:  # an admin's own text still states the promise
        body = f"{body.rstrip()}\n\n{promise.text}."
    return body


def outbound_queue_ack(
    *, ticket: Ticket, to: str, customer_name: str, inbox: Inbox | None = None, thread: list[str] | None = None,
) -> OutboundMessage | None:
    """Acknowledge a new ticket, unless rate limits say this address had enough. ``inbox`` and
    ``thread`` (its Message-IDs) when the caller knows them, to save looking them up."""
    if not auto_reply_allowed(ticket=ticket, address=to):
        logger.warning("acknowledgement to %s for ticket %s suppressed by rate limit", to, ticket.reference)
        return None
    inbox = inbox or ticket_inbox(ticket)
    body = _ack_body(ticket=ticket, customer_name=customer_name, inbox=inbox, promise=promise_for_ticket(ticket))
    return _queue(
        ticket=ticket, kind=OutboundKind.ACK, to=to, body_text=body, auto_submitted="auto-replied",
        subject=tagged_subject(ticket), inbox=inbox, thread=thread,
    )


@dataclass
class Ack:
    """An acknowledgement of a ticket opened in the caller's transaction (``outbound_queue_acks``)."""

    ticket: Ticket
    to: str
    customer_name: str
    inbox: Inbox | None
    thread: list[str]  # the Message-IDs of the mail that opened it


def _automatic_mail_sent_to(addresses: set[str]) -> dict[str, dict[str, int]]:
    """``_automatic_mail_sent``'s address counts (day, hour) for many addresses, in one query."""
    now = timezone.now()
    rows = OutboundMessage.objects.exclude(auto_submitted="").filter(
        recipient__in=addresses, created_at__gte=now - timedelta(days=1)
    ).values("recipient").annotate(
        day=Count("id"), hour=Count("id", filter=Q(created_at__gte=now - timedelta(hours=1)))
    )
    return {row["recipient"]: {"day": row["day"], "hour": row["hour"]} for row in rows}


def outbound_queue_acks(*, acks: Sequence[Ack]) -> list[OutboundMessage]:
    """``outbound_queue_ack`` for many new tickets at once (the mail pipeline's batches): one
    query for the rate limits of every address (a new ticket has had no acknowledgement yet;
    the batch's own count against each address's ceilings), one insert each for the links
    and the messages, one delivery task for them all. Returns the messages queued."""
    from .tasks import deliver_outbound_many

    sent = _automatic_mail_sent_to({ack.to for ack in acks})
    allowed = []
    for ack in acks:
        counts = sent.setdefault(ack.to, {"day": 0, "hour": 0})
        if not _within_address_ceilings(counts):
            logger.warning("acknowledgement to %s for ticket %s suppressed by rate limit", ack.to, ack.ticket.reference)
            continue
        counts["day"] += 1
        counts["hour"] += 1
        allowed.append(ack)
    if not allowed:
        return []
    tickets = [ack.ticket for ack in allowed]
    promises = promises_for_new_tickets(tickets)
    tokens = link_issue_many(tickets=tickets)
    rows = []
    for ack, promise, token in zip(allowed, promises, tokens, strict=True):
        from_address = ack.inbox.address if ack.inbox else default_from_address()
        in_reply_to, references = thread_headers(ack.ticket, known=ack.thread)
        public_id = uuid.uuid4()
        rows.append(OutboundMessage(
            public_id=public_id, ticket=ack.ticket, inbox=ack.inbox, kind=OutboundKind.ACK,
            auto_submitted="auto-replied", from_address=from_address,
            from_name=(ack.inbox.from_name if ack.inbox else "") or "Support",
            reply_to=reply_address(from_address, ack.ticket.pk), recipient=ack.to, to_addresses=[ack.to],
            cc_addresses=[], subject=tagged_subject(ack.ticket),
            body_text=_ack_body(ticket=ack.ticket, customer_name=ack.customer_name, inbox=ack.inbox, promise=promise),
            in_reply_to=in_reply_to, references=" ".join(f"<{ref}>" for ref in references),
            message_id=f"{public_id.hex}@{mail_domain()}", conversation_url=link_url(token),
        ))
    queued = OutboundMessage.objects.bulk_create(rows)
    # Bulk mail: one delivery task for the acknowledgements waiting (joining one not started).
    enqueue_batch_on_commit(deliver_outbound_many, key="outbound_ids", items=[outbound.pk for outbound in queued],
                            limit=DELIVERY_BATCH)
    return queued


LINK_MAILS_PER_TICKET_PER_HOUR = 3
LINK_TEXT = (
    "Hello {name},\n\n"
    "Here is a new link to your conversation {reference} (\"{subject}\"):\n\n{url}\n\n"
    "It opens this conversation only and is meant for you alone, so please don't forward it. "
    "If you did not ask for it, you can ignore this email.\n\n"
    "{inbox}"
)


def _link_mail_allowed(*, ticket: Ticket, address: str) -> bool:
    """The per-address ceilings of automatic mail (as ``auto_reply_allowed``), and a few link
    mails per ticket and hour (the one-acknowledgement-per-day rule does not apply: a
    customer may lose the link the same day)."""
    sent = _automatic_mail_sent(ticket=ticket, address=address)
    return _within_address_ceilings(sent) and sent["ticket_links_hour"] < LINK_MAILS_PER_TICKET_PER_HOUR


@transaction.atomic
def outbound_queue_conversation_link(*, ticket: Ticket, to: str) -> OutboundMessage | None:
    """Email a fresh conversation link to ``to``, which the caller has checked is the
    requester's own address. Automatic mail (``auto-generated``), rate-limited per address."""
    if not _link_mail_allowed(ticket=ticket, address=to):
        logger.warning("conversation link to %s for ticket %s suppressed by rate limit", to, ticket.reference)
        return None
    inbox = ticket_inbox(ticket)
    url = link_issue_url(ticket=ticket)
    body = LINK_TEXT.format(
        name=ticket.requester.name or "there", reference=ticket.reference, subject=ticket.subject, url=url,
        inbox=(inbox.from_name or inbox.name) if inbox else "Support",
    )
    return _queue(
        ticket=ticket, kind=OutboundKind.NOTIFICATION, to=to, body_text=body, auto_submitted="auto-generated",
        subject=single_line(f"Your link to conversation [#{ticket.reference}]", max_length=300),
        inbox=inbox, conversation_url=url,
    )


class _SafeFormat(dict):
    """Unknown placeholders in an admin-written template stay as written instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
