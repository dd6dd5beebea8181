"""The incident gesture: one approval covering value × affected customers, then one grant per
customer — whether they came in twice, were added after the approval, or their chunk ran
twice — with received / pending / failed reported per customer."""

from __future__ import annotations

from decimal import Decimal

import pytest

from frontdesk.accounts.services import agent_create
from frontdesk.core.errors import Conflict, Forbidden, InvalidInput
from frontdesk.customers.services import customer_create
from frontdesk.goodwill.models import Gesture, Grant, GrantStatus, Mandate, Voucher
from frontdesk.incidents.affected import AffectedEntry, affected_customers_add
from frontdesk.incidents.distribution import (
    gesture_fan_out,
    gesture_report,
    incident_gesture_approve,
    incident_gesture_attach,
    incident_gesture_withdraw,
)
from frontdesk.incidents.models import AffectedCustomer, DeliveryStatus, GestureDelivery, GestureState
from frontdesk.incidents.reports import delivery_report
from frontdesk.incidents.services import incident_link_ticket
from frontdesk.tickets.models import Message
from tests.conftest import run_tasks


@pytest.fixture(autouse=True)
def _fast(settings, tmp_path):
    settings.FRONTDESK_HOME = tmp_path
    settings.FRONTDESK_SMTP_URL = ""
    settings.FRONTDESK_BROADCAST_PER_MINUTE = 1_000_000
    settings.FRONTDESK_BROADCAST_CHUNK = 2


@pytest.fixture
def agent_mandate(db):
    return Mandate.objects.create(role="agent", currency="EUR", max_per_gesture=Decimal("50"))


@pytest.fixture
def supervisor(support, agent_mandate):
    person = agent_create(email="sue@example.com", name="Sue Supervisor", group_names=["Support"])
    Mandate.objects.create(agent=person, currency="EUR", max_per_gesture=Decimal("500"))
    return person


def _voucher(codes: int) -> Gesture:
    gesture = Gesture.objects.create(
        name="Voucher 10", kind="voucher", currency="EUR", value=Decimal("10"), fulfilment="voucher_pool",
        snippet="Your voucher: {code} ({amount} {currency}).",
    )
    Voucher.objects.bulk_create([Voucher(gesture=gesture, code=f"CODE-{n}") for n in range(codes)])
    return gesture


def _people(n: int, prefix: str = "p"):
    return [customer_create(name=f"{prefix.upper()}{i}", emails=[f"{prefix}{i}@example.org"]) for i in range(n)]


def _add(incident, customers, source="api", **extra):
    return affected_customers_add(incident=incident, source=source, actor=None,
                                  entries=[AffectedEntry(customer_id=c.pk, **extra) for c in customers])


@pytest.mark.django_db(transaction=True)
def test_it_needs_one_approval_covering_the_total(incident, agent, supervisor, light):
    gesture = _voucher(10)
    _add(incident, _people(6))
    incident_gesture_attach(incident=incident, actor=agent, gesture=gesture, value="10", currency="EUR")
    with pytest.raises(Forbidden, match="60.00"):  # 6 × 10 EUR is above the agent's 50
        incident_gesture_approve(incident=incident, actor=agent)
    with pytest.raises(Forbidden):
        incident_gesture_approve(incident=incident, actor=light)
    assert not GestureDelivery.objects.exists()
    row = incident_gesture_approve(incident=incident, actor=supervisor)
    assert row.state == GestureState.APPROVED and row.approved_customers == 6
    assert row.approved_base_total == Decimal("60.00")
    with pytest.raises(Conflict):
        incident_gesture_approve(incident=incident, actor=supervisor)
    with pytest.raises(Conflict):
        incident_gesture_attach(incident=incident, actor=agent, gesture=gesture, value="10", currency="EUR")
    run_tasks()
    assert Grant.objects.filter(source=f"incident:{incident.pk}", status=GrantStatus.FULFILLED).count() == 6
    assert gesture_report(incident=incident)["received"] == 6


