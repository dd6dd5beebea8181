"""Goodwill reports, computed from the ledger: cost by reason, group, agent, plan and month;
budgets used this month; approval times. (Outcome comparisons — satisfaction and retention of
customers who got a gesture versus similar ones who did not — are not built yet.)"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, F, Sum, When
from django.db.models.functions import TruncMonth

from frontdesk.accounts.models import Agent

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
    decided = list(
        Grant.objects.filter(decided_at__isnull=False).values_list("requested_at", "decided_at", "status")
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
            "approval_times": approval_times()}
