"""Queueing mail to customers: agent replies and acknowledgements.

A queued message has its final headers (Message-ID, In-Reply-To, References, Reply-To) fixed
at once, so every delivery attempt sends the same message. Delivery itself is
``delivery.outbound_deliver``, run by a task enqueued in the same transaction.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from frontdesk.core.tasks import enqueue_on_commit
from frontdesk.core.text import single_line
from frontdesk.customers.models import ContactKind, ContactPoint
from frontdesk.portal.services import link_issue_url
from frontdesk.tickets.models import Message, Ticket, TicketEvent, Visibility

from .addresses import mail_domain, reply_address, ticket_reference_id
from .models import InboundMessage, InboundStatus, Inbox, OutboundKind, OutboundMessage

logger = logging.getLogger(__name__)

MAX_REFERENCES = 20


def default_from_address() -> str:
    return f"support@{mail_domain()}"


def ticket_inbox(ticket: Ticket) -> Inbox | None:
    """The inbox the conversation runs through: where the customer last wrote, else the default."""
    last = (
        InboundMessage.objects.filter(ticket=ticket, inbox__isnull=False)
        .select_related("inbox").order_by("-received_at", "-id").first()
    )
    return last.inbox if last else Inbox.objects.filter(is_default=True).first()


def deliverable_email(ticket: Ticket) -> str | None:
    """The requester's primary email address, unless it bounced permanently."""
    point = (
        ContactPoint.objects.filter(customer_id=ticket.requester_id, kind=ContactKind.EMAIL)
        .order_by("-is_primary", "id").first()
    )
    if point is None or point.undeliverable_since is not None:
        return None
    return point.value


def thread_headers(ticket: Ticket) -> tuple[str, list[str]]:
    """(In-Reply-To, References) continuing the ticket's thread (RFC 5322 §3.6.4): the latest
    message of the conversation, and the ids before it, ending with our stable ticket id."""
    inbound = InboundMessage.objects.filter(
        ticket=ticket, status__in=[InboundStatus.RECEIVED, InboundStatus.PROCESSED]  # received: being processed
    ).exclude(message_id="")
    ids = [
        (row.received_at, row.message_id) for row in inbound.only("received_at", "message_id")
    ] + [
        (row.created_at, row.message_id) for row in OutboundMessage.objects.filter(ticket=ticket).only(
            "created_at", "message_id")
    ]
    ordered = [message_id for _, message_id in sorted(ids)][-MAX_REFERENCES:]
    in_reply_to = ordered[-1] if ordered else ""
    return in_reply_to, [ticket_reference_id(ticket.reference), *ordered]


def tagged_subject(ticket: Ticket, *, prefix: str = "Re: ") -> str:
    subject = ticket.subject
    if not subject.lower().startswith(("re:", "aw:", "sv:")):
        subject = prefix + subject
    return single_line(f"{subject} [#{ticket.reference}]", max_length=300)


def _queue(
    *, ticket: Ticket, kind: str, to: str, body_text: str, subject: str, auto_submitted: str = "",
    ticket_message: Message | None = None,
) -> OutboundMessage:
    inbox = ticket_inbox(ticket)
    from_address = inbox.address if inbox else default_from_address()
    in_reply_to, references = thread_headers(ticket)
    outbound = OutboundMessage.objects.create(
        ticket=ticket, ticket_message=ticket_message, inbox=inbox, kind=kind,
        auto_submitted=auto_submitted, from_address=from_address,
        from_name=(inbox.from_name if inbox else "") or "Support",
        reply_to=reply_address(from_address, ticket.pk), recipient=to, to_addresses=[to], subject=subject,
        body_text=body_text, message_id="pending", in_reply_to=in_reply_to,
        references=" ".join(f"<{ref}>" for ref in references),
    )
    # The Message-ID embeds our own id, so it is unique and stable for every retry.
    outbound.message_id = f"{outbound.public_id.hex}@{mail_domain()}"
    OutboundMessage.objects.filter(pk=outbound.pk).update(message_id=outbound.message_id)
    from .tasks import deliver_outbound

    enqueue_on_commit(deliver_outbound, outbound_id=outbound.pk)
    return outbound


