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
    event = new_event(ticket=ticket, kind=kind, actor=actor, before=before, after=after, message=message)
    event.save()
    from frontdesk.subscriptions import notify_subscribers

    notify_subscribers(event)
    return event


def new_event(*, ticket: Ticket, kind: str, actor: Actor, before: Any = None, after: Any = None,
              message: Message | None = None) -> TicketEvent:
    """An unsaved event, for ``record_events``."""
    return TicketEvent(
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


def record_events(events: list[TicketEvent]) -> list[TicketEvent]:
    """``record_event`` for several events of one change (``new_event``): one insert, and one
    task per subscriber for all of them (``subscriptions.batched``: SLA gets one for the
    ticket, not one per event). Callers hold the transaction of the change."""
    from frontdesk.subscriptions import batched, notify_subscribers

    saved = TicketEvent.objects.bulk_create(events)
    with batched():
        for event in saved:
            notify_subscribers(event)
    return saved
