"""Many new tickets at once, for channels that receive in bursts (the mail pipeline).

``ticket_create_many`` writes exactly what ``services.ticket_create`` writes for a customer
opening a ticket (the ticket, its ``created`` event, the first message and its
``customer_message`` event, each event handed to its subscribers), with one insert per table
instead of one per row: under SQLite's single write lock, the ORM work per row is what limits
how many tickets a second can be opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from frontdesk.accounts.models import Group
from frontdesk.core.errors import InvalidInput
from frontdesk.core.text import single_line
from frontdesk.customers.models import Customer

from .models import Channel, EventKind, Message, Priority, Status, Ticket, TicketEvent, Visibility
from .services import _bodies


@dataclass
class NewCustomerTicket:
    """A ticket its requester opens with a message without attachments."""

    subject: str
    requester: Customer
    body: str
    body_html: str | None = None
    channel: str = Channel.WEB
    group: Group | None = None


@dataclass
class _Checked:
    subject: str
    text: str
    html: str


def check_new_ticket(draft: NewCustomerTicket) -> _Checked:
    """``ticket_create``'s checks for a customer's own ticket; raises ``InvalidInput``."""
    subject = single_line(draft.subject, max_length=250)
    if not subject:
        raise InvalidInput("A ticket needs a subject.", code="empty_subject")
    if draft.channel not in Channel.values:
        raise InvalidInput(f"Unknown channel {draft.channel!r}.")
    if draft.requester.merged_into_id:
        raise InvalidInput("This customer was merged; use the customer it was merged into.")
    text, html = _bodies(draft.body, draft.body_html)
    return _Checked(subject=subject, text=text, html=html)


@transaction.atomic
def ticket_create_many(*, drafts: Sequence[NewCustomerTicket]) -> list[Ticket]:
    """Open one ticket per draft, in order (all or none: a draft that fails its checks raises
    ``InvalidInput`` before anything is written). Each returned ticket carries its message as
    ``ticket.first_message``, as ``ticket_create`` does."""
    from frontdesk.subscriptions import notify_subscribers

    checked = [check_new_ticket(draft) for draft in drafts]
    if not drafts:
        return []
    now = timezone.now()
    tickets = Ticket.objects.bulk_create([
        Ticket(
            subject=item.subject, requester=draft.requester, organization_id=draft.requester.organization_id,
            status=Status.NEW, priority=Priority.NORMAL, channel=draft.channel, group=draft.group,
            created_at=now, updated_at=now, last_customer_message_at=now,
        )
        for draft, item in zip(drafts, checked, strict=True)
    ])
    messages = Message.objects.bulk_create([
        Message(
            ticket=ticket, visibility=Visibility.PUBLIC, author_customer=draft.requester, channel=draft.channel,
            body_text=item.text, body_html=item.html, created_at=now,
        )
        for ticket, draft, item in zip(tickets, drafts, checked, strict=True)
    ])
    events = []
    for ticket, draft, message in zip(tickets, drafts, messages, strict=True):
        events.append(TicketEvent(
            ticket=ticket, kind=EventKind.CREATED, actor_customer=draft.requester, created_at=now,
            after={"subject": ticket.subject, "status": ticket.status, "priority": ticket.priority,
                   "channel": ticket.channel, "group": draft.group.name if draft.group else None,
                   "assignee": None, "tags": []},
        ))
        events.append(TicketEvent(
            ticket=ticket, kind=EventKind.CUSTOMER_MESSAGE, actor_customer=draft.requester, message=message,
            created_at=now,
        ))
        ticket.first_message = message
    for event in TicketEvent.objects.bulk_create(events):
        # The first message opened the ticket: nothing (a snooze, a scheduled reply) waits on it.
        event.opens_ticket = event.kind == EventKind.CUSTOMER_MESSAGE
        notify_subscribers(event)
    return tickets


def record_events_many(events: Sequence[dict[str, Any]]) -> list[TicketEvent]:
    """``timeline.record_event`` for many events (each a dict of its keyword arguments), one
    insert for all of them; each is handed to its subscribers, in order."""
    from frontdesk.accounts.models import Agent
    from frontdesk.subscriptions import notify_subscribers

    now = timezone.now()
    rows = []
    for item in events:
        actor = item["actor"]
        rows.append(TicketEvent(
            ticket=item["ticket"], kind=item["kind"],
            actor_agent=actor if isinstance(actor, Agent) else None,
            actor_customer=actor if isinstance(actor, Customer) else None,
            actor_system=actor if isinstance(actor, str) else "",
            before=item.get("before"), after=item.get("after"), message=item.get("message"), created_at=now,
        ))
    created = TicketEvent.objects.bulk_create(rows)
    for event in created:
        notify_subscribers(event)
    return created
