"""Recording timeline events, and handing them to the apps that subscribe to them."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from frontdesk.accounts.models import Agent
from frontdesk.customers.models import Customer

from .models import Message, Ticket, TicketEvent

# Who acted: an agent, a customer, or the name of a system component ("scheduler").
Actor = Agent | Customer | str


def record_event(
    *,
    ticket: Ticket,
    kind: str,
    actor: Actor,
    before: Any = None,
    after: Any = None,
    message: Message | None = None,
) -> TicketEvent:
    """Write one timeline event. Callers hold the transaction of the change it describes."""
    event = TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        actor_agent=actor if isinstance(actor, Agent) else None,
        actor_customer=actor if isinstance(actor, Customer) else None,
        actor_system=actor if isinstance(actor, str) else "",
        before=before,
        after=after,
        message=message,
        created_at=timezone.now(),
    )
    from frontdesk.subscriptions import notify_subscribers

    notify_subscribers(event)
    return event
