"""``mandate_covers_total``: may this agent approve one total at once (an incident's gesture ×
its affected customers)?"""

from __future__ import annotations

from decimal import Decimal

import pytest

from frontdesk.accounts.services import agent_create
from frontdesk.goodwill.mandates import mandate_covers_total
from frontdesk.goodwill.models import Mandate
from frontdesk.goodwill.services import gesture_grant

pytestmark = pytest.mark.django_db


def test_it_covers_a_total_within_the_limit_and_the_budget(agent, agent_mandate):
    assert mandate_covers_total(agent=agent, base_value=Decimal("50")) is None


def test_it_refuses_a_total_above_the_limit_per_gesture(agent, agent_mandate):
    refusal = mandate_covers_total(agent=agent, base_value=Decimal("50.01"))
    assert refusal == "the total of 50.01 EUR is above your limit of 50.00"


def test_it_refuses_a_total_beyond_the_remaining_monthly_budget(ticket, agent, agent_mandate, credit):
    gesture_grant(ticket=ticket, agent=agent, gesture=credit, value="40", currency="EUR", reason="delay")
    gesture_grant(ticket=ticket, agent=agent, gesture=credit, value="30", currency="EUR", reason="delay")
    assert mandate_covers_total(agent=agent, base_value=Decimal("30")) is None
    refusal = mandate_covers_total(agent=agent, base_value=Decimal("31"))
    assert "left of your monthly budget (30.00)" in refusal


def test_it_refuses_a_total_beyond_the_groups_remaining_budget(support, agent):
    Mandate.objects.create(group=support, currency="EUR", max_per_gesture=Decimal("500"),
                           group_monthly_budget=Decimal("100"))
    assert mandate_covers_total(agent=agent, base_value=Decimal("100")) is None
    assert "Support's monthly budget" in mandate_covers_total(agent=agent, base_value=Decimal("101"))


def test_a_mandate_without_a_budget_is_limited_only_per_gesture(supervisor):
    assert mandate_covers_total(agent=supervisor, base_value=Decimal("500")) is None
    assert mandate_covers_total(agent=supervisor, base_value=Decimal("501")) is not None


def test_it_converts_a_mandate_in_another_currency(support, rates):
    person = agent_create(email="usd@example.com", name="Uma USD", group_names=["Support"])
    Mandate.objects.create(agent=person, currency="USD", max_per_gesture=Decimal("100"))  # = 90 EUR
    assert mandate_covers_total(agent=person, base_value=Decimal("90")) is None
    assert mandate_covers_total(agent=person, base_value=Decimal("90.01")) is not None


def test_administrators_approve_any_total(admin):
    assert mandate_covers_total(agent=admin, base_value=Decimal("1000000")) is None


def test_light_agents_and_agents_without_a_mandate_cover_nothing(light, agent, agent_mandate):
    assert "light" in mandate_covers_total(agent=light, base_value=Decimal("1"))
    Mandate.objects.all().delete()
    assert mandate_covers_total(agent=agent, base_value=Decimal("1")) == "you have no mandate for gestures"
