"""What customers send through the portal that also involves email: the contact form (a new
ticket and its confirmation mail) and requests for a fresh conversation link.

Here the portal calls ``mail`` (queueing), while ``mail`` calls ``portal.services`` (issuing
links): the two channels meet in these two modules and never import each other's modules
the other way round at import time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from frontdesk.core.errors import InvalidInput
from frontdesk.core.tasks import enqueue_on_commit
from frontdesk.customers.models import ContactKind, ContactPoint
from frontdesk.customers.services import customer_get_or_create_by_email, normalize_contact
from frontdesk.mail.models import Inbox, OutboundKind, OutboundMessage
from frontdesk.mail.outbound import Ack, outbound_queue_acks, outbound_queue_conversation_link
from frontdesk.sla.promise import Promise, promises_for_new_tickets
from frontdesk.tickets.attachments import NewAttachment
from frontdesk.tickets.models import Channel, Ticket
from frontdesk.tickets.services import ticket_create

from . import tasks
from .services import surviving_ticket

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ContactRequest:
    name: str
    email: str
    subject: str
    message: str
    attachments: Sequence[NewAttachment] = ()


@dataclass(frozen=True)
class ContactReceipt:
    """What the customer is told after sending the form."""

    ticket: Ticket
    promise: Promise | None  # when they will hear from us, if a policy promises it


def contact_submit(*, request: ContactRequest) -> ContactReceipt:
    """A ticket from the contact form, for the customer owning the address (created if
    new), routed to the default inbox's group, with the task that emails its confirmation
    (``tasks.contact_acknowledge``). Nothing is kept if the ticket is refused.

    The ticket, its message and events and its tasks commit together before this returns:
    nothing the customer is told about can be lost afterwards. The write transaction holds
    only the writes (on SQLite it holds the database's one write lock): the default inbox is
    read before it, the promise after it."""
    inbox = Inbox.objects.filter(is_default=True).select_related("group").first()
    with transaction.atomic():
        customer = customer_get_or_create_by_email(email=request.email, name=request.name.strip())
        ticket = ticket_create(
            subject=request.subject, requester=customer, body=request.message, channel=Channel.WEB,
            group=inbox.group if inbox else None, attachments=request.attachments,
        )
        # Queued even when the inbox does not acknowledge mail: on the web, this email is how
        # the customer gets back to the conversation.
        enqueue_on_commit(tasks.contact_acknowledge, ticket_id=ticket.pk, inbox_id=inbox.pk if inbox else None,
                          to=normalize_contact(kind=ContactKind.EMAIL, value=request.email),
                          customer_name=customer.name)
    # From the ticket's policy, as the acknowledgement will say (its timers start after commit).
    return ContactReceipt(ticket=ticket, promise=promises_for_new_tickets([ticket])[0])


def contact_ack_queue(*, ticket_id: int, inbox_id: int | None, to: str, customer_name: str) -> str:
    """Queue the confirmation email of a ticket opened through the contact form (with its
    conversation link), unless the per-address rate limits say this address had enough:
    the mail pipeline's queueing of new tickets' acknowledgements, run by the task
    ``contact_submit`` enqueues, so the form's request only writes the ticket. Safe to run
    twice: a ticket gets one acknowledgement."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update(of=("self",)).select_related("requester").filter(pk=ticket_id).first()
        if ticket is None:
            return "no such ticket"
        if OutboundMessage.objects.filter(ticket=ticket, kind=OutboundKind.ACK).exists():
            return "already acknowledged"
        inbox = Inbox.objects.filter(pk=inbox_id).first() if inbox_id else None
        queued = outbound_queue_acks(acks=[Ack(ticket=ticket, to=to, customer_name=customer_name, inbox=inbox,
                                               thread=[])])  # no email opened it: no thread
    return "queued" if queued else "held back by the rate limits"


def link_request_fresh(*, email: str, reference: str) -> None:
    """Email a new conversation link if ``email`` is a deliverable address of the requester
    of ticket ``reference`` (after merges); otherwise do nothing. Returns nothing either
    way: the caller answers the same whatever happened (no enumeration)."""
    try:
        email = normalize_contact(kind=ContactKind.EMAIL, value=email)
    except InvalidInput:
        return
    ticket = Ticket.objects.select_related("requester").filter(reference=reference.strip().upper()).first()
    if ticket is None or (ticket := surviving_ticket(ticket)) is None:
        return
    owned = ContactPoint.objects.filter(
        customer_id=ticket.requester_id, kind=ContactKind.EMAIL, value=email, undeliverable_since__isnull=True
    ).exists()
    if owned:
        outbound_queue_conversation_link(ticket=ticket, to=email)
