"""Permission-checked reads on SLA data, shared by the workspace pages and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from frontdesk.accounts.models import Agent
from frontdesk.accounts.permissions import check_admin, check_full_agent
from frontdesk.core.errors import NotFound
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.selectors import ticket_get_for_agent

from .engine import consumed_at
from .models import ExpediteCharge, SlaPolicy, SlaTimer, TicketSla, TimerState


@dataclass(frozen=True)
class TimerView:
    """One timer as the ticket page shows it."""

    timer: SlaTimer
    label: str
    status: str  # running | paused | overdue | met | missed | stopped
    seconds_left: int | None  # wall-clock seconds to the due time while running (negative: overdue)
    used_minutes: int  # business minutes used so far


def _status(timer: SlaTimer, now: datetime) -> str:
    if timer.state == TimerState.SATISFIED:
        return "missed" if timer.breached_at else "met"
    if timer.state == TimerState.STOPPED:
        return "stopped"
    if timer.state == TimerState.PAUSED:
        return "paused"
    return "overdue" if timer.breached_at or (timer.due_at and timer.due_at <= now) else "running"


def ticket_sla_for_agent(*, agent: Agent, reference: str) -> tuple[Ticket, TicketSla | None, list[TimerView]]:
    """The ticket (404 when hidden), its SLA state and every timer, newest cycle last."""
    ticket = ticket_get_for_agent(agent=agent, reference=reference)
    state = TicketSla.objects.select_related("policy").filter(ticket=ticket).first()
    now = timezone.now()
    views = []
    for timer in SlaTimer.objects.filter(ticket=ticket).select_related("calendar").order_by("started_at", "id"):
        seconds = int((timer.due_at - now).total_seconds()) if timer.state == TimerState.RUNNING and timer.due_at \
            else None
        label = timer.get_metric_display() + (f" #{timer.cycle - 1}" if timer.metric == "next_response" else "")
        views.append(TimerView(timer=timer, label=label, status=_status(timer, now), seconds_left=seconds,
                               used_minutes=consumed_at(timer, now)))
    return ticket, state, views


def ticket_timers(*, ticket: Ticket) -> QuerySet[SlaTimer]:
    return SlaTimer.objects.filter(ticket=ticket).order_by("started_at", "id")


def policy_list() -> QuerySet[SlaPolicy]:
    return SlaPolicy.objects.select_related("calendar", "expedite_group").order_by("is_default", "position", "id")


def policy_get(*, policy_id: int) -> SlaPolicy:
    policy = policy_list().filter(pk=policy_id).first()
    if policy is None:
        raise NotFound("No such policy.")
    return policy


def expedite_charges(*, agent: Agent, start: datetime | None = None, end: datetime | None = None
                     ) -> QuerySet[ExpediteCharge]:
    """Billing rows of expedited tickets, oldest first: administrators only."""
    check_admin(agent)
    charges = ExpediteCharge.objects.select_related("ticket", "customer", "organization").order_by("created_at", "id")
    if start:
        charges = charges.filter(created_at__gte=start)
    if end:
        charges = charges.filter(created_at__lt=end)
    return charges


def check_can_expedite(*, agent: Agent, reference: str) -> Ticket:
    ticket = ticket_get_for_agent(agent=agent, reference=reference)
    check_full_agent(agent)
    return ticket
