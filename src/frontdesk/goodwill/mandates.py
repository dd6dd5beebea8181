"""Currencies, effective mandates and budgets (all computed from the ledger, never stored).

Effective mandate of an agent — **the most specific one wins**:
1. a mandate held by the agent personally;
2. else the most generous (highest ``max_per_gesture`` in the base currency) of the mandates
   of the agent's groups;
3. else the mandate of the agent's role;
4. else none: every gesture needs an approval. Light agents never grant anything.

A specific mandate may be smaller than a general one: that is how a new agent is held back.

Budgets (per calendar month, UTC) are sums of ``base_value`` over ``granted`` ledger entries
minus ``revoked`` ones: per agent (the agent's own monthly budget), per group (the group's
shared monthly budget, charged to the grant's group), per customer (``max_per_customer`` over
the last ``customer_period_days``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Case, DecimalField, F, Sum, Value, When
from django.utils import timezone

from frontdesk.accounts.models import Agent, Group
from frontdesk.core.errors import InvalidInput

from .models import EntryKind, ExchangeRate, LedgerEntry, Mandate

CENT = Decimal("0.01")


def base_currency() -> str:
    return settings.FRONTDESK_GOODWILL_BASE_CURRENCY


def known_currencies() -> list[str]:
    return sorted({base_currency(), *ExchangeRate.objects.values_list("currency", flat=True)})


def to_base(amount: Decimal, currency: str) -> Decimal:
    """``amount`` in ``currency`` → the base currency; unknown currency → ``InvalidInput``."""
    currency = (currency or "").upper()
    if currency == base_currency():
        return Decimal(amount).quantize(CENT, ROUND_HALF_UP)
    rate = ExchangeRate.objects.filter(currency=currency).values_list("rate", flat=True).first()
    if rate is None:
        raise InvalidInput(
            f"Unknown currency {currency!r}; configure its exchange rate first.", code="unknown_currency"
        )
    return (Decimal(amount) * rate).quantize(CENT, ROUND_HALF_UP)


def from_base(amount: Decimal, currency: str) -> Decimal:
    currency = currency.upper()
    if currency == base_currency():
        return amount
    rate = ExchangeRate.objects.get(currency=currency).rate
    return (amount / rate).quantize(CENT, ROUND_HALF_UP)


def month_start(now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class EffectiveMandate:
    """A mandate with its amounts in the base currency (``None``: no limit of that kind)."""

    mandate: Mandate | None
    source: str
    max_per_gesture: Decimal
    max_per_customer: Decimal | None
    customer_period_days: int
    monthly_budget: Decimal | None

    @property
    def grants_nothing(self) -> bool:
        return self.mandate is None


NO_MANDATE = EffectiveMandate(None, "none", Decimal("0"), None, 30, Decimal("0"))


def _convert(mandate: Mandate, amount: Decimal | None) -> Decimal | None:
    return None if amount is None else to_base(amount, mandate.currency)


def _effective(mandate: Mandate, source: str) -> EffectiveMandate:
    return EffectiveMandate(
        mandate=mandate, source=source,
        max_per_gesture=to_base(mandate.max_per_gesture, mandate.currency),
        max_per_customer=_convert(mandate, mandate.max_per_customer),
        customer_period_days=mandate.customer_period_days,
        monthly_budget=_convert(mandate, mandate.monthly_budget),
    )


def effective_mandate(agent: Agent) -> EffectiveMandate:
    """The mandate that applies to ``agent`` (see the module docstring for the rule)."""
    if not agent.is_active or agent.is_light:
        return NO_MANDATE
    own = Mandate.objects.filter(agent=agent).first()
    if own is not None:
        return _effective(own, "agent")
    group_mandates = [_effective(m, "group") for m in Mandate.objects.filter(group__in=agent.groups.all())]
    if group_mandates:
        return max(group_mandates, key=lambda m: m.max_per_gesture)
    role = Mandate.objects.filter(role=agent.role).first()
    if role is not None:
        return _effective(role, "role")
    return NO_MANDATE


def charged_group(*, agent: Agent, ticket) -> Group | None:
    """The group whose shared budget a grant counts against: the ticket's group when the agent
    belongs to it, else the agent's first group (by name), else none."""
    groups = list(agent.groups.order_by("name", "id"))
    if ticket.group_id and any(g.pk == ticket.group_id for g in groups):
        return next(g for g in groups if g.pk == ticket.group_id)
    return groups[0] if groups else None


def group_budget(group: Group | None) -> Decimal | None:
    if group is None:
        return None
    mandate = Mandate.objects.filter(group=group).first()
    if mandate is None or mandate.group_monthly_budget is None:
        return None
    return to_base(mandate.group_monthly_budget, mandate.currency)


_SIGNED = Case(
    When(kind=EntryKind.REVOKED, then=-F("base_value")),
    default=F("base_value"),
    output_field=DecimalField(max_digits=14, decimal_places=2),
)


def spent(*, since: datetime, **filters) -> Decimal:
    """Granted minus revoked (base currency) since ``since`` for ledger entries matching
    ``filters`` (``agent=…``, ``group=…``, ``customer=…``)."""
    total = (
        LedgerEntry.objects.filter(at__gte=since, kind__in=[EntryKind.GRANTED, EntryKind.REVOKED], **filters)
        .aggregate(total=Sum(_SIGNED, default=Value(Decimal("0"))))["total"]
    )
    return Decimal(total or 0).quantize(CENT)


