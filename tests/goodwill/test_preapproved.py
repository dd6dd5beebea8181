"""Pre-approved grants (an incident's one approval, distributed to every affected customer):
idempotent per (source, customer), also when two workers race; a pool that runs out halfway
leaves nothing half-done for the customer it could not serve."""

from __future__ import annotations

from decimal import Decimal

import pytest

from frontdesk.core.errors import InvalidInput
from frontdesk.customers.services import customer_create
from frontdesk.goodwill.mandates import budget_for, effective_mandate, mandate_refusal, spent
from frontdesk.goodwill.models import EntryKind, Grant, GrantStatus, LedgerEntry, Voucher
from frontdesk.goodwill.services import PoolExhausted, gesture_grant_preapproved, vouchers_import
from frontdesk.tickets.models import TicketEvent
from frontdesk.tickets.services import ticket_create
from tests.goodwill.test_race import file_database, race  # noqa: F401 — fixture

SOURCE = "incident:12"


def preapproved(ticket, gesture, approver, value="10", currency="EUR", source=SOURCE, **kw):
    return gesture_grant_preapproved(ticket=ticket, gesture=gesture, value=value, currency=currency,
                                     reason="outage", approved_by=approver, source=source, **kw)


def tickets_for(n, group, prefix="c"):
    return [
        ticket_create(subject=f"Outage {i}", requester=customer_create(name=f"C{i}", emails=[f"{prefix}{i}@ex.net"]),
                      body="Down again", group=group)
        for i in range(n)
    ]


@pytest.mark.django_db
def test_it_grants_once_per_source_and_customer(ticket, supervisor, voucher):
    grant, created = preapproved(ticket, voucher, supervisor)
    assert created and grant.status == GrantStatus.FULFILLED and grant.code == "CODE-0"
    assert grant.source == SOURCE and grant.agent == supervisor and grant.decided_by == supervisor
    again, created_again = preapproved(ticket, voucher, supervisor)
    assert (again.pk, created_again) == (grant.pk, False)
    assert Grant.objects.count() == 1 and Voucher.objects.filter(grant__isnull=False).count() == 1
    assert list(LedgerEntry.objects.values_list("kind", flat=True)) == [EntryKind.GRANTED, EntryKind.FULFILLED]
    summaries = [e.after["summary"] for e in TicketEvent.objects.filter(ticket=ticket, kind="goodwill")]
    assert any("Sue Supervisor's approval for incident:12" in s for s in summaries)


@pytest.mark.django_db
def test_it_grants_again_for_another_source_or_customer(ticket, supervisor, support, voucher):
    preapproved(ticket, voucher, supervisor)
    _, other_source = preapproved(ticket, voucher, supervisor, source="incident:13")
    other_ticket = tickets_for(1, support)[0]
    _, other_customer = preapproved(other_ticket, voucher, supervisor)
    assert other_source and other_customer
    assert sorted(Grant.objects.values_list("code", flat=True)) == ["CODE-0", "CODE-1", "CODE-2"]


@pytest.mark.django_db
def test_it_is_idempotent_per_customer_across_their_tickets(ticket, customer, supervisor, support, voucher):
    """A customer reached through their own ticket and through a second one (a CSV row that
    opened an outbound conversation) still gets one gesture."""
    second = ticket_create(subject="Outbound", requester=customer, body="About the outage", group=support)
    first, _ = preapproved(ticket, voucher, supervisor)
    again, created = preapproved(second, voucher, supervisor)
    assert (again.pk, created) == (first.pk, False)


@pytest.mark.django_db
def test_it_skips_the_mandate_but_counts_in_every_budget(ticket, agent, agent_mandate, supervisor, credit):
    """400 EUR is far above an agent's 50: the approval was given elsewhere. It is charged to the
    approver, and to the customer's total, which the next ordinary grant then meets."""
    grant, _ = preapproved(ticket, credit, agent, value="150")
    assert grant.status == GrantStatus.GRANTED  # the webhook runs after commit
    assert budget_for(agent=agent).agent_spent == Decimal("150.00")
    assert spent(since=grant.requested_at, customer=ticket.requester) == Decimal("150.00")
    refusal = mandate_refusal(mandate=effective_mandate(agent), agent=agent, customer=ticket.requester,
                              group=None, base_value=Decimal("5"))
    assert "monthly budget" in refusal


