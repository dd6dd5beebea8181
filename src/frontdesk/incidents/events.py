"""What an incident writes into a ticket's timeline and into its own history.

Ticket timelines get one ``incident`` event per change that concerns that ticket, with the
payload the contract fixes (``after`` always holds incident, reference, title, severity,
status, action, summary; "update" adds "broadcast"). Both incidents modules (core and reach)
write them through ``record_incident_event`` so the payload cannot drift."""

from __future__ import annotations

from typing import Any

from frontdesk.accounts.models import Agent
from frontdesk.tickets.models import EventKind, Ticket, TicketEvent
from frontdesk.tickets.timeline import Actor, record_event

from .models import ActivityKind, Incident, IncidentActivity

ACTIONS = ("linked", "unlinked", "update", "resolved")


def incident_event_payload(*, incident: Incident, action: str, summary: str, **extra: Any) -> dict:
    if action not in ACTIONS:
        raise ValueError(f"unknown incident action {action!r}")
    return {
        "incident": incident.pk, "reference": incident.reference, "title": incident.title,
        "severity": incident.severity, "status": incident.status, "action": action, "summary": summary,
        **extra,
    }


def record_incident_event(
    *, ticket: Ticket, incident: Incident, actor: Actor, action: str, summary: str, **extra: Any,
) -> TicketEvent:
    """One ``incident`` event on ``ticket``. Callers hold the transaction of the change."""
    return record_event(
        ticket=ticket, kind=EventKind.INCIDENT, actor=actor,
        after=incident_event_payload(incident=incident, action=action, summary=summary, **extra),
    )


def record_activity(
    *, incident: Incident, kind: ActivityKind, actor: Agent | None, summary: str, **data: Any,
) -> IncidentActivity:
    return IncidentActivity.objects.create(
        incident=incident, kind=kind, actor=actor if isinstance(actor, Agent) else None,
        summary=summary[:300], data=data,
    )
