"""Permission-checked reads on incidents, shared by the pages and the API.

Who sees what: every active agent (light agents included) reads every incident — an outage is
company-wide news, and knowing it exists is what stops ten agents answering it ten ways. The
tickets *linked* to an incident are filtered by the ordinary ticket visibility
(`tickets_visible_to`), so an incident never reveals a ticket the agent could not open.
Deactivated accounts see nothing (404, as missing)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from frontdesk.accounts.models import Agent
from frontdesk.core.errors import NotFound
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.selectors import tickets_visible_to

from .models import AffectedCustomer, Incident, IncidentStatus, IncidentTicket


def incidents_visible_to(*, agent: Agent) -> QuerySet[Incident]:
    if not agent.is_active:
        return Incident.objects.none()
    return Incident.objects.all()


def incident_list(*, agent: Agent, status: str = "") -> QuerySet[Incident]:
    """Incidents with their counts (two aggregated subqueries, no query per row); open ones
    first when no status is asked for."""
    incidents = incidents_visible_to(agent=agent).select_related("owner")
    if status == "open":
        incidents = incidents.exclude(status=IncidentStatus.RESOLVED)
    elif status:
        incidents = incidents.filter(status=status)
    return incidents.annotate(
        ticket_count=Count("ticket_links", distinct=True),
        affected_count=Count("affected", distinct=True),
    )


def incident_get_for_agent(*, agent: Agent, incident_id: int) -> Incident:
    incident = incidents_visible_to(agent=agent).select_related("owner", "created_by", "source_ticket").filter(
        pk=incident_id).first()
    if incident is None:
        raise NotFound("No such incident.")
    return incident


def incident_tickets_for_agent(*, agent: Agent, incident: Incident) -> QuerySet[Ticket]:
    """The linked tickets this agent may see, newest link first."""
    return (
        tickets_visible_to(agent=agent)
        .filter(incident_links__incident=incident)
        .select_related("requester", "assignee", "group")
        .order_by("-incident_links__linked_at", "-id")
    )


def incident_links_for_ticket(*, ticket: Ticket) -> list[IncidentTicket]:
    """The incidents a ticket is linked to (the banner): one query."""
    return list(IncidentTicket.objects.filter(ticket=ticket).select_related("incident").order_by("-linked_at"))


def affected_for_incident(*, incident: Incident, query: str = "") -> QuerySet[AffectedCustomer]:
    """Affected customers with companions together (group key, then the order they came in)."""
    rows = AffectedCustomer.objects.filter(incident=incident).select_related("customer", "ticket")
    if query:
        rows = rows.filter(
            Q(customer__name__icontains=query) | Q(customer__contact_points__value__icontains=query)
            | Q(group_key__iexact=query) | Q(external_id__iexact=query)
        ).distinct()
    return rows.order_by("group_key", "id")
