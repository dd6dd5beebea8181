"""Permission-aware reads of grants and the ledger, shared by the pages and the API.

An agent sees the grants (and ledger lines) of the tickets they can see; administrators see
all. A customer's gestures are listed in full on the customer's page (so nobody is
compensated twice), with the ticket reference only where the agent can see the ticket.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from frontdesk.accounts.models import Agent
from frontdesk.core.errors import NotFound
from frontdesk.tickets.selectors import tickets_visible_to

from .mandates import may_approve
from .models import Fulfilment, Gesture, Grant, GrantStatus, LedgerEntry


def grants_visible_to(*, agent: Agent) -> QuerySet[Grant]:
    grants = Grant.objects.select_related("gesture", "ticket", "agent", "customer", "decided_by", "group")
    if agent.is_active and agent.is_admin:
        return grants
    return grants.filter(ticket__in=tickets_visible_to(agent=agent))


def grant_get_for_agent(*, agent: Agent, grant_id: int) -> Grant:
    grant = grants_visible_to(agent=agent).filter(pk=grant_id).first()
    if grant is None:
        raise NotFound("No such gesture.")
    return grant


def grants_for_ticket(*, ticket) -> list[Grant]:
    """Callers have already checked that the agent may see ``ticket``."""
    return list(Grant.objects.filter(ticket=ticket).select_related("gesture", "agent", "decided_by"))


def grants_for_customer(*, agent: Agent, customer_id: int) -> list[dict]:
    visible = set(tickets_visible_to(agent=agent).filter(
        pk__in=Grant.objects.filter(customer_id=customer_id).values("ticket_id")).values_list("pk", flat=True))
    return [
        {"grant": g, "ticket_visible": g.ticket_id in visible}
        for g in Grant.objects.filter(customer_id=customer_id).select_related("gesture", "agent", "ticket")
    ]


def approvals_for(*, agent: Agent) -> list[Grant]:
    """Pending requests ``agent`` may decide: not their own, covered by their mandate."""
    pending = grants_visible_to(agent=agent).filter(status=GrantStatus.PENDING_APPROVAL).exclude(agent=agent)
    return [g for g in pending.order_by("requested_at", "id") if may_approve(agent, g.base_value)]


def my_requests(*, agent: Agent) -> list[Grant]:
    return list(Grant.objects.filter(agent=agent, status=GrantStatus.PENDING_APPROVAL)
                .select_related("gesture", "ticket").order_by("requested_at", "id"))


def needs_attention(*, agent: Agent) -> dict[str, list[Grant]]:
    """Failed fulfilments, open manual tasks for the agent (or their groups), overdue approvals."""
    visible = grants_visible_to(agent=agent)
    tasks = Grant.objects.filter(status=GrantStatus.GRANTED, gesture__fulfilment=Fulfilment.MANUAL).select_related(
        "gesture", "ticket", "agent", "customer")
    if not agent.is_admin:
        tasks = tasks.filter(Q(gesture__task_agent=agent) | Q(gesture__task_group__in=agent.groups.all()))
    return {
        "failed": list(visible.filter(status=GrantStatus.FAILED).order_by("requested_at")),
        "tasks": list(tasks.order_by("requested_at", "id")),
        "overdue": list(visible.filter(status=GrantStatus.PENDING_APPROVAL, approval_reminders__gt=0)
                        .order_by("requested_at")),
    }


def ledger_for(*, agent: Agent) -> QuerySet[LedgerEntry]:
    entries = LedgerEntry.objects.select_related("actor_agent", "ticket", "agent")
    if agent.is_active and agent.is_admin:
        return entries
    return entries.filter(ticket__in=tickets_visible_to(agent=agent))


def gestures_offered() -> list[Gesture]:
    return list(Gesture.objects.filter(active=True).order_by("name"))
