"""What a customer sees of their ticket: public messages and a few status events. Never
internal notes, never routing, tags, assignees or other tickets' details."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from frontdesk.tickets.models import Attachment, EventKind, Message, Status, Ticket, TicketEvent, Visibility
from frontdesk.tickets.selectors import ticket_messages

CUSTOMER_STATUS = {
    Status.NEW: "Open",
    Status.OPEN: "Open",
    Status.ON_HOLD: "Open",
    Status.PENDING: "Waiting for your reply",
    Status.SOLVED: "Solved",
    Status.CLOSED: "Closed",
}


@dataclass(frozen=True)
class Entry:
    at: datetime
    message: Message | None = None
    text: str = ""  # for events: what happened, in the customer's words

    @property
    def is_message(self) -> bool:
        return self.message is not None


def _event_text(event: TicketEvent, *, customer_id: int) -> str:
    by_customer = event.actor_customer_id == customer_id
    who = event.actor_agent.name if event.actor_agent_id else "Support"
    if event.kind == EventKind.FOLLOW_UP:
        return f"Continued in a new conversation, {(event.after or {}).get('reference', '')}."
    if event.after == Status.SOLVED:
        return "Solved — confirmed by you." if by_customer else f"{who} marked this as solved."
    if event.after == Status.CLOSED:
        return "Closed."
    if event.after == Status.OPEN and event.before in (Status.SOLVED, Status.CLOSED):
        return "Reopened by you." if by_customer else f"Reopened by {who}."
    return ""


def conversation_entries(*, ticket: Ticket) -> list[Entry]:
    """The public conversation in order: messages and the status changes a customer cares for."""
    entries = [
        Entry(at=message.created_at, message=message)
        for message in ticket_messages(ticket=ticket, include_internal=False)
    ]
    events = ticket.events.filter(kind__in=[EventKind.STATUS, EventKind.FOLLOW_UP]).select_related("actor_agent")
    for event in events:
        if text := _event_text(event, customer_id=ticket.requester_id):
            entries.append(Entry(at=event.created_at, text=text))
    return sorted(entries, key=lambda entry: entry.at)


def public_attachment(*, ticket: Ticket, public_id: str) -> Attachment | None:
    """An attachment of a public message of ``ticket``, or None (also for malformed ids)."""
    try:
        uuid.UUID(public_id)
    except ValueError:
        return None
    return Attachment.objects.filter(
        public_id=public_id, message__ticket=ticket, message__visibility=Visibility.PUBLIC
    ).first()
