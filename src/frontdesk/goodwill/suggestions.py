"""Rules that suggest a gesture on a ticket page, each explained in one line.

A rule is a function ``(ticket) -> str | None``: the explanation when it applies. Add one by
appending it to ``RULES``. Rules about other apps read the ticket's timeline (the SLA app's
``sla`` events, the satisfaction app's ``satisfaction`` events, the incidents app's
``incident`` events), so goodwill imports none of them.
Each rule reads its own setting, if it has one; an empty or zero setting turns it off.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

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


METRIC_NAMES = {"first_response": "first response", "next_response": "reply", "resolution": "resolution"}


def _hours(delta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} h" if hours >= 1 else f"{max(1, round(hours * 60))} min"


def sla_target_missed(ticket: Ticket) -> str | None:
    """A response or resolution target of this ticket was missed: how late (until it was met, or now)."""
    events = list(ticket.events.filter(kind="sla").order_by("created_at", "id").values_list("after", "created_at"))
    for position, (after, _) in enumerate(events):
        if not isinstance(after, dict) or after.get("action") != "breached":
            continue
        metric = after.get("metric", "")
        due = parse_datetime(str(after.get("due_at") or ""))
        met = next((at for later, at in events[position + 1:]
                    if isinstance(later, dict) and later.get("action") == "satisfied"
                    and any(isinstance(m, dict) and m.get("metric") == metric for m in later.get("metrics") or [])),
                   None)
        name = METRIC_NAMES.get(metric, "response")
        if due is None:
            return f"suggested because the {name} target was missed"
        return f"suggested because the {name} was {_hours((met or timezone.now()) - due)} late"
    return None


def bad_rating(ticket: Ticket) -> str | None:
    """The customer's current satisfaction rating of this ticket is Bad."""
    latest = ticket.events.filter(kind="satisfaction").order_by("-created_at", "-id").values_list("after", flat=True)
    after = next(iter(latest), None)
    if not isinstance(after, dict) or after.get("rating") != "bad":
        return None
    comment = " ".join(str(after.get("comment") or "").split())
    quoted = f": “{comment[:80]}{'…' if len(comment) > 80 else ''}”" if comment else ""
    return f"suggested because the customer rated this conversation Bad{quoted}"


def linked_incident(ticket: Ticket) -> str | None:
    """FRONTDESK_GOODWILL_INCIDENT_SEVERITIES: the ticket is linked to an incident of one of these
    severities. Reads the ``incident`` events (the incidents contract: ``after`` has incident,
    reference, title, severity, status, action): an incident counts from its ``linked`` event
    until a later ``unlinked`` one; later events (updates, resolved) carry its current title and
    severity. With several linked incidents, the one with the latest event is named."""
    severities = set(settings.FRONTDESK_GOODWILL_INCIDENT_SEVERITIES)
    if not severities:
        return None
    linked: dict[object, dict] = {}
    for after in ticket.events.filter(kind="incident").order_by("created_at", "id").values_list("after", flat=True):
        if not isinstance(after, dict) or after.get("incident") is None:
            continue
        key, action = after["incident"], after.get("action")
        if action == "unlinked":
            linked.pop(key, None)
        elif action == "linked" or key in linked:
            linked.pop(key, None)  # re-inserted last: the most recently heard of
            linked[key] = after
    for after in reversed(linked.values()):
        severity = str(after.get("severity") or "").lower()
        if severity in severities:
            name = " ".join(str(part).strip() for part in (
                after.get("reference") or f"INC-{after['incident']}", after.get("title") or "") if str(part).strip())
            return f"suggested because this ticket is linked to {name} ({severity})"
    return None


RULES: list[Callable[[Ticket], str | None]] = [
    high_value_plan, many_tickets_this_month, sla_target_missed, bad_rating, linked_incident,
]


def suggestions_for(ticket: Ticket) -> list[str]:
    return [reason for rule in RULES if (reason := rule(ticket))]
