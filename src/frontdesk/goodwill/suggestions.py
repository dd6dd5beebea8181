"""Rules that suggest a gesture on a ticket page, each explained in one line.

A rule is a function ``(ticket) -> str | None``: the explanation when it applies. Add one by
appending it to ``RULES`` (SLA breach, incident and bad-rating rules belong with those apps
and are to be added when they land). Each rule reads its own setting; an empty or zero
setting turns it off.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.utils import timezone

from frontdesk.tickets.models import Ticket

from .mandates import month_start


def high_value_plan(ticket: Ticket) -> str | None:
    """FRONTDESK_GOODWILL_HIGH_VALUE_PLANS: plans (customer's or organization's) worth keeping."""
    plans = {p.lower() for p in settings.FRONTDESK_GOODWILL_HIGH_VALUE_PLANS}
    plan = ticket.requester.plan or (ticket.organization.plan if ticket.organization_id else "")
    if plan and plan.lower() in plans:
        return f"suggested because the customer is on the high-value plan “{plan}”"
    return None


def many_tickets_this_month(ticket: Ticket) -> str | None:
    """FRONTDESK_GOODWILL_TICKETS_PER_MONTH: this many tickets in the calendar month or more."""
    threshold = settings.FRONTDESK_GOODWILL_TICKETS_PER_MONTH
    if not threshold:
        return None
    count = Ticket.objects.filter(requester_id=ticket.requester_id,
                                  created_at__gte=month_start(timezone.now())).count()
    if count >= threshold:
        return f"suggested because the customer has opened {count} tickets this month"
    return None


RULES: list[Callable[[Ticket], str | None]] = [high_value_plan, many_tickets_this_month]


def suggestions_for(ticket: Ticket) -> list[str]:
    return [reason for rule in RULES if (reason := rule(ticket))]