@transaction.atomic
def outbound_queue_reply(*, event_id: int) -> OutboundMessage | None:
    """Email an agent's public reply to the requester. Safe to run twice for one event."""
    event = TicketEvent.objects.select_related("ticket", "message").filter(pk=event_id).first()
    if event is None or event.message is None or event.message.visibility != Visibility.PUBLIC:
        return None
    if OutboundMessage.objects.filter(ticket_message=event.message).exists():
        return None
    to = deliverable_email(event.ticket)
    if to is None:
        logger.info("ticket %s: requester has no deliverable email; reply not mailed", event.ticket.reference)
        return None
    return _with_conversation_link(_queue(
        ticket=event.ticket, kind=OutboundKind.REPLY, to=to, body_text=event.message.body_text,
        subject=tagged_subject(event.ticket), ticket_message=event.message,
    ))


def auto_reply_allowed(*, ticket: Ticket, address: str) -> bool:
    """RFC 3834 rate limits: one acknowledgement per sender and ticket per day, and ceilings
    per address across all tickets (an auto-responder on the other side cannot make us loop)."""
    now = timezone.now()
    automatic = OutboundMessage.objects.exclude(auto_submitted="").filter(recipient=address)
    today = automatic.filter(created_at__gte=now - timedelta(days=1))
    if today.filter(ticket=ticket).exists():
        return False
    if automatic.filter(created_at__gte=now - timedelta(hours=1)).count() >= settings.FRONTDESK_AUTOREPLY_PER_HOUR:
        return False
    return today.count() < settings.FRONTDESK_AUTOREPLY_PER_DAY


def outbound_queue_ack(*, ticket: Ticket, to: str, customer_name: str) -> OutboundMessage | None:
    """Acknowledge a new ticket, unless rate limits say this address had enough."""
    if not auto_reply_allowed(ticket=ticket, address=to):
        logger.warning("acknowledgement to %s for ticket %s suppressed by rate limit", to, ticket.reference)
        return None
    inbox = ticket_inbox(ticket)
    template = inbox.ack_text if inbox else Inbox._meta.get_field("ack_text").default
    body = template.format_map(_SafeFormat(
        name=customer_name or "there", reference=ticket.reference, subject=ticket.subject,
        inbox=(inbox.from_name or inbox.name) if inbox else "Support",
    ))
    return _with_conversation_link(_queue(
        ticket=ticket, kind=OutboundKind.ACK, to=to, body_text=body, auto_submitted="auto-replied",
        subject=tagged_subject(ticket),
    ))


def _with_conversation_link(outbound: OutboundMessage, url: str | None = None) -> OutboundMessage:
    """Put a signed link to the conversation in the message's footer (a new link per email,
    so each can be revoked on its own). Same transaction as the queueing; delivery reads it."""
    outbound.conversation_url = url or link_issue_url(ticket=outbound.ticket)
    OutboundMessage.objects.filter(pk=outbound.pk).update(conversation_url=outbound.conversation_url)
    return outbound


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
    now = timezone.now()
    automatic = OutboundMessage.objects.exclude(auto_submitted="").filter(recipient=address)
    if automatic.filter(created_at__gte=now - timedelta(hours=1)).count() >= settings.FRONTDESK_AUTOREPLY_PER_HOUR:
        return False
    if automatic.filter(created_at__gte=now - timedelta(days=1)).count() >= settings.FRONTDESK_AUTOREPLY_PER_DAY:
        return False
    return automatic.filter(
        ticket=ticket, kind=OutboundKind.NOTIFICATION, created_at__gte=now - timedelta(hours=1)
    ).count() < LINK_MAILS_PER_TICKET_PER_HOUR


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
    return _with_conversation_link(_queue(
        ticket=ticket, kind=OutboundKind.NOTIFICATION, to=to, body_text=body, auto_submitted="auto-generated",
        subject=single_line(f"Your link to conversation [#{ticket.reference}]", max_length=300),
    ), url)


class _SafeFormat(dict):
    """Unknown placeholders in an admin-written template stay as written instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