@pytest.mark.django_db
def test_the_customer_panel_says_where_a_pre_approved_gesture_came_from(ticket, customer, agent, supervisor, voucher):
    from tests.desk.conftest import client_for

    preapproved(ticket, voucher, supervisor)
    panel = client_for(agent).get(f"/desk/customers/{customer.pk}/goodwill/").content.decode()
    assert "by Sue Supervisor for INC-12" in panel


@pytest.mark.django_db
def test_pre_approved_grants_stay_out_of_the_approval_times(ticket, agent, supervisor, credit):
    from frontdesk.goodwill.reports import approval_times, cost_report
    from frontdesk.goodwill.services import gesture_approve, gesture_grant

    preapproved(ticket, credit, supervisor, value="100")
    asked = gesture_grant(ticket=ticket, agent=agent, gesture=credit, value="60", currency="EUR", reason="delay")
    gesture_approve(grant=asked, agent=supervisor)
    times = approval_times()
    assert (times["decided"], times["approved"]) == (1, 1)
    assert cost_report()["total"] == "160.00"  # both cost money all the same


@pytest.mark.django_db
@pytest.mark.parametrize(("value", "currency", "source", "code"), [
    ("250", "EUR", SOURCE, "out_of_range"),
    ("-1", "EUR", SOURCE, "negative_value"),
    ("20", "XXX", SOURCE, "unknown_currency"),
    ("20", "EUR", "  ", "invalid_source"),
    ("20", "EUR", "x" * 101, "invalid_source"),
])
def test_it_refuses_bad_input_and_writes_nothing(ticket, supervisor, credit, value, currency, source, code):
    with pytest.raises(InvalidInput) as caught:
        preapproved(ticket, credit, supervisor, value=value, currency=currency, source=source)
    assert caught.value.code == code
    assert not Grant.objects.exists() and not LedgerEntry.objects.exists()


@pytest.mark.django_db
def test_it_refuses_an_unknown_reason(ticket, supervisor, credit):
    with pytest.raises(InvalidInput):
        gesture_grant_preapproved(ticket=ticket, gesture=credit, value="20", currency="EUR", reason="because",
                                  approved_by=supervisor, source=SOURCE)


@pytest.mark.django_db
def test_a_pool_running_out_halfway_leaves_nothing_half_done_and_resumes(support, supervisor, voucher, admin):
    tickets = tickets_for(4, support)
    for t in tickets[:3]:
        assert preapproved(t, voucher, supervisor)[1]
    with pytest.raises(PoolExhausted, match="voucher pool of Voucher 10 is empty"):
        preapproved(tickets[3], voucher, supervisor)
    last = tickets[3].requester
    assert not Grant.objects.filter(customer=last).exists()
    assert not LedgerEntry.objects.filter(customer=last).exists()
    assert not TicketEvent.objects.filter(ticket=tickets[3], kind="goodwill").exists()
    # More codes, then the whole distribution runs again: only the fourth customer is new.
    vouchers_import(gesture=voucher, agent=admin, text="code\nCODE-9\n")
    created = [preapproved(t, voucher, supervisor)[1] for t in tickets]
    assert created == [False, False, False, True]
    assert Grant.objects.get(customer=last).code == "CODE-9"
    assert Grant.objects.count() == 4 and LedgerEntry.objects.filter(kind=EntryKind.GRANTED).count() == 4


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_two_workers_granting_the_same_customer_at_once_grant_once(ticket, supervisor, voucher, round_,
                                                                  file_database):  # noqa: F811
    call = lambda: preapproved(ticket, voucher, supervisor)  # noqa: E731
    results, errors = race([call, call], file_database)
    assert errors == []
    assert sorted(created for _, created in results) == [False, True]
    assert len({grant.pk for grant, _ in results}) == 1
    assert Grant.objects.count() == 1
    assert LedgerEntry.objects.filter(kind=EntryKind.GRANTED).count() == 1
    assert Voucher.objects.filter(grant__isnull=False).count() == 1
