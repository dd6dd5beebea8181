"""Reads on mail, with the same visibility as the tickets they belong to."""

from __future__ import annotations

from django.db.models import QuerySet

from frontdesk.accounts.models import Agent
from frontdesk.core.errors import NotFound
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.selectors import tickets_visible_to

from .models import InboundMessage, OutboundKind, OutboundMessage


def ticket_inbound(*, ticket: Ticket) -> QuerySet[InboundMessage]:
    return InboundMessage.objects.filter(ticket=ticket).order_by("received_at", "id")


def ticket_outbound(*, ticket: Ticket) -> QuerySet[OutboundMessage]:
    """The ticket's mail to customers. Never the email of an agent notification (kind
    ``agent``): it is filed on the ticket only for delivery, is mail to one of our people, and
    an approval request carries the approver's signed link (a credential). Administrators see
    it in the outbox (admin); its delivery events stay on the timeline (recipient and status
    only)."""
    return OutboundMessage.objects.filter(ticket=ticket).exclude(kind=OutboundKind.AGENT).order_by("created_at", "id")


def inbound_get_for_agent(*, agent: Agent, inbound_id: int) -> InboundMessage:
    """An inbound message on a ticket the agent may see; mail that became no ticket (bounces,
    failures) only for administrators."""
    inbound = InboundMessage.objects.filter(pk=inbound_id).first()
    if inbound is None:
        raise NotFound("No such message.")
    if agent.is_admin:
        return inbound
    if inbound.ticket_id and tickets_visible_to(agent=agent).filter(pk=inbound.ticket_id).exists():
        return inbound
    raise NotFound("No such message.")