@dataclass(frozen=True)
class Budget:
    currency: str
    mandate: EffectiveMandate
    agent_spent: Decimal
    agent_remaining: Decimal | None
    group: Group | None
    group_budget: Decimal | None
    group_spent: Decimal
    group_remaining: Decimal | None


def budget_for(*, agent: Agent, ticket=None, now: datetime | None = None) -> Budget:
    """What ``agent`` has spent and has left this month (base currency)."""
    start = month_start(now)
    mandate = effective_mandate(agent)
    agent_spent = spent(since=start, agent=agent)
    group = charged_group(agent=agent, ticket=ticket) if ticket is not None else (
        agent.groups.order_by("name", "id").first()
    )
    g_budget = group_budget(group)
    g_spent = spent(since=start, group=group) if group is not None else Decimal("0")
    return Budget(
        currency=base_currency(), mandate=mandate, agent_spent=agent_spent,
        agent_remaining=(
            None if mandate.monthly_budget is None else max(mandate.monthly_budget - agent_spent, Decimal("0"))
        ),
        group=group, group_budget=g_budget, group_spent=g_spent,
        group_remaining=None if g_budget is None else max(g_budget - g_spent, Decimal("0")),
    )


def mandate_refusal(
    *, mandate: EffectiveMandate, agent: Agent, customer, group: Group | None, base_value: Decimal,
    now: datetime | None = None,
) -> str | None:
    """Why ``base_value`` is beyond the mandate (one line), or ``None`` when it is within.
    Callers that act on the answer hold the budget locks (``services._lock_budgets``)."""
    now = now or timezone.now()
    if mandate.grants_nothing:
        return "you have no mandate for gestures"
    if base_value > mandate.max_per_gesture:
        return f"above your limit of {mandate.max_per_gesture} {base_currency()} per gesture"
    start = month_start(now)
    if mandate.monthly_budget is not None:
        used = spent(since=start, agent=agent)
        if used + base_value > mandate.monthly_budget:
            return f"beyond your monthly budget ({used} of {mandate.monthly_budget} {base_currency()} used)"
    g_budget = group_budget(group)
    if g_budget is not None:
        used = spent(since=start, group=group)
        if used + base_value > g_budget:
            return f"beyond {group.name}'s monthly budget ({used} of {g_budget} {base_currency()} used)"
    if mandate.max_per_customer is not None:
        used = spent(since=now - timedelta(days=mandate.customer_period_days), customer=customer)
        if used + base_value > mandate.max_per_customer:
            return (f"beyond {mandate.max_per_customer} {base_currency()} per customer in "
                    f"{mandate.customer_period_days} days ({used} already given)")
    return None


def mandate_covers_total(*, agent: Agent, base_value: Decimal, now: datetime | None = None) -> str | None:
    """``None`` when ``agent`` may approve one total of ``base_value`` (base currency) at once —
    e.g. an incident's gesture × its affected customers — else why not (one line).

    Covered means: an active full agent whose effective mandate allows ``base_value`` per
    gesture and, where the mandate has a monthly budget, has that much of it left (also of
    their first group's shared budget, which pre-approved grants are charged to);
    administrators approve anything, as with ``may_approve``."""
    if not agent.is_active or agent.is_light:
        return "a light or inactive agent cannot approve gestures"
    if agent.is_admin:
        return None
    mandate = effective_mandate(agent)
    if mandate.grants_nothing:
        return "you have no mandate for gestures"
    if base_value > mandate.max_per_gesture:
        return f"the total of {base_value} {base_currency()} is above your limit of {mandate.max_per_gesture}"
    budget = budget_for(agent=agent, now=now)
    if budget.agent_remaining is not None and base_value > budget.agent_remaining:
        return (f"the total of {base_value} {base_currency()} is beyond what is left of your monthly "
                f"budget ({budget.agent_remaining})")
    if budget.group_remaining is not None and base_value > budget.group_remaining:
        return (f"the total of {base_value} {base_currency()} is beyond what is left of {budget.group.name}'s "
                f"monthly budget ({budget.group_remaining})")
    return None


def may_approve(agent: Agent, base_value: Decimal) -> bool:
    """Administrators, and full agents whose effective mandate covers ``base_value``."""
    if not agent.is_active or agent.is_light:
        return False
    if agent.is_admin:
        return True
    mandate = effective_mandate(agent)
    return not mandate.grants_nothing and mandate.max_per_gesture >= base_value


def approvers_for(*, base_value: Decimal, exclude: Agent, ticket) -> list[Agent]:
    """Who is asked to approve: active full agents other than ``exclude`` who can see the ticket
    and whose mandate covers ``base_value``; when there is nobody, the administrators."""
    from frontdesk.tickets.selectors import tickets_visible_to

    candidates = Agent.objects.filter(is_active=True).exclude(role="light").exclude(pk=exclude.pk)
    covering = [
        a for a in candidates if not a.is_admin and may_approve(a, base_value)
        and tickets_visible_to(agent=a).filter(pk=ticket.pk).exists()
    ]
    return covering or list(candidates.filter(role="admin"))
