"""Resolving an incident: a final, personal word to everyone it touched, and the tickets closed off.

``incident_resolve`` sets the status (``ended_at``) and posts the final update as a broadcast
of kind "resolution": the template (apology, what happened, what we changed, the gesture)
is filled per conversation with the customer's name. As each conversation gets it, its
ticket is solved if it is linked to this incident, not excluded by an agent
(``IncidentTicket.exclude_from_solve``), still open, and not linked to another incident that
is still running ("nothing else open"); a solved ticket gets a follow-up check-in.
"""

from __future__ import annotations

from django.db import transaction

from frontdesk.accounts.models import Agent
from frontdesk.accounts.permissions import check_full_agent
from frontdesk.core.errors import Conflict
from frontdesk.followups.services import check_in_schedule_after_solve
from frontdesk.tickets.models import Status, Ticket
from frontdesk.tickets.services import ticket_set_status

from .broadcasts import clean_body, start_fan_out
from .models import Broadcast, BroadcastKind, GestureState, Incident, IncidentGesture, IncidentStatus, IncidentTicket

DEFAULT_TEMPLATE = (
    "Hello {name},\n\n"
    "{title} ({reference}) is resolved. We are sorry for the trouble it caused you.\n\n"
    "What happened: {what_happened}\n\n"
    "What we changed: {what_changed}\n"
    "{gesture_line}\n"
    "If anything is still not working for you, just reply to this message."
)
GESTURE_LINE = "\nTo make up for it, we are offering you {gesture}.\n"
OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)


class _Keep(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@transaction.atomic
def incident_resolve(
    *, incident: Incident, actor: Agent, what_happened: str, what_changed: str, template: str = "",
    on_status_page: bool | None = None,
) -> Broadcast:
    """Resolve ``incident`` and send the final update (see the module). ``template`` replaces the
    default text; it may use {name} {title} {reference} {what_happened} {what_changed} {gesture}."""
    from .services import incident_set_status

    check_full_agent(actor)
    what_happened = clean_body(what_happened, field="'What happened'")
    what_changed = clean_body(what_changed, field="'What we changed'")
    template = clean_body(template, field="The message") if template.strip() else DEFAULT_TEMPLATE
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.status == IncidentStatus.RESOLVED:
        raise Conflict("This incident is already resolved.", code="incident_resolved")
    has_gesture = IncidentGesture.objects.filter(
        incident=incident, state__in=[GestureState.PROPOSED, GestureState.APPROVED]).exists()
    # The incident-wide parts are filled now; {name} and {gesture} per conversation.
    body = template.format_map(_Keep(
        what_happened=what_happened, what_changed=what_changed,
        gesture_line=GESTURE_LINE if has_gesture else "",
    ))
    incident = incident_set_status(incident=incident, actor=actor, status=IncidentStatus.RESOLVED)
    broadcast = Broadcast.objects.create(
        incident=incident, kind=BroadcastKind.RESOLUTION, body=body,
        public_text=f"Resolved. {what_happened}\n\n{what_changed}", status_after=IncidentStatus.RESOLVED,
        on_status_page=incident.on_status_page if on_status_page is None else on_status_page, created_by=actor,
    )
    start_fan_out(broadcast)
    return broadcast


def solve_if_done(*, ticket: Ticket, incident: Incident, actor: Agent) -> bool:
    """Inside the caller's transaction: solve ``ticket`` if the incident was all it was about
    (see the module); schedule the check-in. Returns whether it was solved."""
    link = IncidentTicket.objects.filter(incident=incident, ticket=ticket).first()
    if link is None or link.exclude_from_solve:
        return False
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.status not in OPEN_STATUSES or ticket.merged_into_id:
        return False
    if IncidentTicket.objects.filter(ticket=ticket).exclude(incident=incident).exclude(
            incident__status=IncidentStatus.RESOLVED).exists():
        return False
    ticket_set_status(ticket=ticket, actor=actor, status=Status.SOLVED)
    check_in_schedule_after_solve(ticket=ticket)
    return True