@pytest.mark.django_db
def test_it_refuses_a_bad_proposal(incident, agent):
    gesture = _voucher(1)
    for value, currency in (("abc", "EUR"), ("-1", "EUR"), ("12", "EUR"), ("10", "XXX"), ("10.001", "EUR")):
        with pytest.raises(InvalidInput):
            incident_gesture_attach(incident=incident, actor=agent, gesture=gesture, value=value, currency=currency)
    with pytest.raises(InvalidInput):
        incident_gesture_attach(incident=incident, actor=agent, gesture=gesture, value="10", currency="EUR",
                                reason="because")
    with pytest.raises(Conflict):
        incident_gesture_withdraw(incident=incident, actor=agent)


@pytest.mark.django_db(transaction=True)
def test_it_grants_once_to_a_customer_who_came_in_twice_and_when_run_twice(
        incident, agent, supervisor, ticket, customer):
    gesture = _voucher(10)
    incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
    _add(incident, [customer], source="csv", group_key="BOOK-1")  # the same traveller, again, by CSV
    assert AffectedCustomer.objects.filter(incident=incident).count() == 1
    incident_gesture_attach(incident=incident, actor=agent, gesture=gesture, value="10", currency="EUR")
    row = incident_gesture_approve(incident=incident, actor=supervisor)
    run_tasks()
    gesture_fan_out(incident_gesture_id=row.pk)  # the fan-out and its chunks again
    run_tasks()

    [grant] = Grant.objects.filter(customer=customer)
    assert grant.ticket == ticket and grant.code == "CODE-0"
    [told] = Message.objects.filter(ticket=ticket, automatic="incident_gesture")
    assert "CODE-0" in told.body_text and "Maria Lopez" in told.body_text


@pytest.mark.django_db(transaction=True)
def test_it_grants_customers_added_after_the_approval(incident, agent, supervisor):
    gesture = _voucher(10)
    first = _people(2, "a")
    _add(incident, first)
    incident_gesture_attach(incident=incident, actor=agent, gesture=gesture, value="10", currency="EUR")
    incident_gesture_approve(incident=incident, actor=supervisor)
    run_tasks()
    late = _people(2, "b")
    _add(incident, late + first[:1])  # one of the first ones again, by another source
    run_tasks()

    grants = Grant.objects.filter(source=f"incident:{incident.pk}")
    assert sorted(grants.values_list("customer__name", flat=True)) == ["A0", "A1", "B0", "B1"]
    for person in first + late:  # a new conversation each (nobody had a ticket), told of their code
        row = AffectedCustomer.objects.get(incident=incident, customer=person)
        assert row.ticket.requester == person
        assert row.ticket.messages.filter(body_text__contains="CODE-").count() == 1
    report = gesture_report(incident=incident)
    assert (report["received"], report["pending"], report["failed"]) == (4, 0, 0)


@pytest.mark.django_db(transaction=True)
def test_it_reports_who_failed_when_the_pool_runs_out(incident, agent, supervisor):
    gesture = _voucher(2)
    people = _people(3)
    _add(incident, people)
    incident_gesture_attach(incident=incident, actor=agent, gesture=gesture, value="10", currency="EUR")
    incident_gesture_approve(incident=incident, actor=supervisor)
    run_tasks()

    report = gesture_report(incident=incident)
    assert (report["received"], report["pending"], report["failed"]) == (2, 0, 1)
    failed = GestureDelivery.objects.get(status=DeliveryStatus.FAILED)
    assert "voucher" in failed.error.lower() or "pool" in failed.error.lower()
    lines = {line["email"]: line for line in delivery_report(incident=incident)["customers"]}
    assert sorted(line["gesture"] for line in lines.values()) == ["failed", "received", "received"]
    assert Grant.objects.filter(customer=failed.affected.customer).count() == 0  # nothing half-done
