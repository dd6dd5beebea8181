"""Granting: within mandate at once, above it an approval request; every bad input refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from frontdesk.core.errors import Forbidden, InvalidInput, NotFound
from frontdesk.goodwill.models import EntryKind, Grant, GrantStatus, LedgerEntry, Voucher
from frontdesk.goodwill.services import PoolExhausted, gesture_grant
from frontdesk.goodwill.snippets import fill_snippet
from frontdesk.notifications.models import Notification
from frontdesk.tickets.models import TicketEvent
from frontdesk.tickets.services import ticket_create

pytestmark = pytest.mark.django_db


def grant(ticket, agent, gesture, value="20", currency="EUR", reason="our_mistake", **kw):
    return gesture_grant(ticket=ticket, agent=agent, gesture=gesture, value=value, currency=currency,
                         reason=reason, **kw)


def test_it_grants_a_voucher_within_mandate_and_fills_the_snippet(ticket, agent, agent_mandate, voucher):
    g = grant(ticket, agent, voucher, value="10")
    assert g.status == GrantStatus.FULFILLED
    assert g.code == "CODE-0"
    assert Voucher.objects.get(code="CODE-0").grant == g
    assert list(LedgerEntry.objects.filter(grant=g).values_list("kind", flat=True)) == ["granted", "fulfilled"]
    text = fill_snippet(g)
    assert "CODE-0" in text and "10.00 EUR" in text and "valid until" in text
    assert TicketEvent.objects.filter(ticket=ticket, kind="goodwill").count() == 2


def test_it_asks_for_approval_above_the_mandate(ticket, agent, supervisor, admin, credit):
    g = grant(ticket, agent, credit, value="120")
    assert g.status == GrantStatus.PENDING_APPROVAL
    assert g.approval_due_at is not None
    entry = LedgerEntry.objects.get(grant=g)
    assert entry.kind == EntryKind.REQUESTED and "per gesture" in entry.detail
    asked = Notification.objects.filter(kind="goodwill_approval")
    assert [n.agent for n in asked] == [supervisor]  # the one whose mandate covers it
    assert asked[0].url.startswith("/desk/approvals/link/")


def test_it_converts_currencies_for_limits(ticket, agent, agent_mandate, credit):
    # 60 USD = 54 EUR: beyond the 50 EUR limit; 50 USD = 45 EUR: within.
    assert grant(ticket, agent, credit, value="60", currency="USD").status == GrantStatus.PENDING_APPROVAL
    within = grant(ticket, agent, credit, value="50", currency="usd")
    assert within.status == GrantStatus.GRANTED and within.base_value == Decimal("45.00")


@pytest.mark.parametrize(("value", "currency", "reason", "code"), [
    ("250", "EUR", "our_mistake", "out_of_range"),
    ("2", "EUR", "our_mistake", "out_of_range"),
    ("-5", "EUR", "our_mistake", "negative_value"),
    ("abc", "EUR", "our_mistake", "invalid_value"),
    ("10.001", "EUR", "our_mistake", "invalid_value"),
    ("NaN", "EUR", "our_mistake", "invalid_value"),
    ("10", "XYZ", "our_mistake", "unknown_currency"),
    ("10", "EUR", "because", "invalid_reason"),
])
def test_it_refuses_bad_input_and_writes_nothing(ticket, agent, agent_mandate, credit, value, currency, reason, code):
    with pytest.raises(InvalidInput) as caught:
        grant(ticket, agent, credit, value=value, currency=currency, reason=reason)
    assert caught.value.code == code
    assert Grant.objects.count() == 0 and LedgerEntry.objects.count() == 0


def test_it_refuses_a_value_that_is_not_the_fixed_one(ticket, agent, agent_mandate, voucher):
    with pytest.raises(InvalidInput) as caught:
        grant(ticket, agent, voucher, value="15")
    assert caught.value.code == "out_of_range"


def test_it_hides_tickets_the_agent_cannot_see(ticket, outsider, agent_mandate, credit):
    with pytest.raises(NotFound):
        grant(ticket, outsider, credit)
    assert Grant.objects.count() == 0


def test_it_refuses_light_agents(ticket, light, agent_mandate, credit):
    with pytest.raises(Forbidden):
        grant(ticket, light, credit)
    assert Grant.objects.count() == 0


def test_it_reports_an_empty_pool_and_leaves_nothing_half_done(ticket, agent, agent_mandate, voucher):
    for _ in range(3):
        grant(ticket, agent, voucher, value="10", reason="loyalty")
    before = (Grant.objects.count(), LedgerEntry.objects.count(), TicketEvent.objects.count())
    with pytest.raises(PoolExhausted) as caught:
        grant(ticket, agent, voucher, value="10", reason="loyalty")
    assert "empty" in caught.value.detail
    assert (Grant.objects.count(), LedgerEntry.objects.count(), TicketEvent.objects.count()) == before


def test_it_counts_the_monthly_budget_from_the_ledger(customer, support, agent, agent_mandate, credit):
    # 80 EUR per customer: use other customers so only the 100 EUR monthly budget binds.
    from frontdesk.customers.services import customer_create

    for n in range(2):
        other = customer_create(name=f"C{n}", emails=[f"c{n}@example.net"])
        t = ticket_create(subject="x", requester=other, body="x", group=support)
        assert grant(t, agent, credit, value="45").status == GrantStatus.GRANTED
    t = ticket_create(subject="y", requester=customer, body="y", group=support)
    over = grant(t, agent, credit, value="15")
    assert over.status == GrantStatus.PENDING_APPROVAL
    assert "monthly budget" in over.entries.get().detail


def test_it_limits_gestures_per_customer(ticket, agent, agent_mandate, credit):
    assert grant(ticket, agent, credit, value="45").status == GrantStatus.GRANTED
    second = grant(ticket, agent, credit, value="40")
    assert second.status == GrantStatus.PENDING_APPROVAL
    assert "per customer" in second.entries.get().detail


def test_it_notifies_the_task_group_for_manual_gestures(ticket, agent, supervisor, gift):
    g = grant(ticket, agent, gift, value="30", reason="product_defect")
    assert g.status == GrantStatus.GRANTED
    told = set(Notification.objects.filter(kind="goodwill_task").values_list("agent__email", flat=True))
    assert told == {"sam@example.com", "sue@example.com"}
