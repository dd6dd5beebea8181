"""Goodwill reports, computed from the ledger: cost by reason, group, agent, plan and month;
budgets used this month; approval times; and the outcome: how customers who got a gesture fared
next to similar customers who did not (satisfaction, coming back)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, F, Sum, When
from django.db.models.functions import TruncMonth

from frontdesk.accounts.models import Agent
from frontdesk.tickets.models import Ticket, TicketEvent

from .mandates import base_currency, budget_for, month_start
from .models import EntryKind, Grant, LedgerEntry

_SIGNED = Case(
    When(kind=EntryKind.REVOKED, then=-F("base_value")), default=F("base_value"),
    output_field=DecimalField(max_digits=14, decimal_places=2),
)


def _money(amount) -> str:
    return str(Decimal(amount or 0).quantize(Decimal("0.01")))


def _by(entries, field: str) -> list[dict]:
    rows = entries.values(field).annotate(total=Sum(_SIGNED), count=Count("id")).order_by("-total")
    return [{"key": row[field] if row[field] is not None else "", "total": _money(row["total"]),
             "count": row["count"]} for row in rows]


def cost_report(*, since: datetime | None = None, until: datetime | None = None) -> dict:
    entries = LedgerEntry.objects.filter(kind__in=[EntryKind.GRANTED, EntryKind.REVOKED])
    if since:
        entries = entries.filter(at__gte=since)
    if until:
        entries = entries.filter(at__lt=until)
    by_month = [
        {"key": row["month"].strftime("%Y-%m"), "total": _money(row["total"]), "count": row["count"]}
        for row in entries.annotate(month=TruncMonth("at")).values("month")
        .annotate(total=Sum(_SIGNED), count=Count("id")).order_by("month")
    ]
    return {
        "currency": base_currency(),
        "total": _money(entries.aggregate(t=Sum(_SIGNED))["t"]),
        "by_reason": _by(entries, "reason"),
        "by_group": _by(entries, "group__name"),
        "by_agent": _by(entries, "agent__name"),
        "by_plan": _by(entries, "customer__plan"),
        "by_month": by_month,
    }


def approval_times() -> dict:
    # Pre-approved grants (``source``, e.g. an incident's) were decided elsewhere, before they
    # were created: counting their zero waits would flatter the figures.
    decided = list(
        Grant.objects.filter(decided_at__isnull=False, source="").values_list("requested_at", "decided_at", "status")
    )
    seconds = sorted((d - r).total_seconds() for r, d, _ in decided)
    median = seconds[len(seconds) // 2] if seconds else None
    return {
        "decided": len(seconds),
        "approved": sum(1 for *_, s in decided if s != "denied"),
        "denied": sum(1 for *_, s in decided if s == "denied"),
        "median_seconds": median,
        "mean_seconds": (sum(seconds) / len(seconds)) if seconds else None,
        "max_seconds": seconds[-1] if seconds else None,
        "pending": Grant.objects.filter(status="pending_approval").count(),
    }


def budgets_used() -> list[dict]:
    start = month_start()
    rows = []
    for agent in Agent.objects.filter(is_active=True).exclude(role="light").order_by("name"):
        budget = budget_for(agent=agent)
        rows.append({
            "agent": agent.name, "spent": str(budget.agent_spent),
            "budget": None if budget.mandate.monthly_budget is None else str(budget.mandate.monthly_budget),
            "mandate": budget.mandate.source, "since": start.isoformat(),
        })
    return rows


def full_report(*, since: datetime | None = None, until: datetime | None = None) -> dict:
    return {"cost": cost_report(since=since, until=until), "budgets": budgets_used(),
            "approval_times": approval_times(), "outcome": outcome_report(since=since, until=until)}


# How the customers who got a gesture fared next to similar customers who did not. Proxies only:
# the latest satisfaction rating of the ticket, and whether they came back (opened another
# ticket within RETURN_WINDOW_DAYS) — engagement, not revenue. "Similar": tickets opened in the
# same period by customers on the same plans, with no gesture. Cohorts are capped for cost.
RETURN_WINDOW_DAYS = 90
COHORT_CAP = 5000


def _cohort(rows: list[tuple[int, int, datetime]]) -> dict:
    """``rows``: (ticket id, requester id, ticket created_at) → the cohort's outcome figures."""
    ticket_ids = [ticket_id for ticket_id, _, _ in rows]
    latest: dict[int, str] = {}
    for ticket_id, after in (
        TicketEvent.objects.filter(kind="satisfaction", ticket_id__in=ticket_ids)
        .order_by("created_at", "id").values_list("ticket_id", "after")
    ):
        if isinstance(after, dict) and after.get("rating") in ("good", "bad"):
            latest[ticket_id] = after["rating"]
    first_seen: dict[int, datetime] = {}
    for _, customer_id, created_at in rows:
        first_seen[customer_id] = min(created_at, first_seen.get(customer_id, created_at))
    came_back = set()
    if first_seen:
        later = Ticket.objects.filter(
            requester_id__in=list(first_seen), created_at__gt=min(first_seen.values())
        ).exclude(pk__in=ticket_ids).values_list("requester_id", "created_at")
        window = timedelta(days=RETURN_WINDOW_DAYS)
        came_back = {c for c, at in later if first_seen[c] < at <= first_seen[c] + window}
    good = sum(1 for rating in latest.values() if rating == "good")
    return {
        "tickets": len(rows), "customers": len(first_seen), "rated": len(latest),
        "good_share": round(good / len(latest), 3) if latest else None,
        "came_back_share": round(len(came_back) / len(first_seen), 3) if first_seen else None,
    }


def outcome_report(*, since: datetime | None = None, until: datetime | None = None) -> dict:
    granted = LedgerEntry.objects.filter(kind=EntryKind.GRANTED)
    if since:
        granted = granted.filter(at__gte=since)
    if until:
        granted = granted.filter(at__lt=until)
    gesture_ids = set(granted.values_list("ticket_id", flat=True)[:COHORT_CAP])
    gesture_rows = list(Ticket.objects.filter(pk__in=gesture_ids).values_list("pk", "requester_id", "created_at"))
    plans = set(Ticket.objects.filter(pk__in=gesture_ids).values_list("requester__plan", flat=True))
    others = Ticket.objects.filter(requester__plan__in=plans).exclude(pk__in=Grant.objects.values("ticket_id")).exclude(
        requester_id__in=Grant.objects.values("customer_id"))
    if gesture_rows:
        others = others.filter(created_at__gte=min(r[2] for r in gesture_rows) - timedelta(days=30))
    comparison_rows = list(others.order_by("-created_at").values_list("pk", "requester_id", "created_at")[:COHORT_CAP])
    return {
        "return_window_days": RETURN_WINDOW_DAYS,
        "with_gesture": _cohort(gesture_rows),
        "without_gesture": _cohort(comparison_rows if gesture_rows else []),
    }
