"""Permission-checked reads on incidents, shared by the pages and the API.

Who sees what: every active agent (light agents included) reads every incident — an outage is
company-wide news, and knowing it exists is what stops ten agents answering it ten ways. The
tickets *linked* to an incident are filtered by the ordinary ticket visibility
(`tickets_visible_to`), so an incident never reveals a ticket the agent could not open.
Deactivated accounts see nothing (404, as missing)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, Count, Exists, OuterRef, Q, QuerySet, Subquery, Value, When

from frontdesk.accounts.models import Agent
from frontdesk.core.errors import InvalidInput, NotFound
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.selectors import tickets_visible_to

from .models import AffectedCustomer, AffectedImport, Incident, IncidentStatus, IncidentTicket


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


def incident_owner_get(*, owner_id: int) -> Agent:
    """The agent to own an incident: an active one, or ``InvalidInput``."""
    owner = Agent.objects.filter(pk=owner_id, is_active=True).first()
    if owner is None:
        raise InvalidInput("Choose an active agent as owner.", code="invalid_owner")
    return owner


def import_job_get(*, incident: Incident, public_id) -> AffectedImport:
    """A CSV upload of ``incident`` (the caller has checked the incident), or ``NotFound``."""
    job = AffectedImport.objects.filter(incident=incident, public_id=public_id).select_related("uploaded_by").first()
    if job is None:
        raise NotFound("No such import.")
    return job


def incident_get_for_agent(*, agent: Agent, incident_id: int) -> Incident:
    incident = incidents_visible_to(agent=agent).select_related("owner", "created_by", "source_ticket").filter(
        pk=incident_id).first()
    if incident is None:
        raise NotFound("No such incident.")
    return incident


def incident_tickets_for_agent(*, agent: Agent, incident: Incident) -> QuerySet[Ticket]:
    """The linked tickets this agent may see, newest link first, each with its link's
    ``exclude_from_solve`` and ``linked_at``."""
    link = IncidentTicket.objects.filter(incident=incident, ticket=OuterRef("pk"))
    return (
        tickets_visible_to(agent=agent)
        .filter(Exists(link))
        .annotate(exclude_from_solve=Subquery(link.values("exclude_from_solve")[:1]),
                  linked_at=Subquery(link.values("linked_at")[:1]))
        .select_related("requester", "assignee", "group")
        .order_by("-linked_at", "-id")
    )


def incident_links_for_ticket(*, ticket: Ticket) -> list[IncidentTicket]:
    """The incidents a ticket is linked to (the banner): one query."""
    return list(IncidentTicket.objects.filter(ticket=ticket).select_related("incident").order_by("-linked_at"))


def affected_for_incident(*, incident: Incident, query: str = "") -> QuerySet[AffectedCustomer]:
    """Affected customers, companions together: rows sharing a group key in a block (by key),
    customers without one after them, each in the order they came in."""
    rows = AffectedCustomer.objects.filter(incident=incident)
    if query := query.strip():
        rows = rows.filter(
            Q(customer__name__icontains=query) | Q(customer__contact_points__value__icontains=query.lower())
            | Q(group_key__iexact=query) | Q(external_id__iexact=query)
        ).distinct()
    return (rows.select_related("customer").prefetch_related("customer__contact_points")
            .annotate(ungrouped=Case(When(group_key="", then=Value(1)), default=Value(0)))
            .order_by("ungrouped", "group_key", "id"))


@dataclass(frozen=True)
class AffectedView:
    row: AffectedCustomer
    ticket_reference: str  # the conversation ticket, when this agent may open it
    has_ticket: bool
    notified: str  # "" = not yet
    gesture: str  # "" = none


def reach_status(rows: list[AffectedCustomer]) -> dict[int, tuple[str, str]]:
    """Per affected row: (notified, gesture received), as short texts; "" when nothing yet.
    The `reach` side (broadcast deliveries, the incident's goodwill grants) fills this in."""
    from .reports import reach_status as from_deliveries

    return from_deliveries(rows)


def affected_views(*, agent: Agent, rows: list[AffectedCustomer]) -> list[AffectedView]:
    """What the list shows per row, in a fixed number of queries for the page."""
    ticket_ids = {row.ticket_id for row in rows if row.ticket_id}
    visible = dict(tickets_visible_to(agent=agent).filter(pk__in=ticket_ids).values_list("pk", "reference")) \
        if ticket_ids else {}
    status = reach_status(rows)
    return [
        AffectedView(row=row, ticket_reference=visible.get(row.ticket_id, ""), has_ticket=bool(row.ticket_id),
                     notified=status.get(row.pk, ("", ""))[0], gesture=status.get(row.pk, ("", ""))[1])
        for row in rows
    ]
