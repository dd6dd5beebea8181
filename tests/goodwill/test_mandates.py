"""The effective mandate (most specific wins) and budgets computed from the ledger."""

from __future__ import annotations

from decimal import Decimal

import pytest
import time_machine

from frontdesk.accounts.services import agent_create, group_get_or_create
from frontdesk.goodwill.mandates import budget_for, effective_mandate
from frontdesk.goodwill.models import GrantStatus, Mandate
from frontdesk.goodwill.services import gesture_approve, gesture_grant, gesture_revoke

pytestmark = pytest.mark.django_db


def test_it_prefers_the_agents_own_mandate_over_groups_and_role(agent, support, agent_mandate):
    Mandate.objects.create(group=support, currency="EUR", max_per_gesture=Decimal("80"))
    assert effective_mandate(agent).source == "group"
    Mandate.objects.create(agent=agent, currency="EUR", max_per_gesture=Decimal("20"))
    mandate = effective_mandate(agent)
    assert mandate.source == "agent" and mandate.max_per_gesture == Decimal("20")


def test_it_takes_the_most_generous_group_mandate(agent, support, agent_mandate):
    other = group_get_or_create(name="VIP", tier=2)
    agent.groups.add(other)
    Mandate.objects.create(group=support, currency="EUR", max_per_gesture=Decimal("80"))
    Mandate.objects.create(group=other, currency="USD", max_per_gesture=Decimal("100"))  # 90 EUR
    assert effective_mandate(agent).max_per_gesture == Decimal("90.00")


def test_it_falls_back_to_the_role_then_to_nothing(agent, agent_mandate, admin):
    assert effective_mandate(agent).source == "role"
    assert effective_mandate(admin).grants_nothing


def test_light_agents_never_have_a_mandate(light, support):
    Mandate.objects.create(group=support, currency="EUR", max_per_gesture=Decimal("80"))
    assert effective_mandate(light).grants_nothing


def test_it_shows_the_remaining_budget_and_frees_revoked_amounts(ticket, agent, admin, agent_mandate, credit):
    g = gesture_grant(ticket=ticket, agent=agent, gesture=credit, value="30", currency="EUR", reason="delay")
    budget = budget_for(agent=agent, ticket=ticket)
    assert (budget.agent_spent, budget.agent_remaining) == (Decimal("30.00"), Decimal("70.00"))
    gesture_revoke(grant=g, agent=admin)
    assert budget_for(agent=agent, ticket=ticket).agent_remaining == Decimal("100.00")


def test_it_starts_a_new_budget_each_month(ticket, agent, agent_mandate, credit):
    with time_machine.travel("2031-01-20 10:00Z", tick=False):
        gesture_grant(ticket=ticket, agent=agent, gesture=credit, value="40", currency="EUR", reason="delay")
        assert budget_for(agent=agent).agent_remaining == Decimal("60.00")
    with time_machine.travel("2031-02-02 10:00Z", tick=False):
        assert budget_for(agent=agent).agent_remaining == Decimal("100.00")


def test_a_group_budget_binds_everyone_in_the_group(ticket, agent, supervisor, support, credit):
    Mandate.objects.filter(agent=supervisor).update(max_per_gesture=Decimal("500"))
    Mandate.objects.create(group=support, currency="EUR", max_per_gesture=Decimal("100"),
                           group_monthly_budget=Decimal("60"))
    first = gesture_grant(ticket=ticket, agent=supervisor, gesture=credit, value="50", currency="EUR", reason="delay")
    assert first.status == GrantStatus.GRANTED
    second = gesture_grant(ticket=ticket, agent=supervisor, gesture=credit, value="20", currency="EUR",
                           reason="delay")
    assert second.status == GrantStatus.PENDING_APPROVAL
    assert "Support's monthly budget" in second.entries.get().detail


def test_an_approved_gesture_counts_against_the_requesters_budget(ticket, agent, supervisor, credit):
    g = gesture_grant(ticket=ticket, agent=agent, gesture=credit, value="70", currency="EUR", reason="outage")
    gesture_approve(grant=g, agent=supervisor)
    assert budget_for(agent=agent).agent_spent == Decimal("70.00")
    assert budget_for(agent=supervisor).agent_spent == Decimal("0.00")


def test_a_mandate_in_another_currency_is_converted(db, support):
    person = agent_create(email="us@example.com", name="US", group_names=["Support"])
    from frontdesk.goodwill.models import ExchangeRate

    ExchangeRate.objects.create(currency="GBP", rate=Decimal("1.20"))
    Mandate.objects.create(agent=person, currency="GBP", max_per_gesture=Decimal("100"), monthly_budget=Decimal("10"))
    mandate = effective_mandate(person)
    assert (mandate.max_per_gesture, mandate.monthly_budget) == (Decimal("120.00"), Decimal("12.00"))
