"""The incident gesture: one approval covering value × affected customers, then one grant per
customer — whether they came in twice, were added after the approval, or their chunk ran
twice — with received / pending / failed reported per customer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Q

from frontdesk.accounts.services import agent_create
from frontdesk.core.errors import Conflict, Forbidden, InvalidInput
from frontdesk.customers.services import customer_create
from frontdesk.goodwill.models import Gesture, Grant, GrantStatus, Mandate, Voucher
from frontdesk.incidents.affected import AffectedEntry, affected_customers_add
from frontdesk.incidents.broadcasts import broadcast_post
from frontdesk.incidents.distribution import (
    gesture_fan_out,
    gesture_report,
    incident_gesture_approve,
    incident_gesture_attach,
    incident_gesture_withdraw,
)
from frontdesk.incidents.models import (
    AffectedCustomer,
    BroadcastDelivery,
    DeliveryStatus,
    GestureDelivery,
    GestureState,
)
from frontdesk.incidents.reports import delivery_report
from frontdesk.incidents.services import incident_link_ticket
from frontdesk.mail.models import OutboundMessage, OutboundStatus
from frontdesk.tickets.models import Message, Ticket
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


# --- a worker killed with SIGKILL mid-distribution: nothing lost, nothing twice ----------------

REPO = Path(__file__).resolve().parents[2]
KILL_CUSTOMERS = 120


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def spawn(tmp_path):
    """``spawn(role, **env)``: a real ``frontdesk worker|scheduler`` on the test database."""
    processes: list[subprocess.Popen] = []

    def start(role: str, **extra: str) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "FRONTDESK_"))}
        env.update(DATABASE_URL=_database_url(), FRONTDESK_HOME=str(tmp_path / "home"), FRONTDESK_WORKER_NICE="0",
                   FRONTDESK_LOG_LEVEL="WARNING", FRONTDESK_SMTP_URL="", FRONTDESK_WORKER_HEARTBEAT="1",
                   PYTHONPATH=os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")]), **extra)
        command = [sys.executable, "-m", "frontdesk.cli", role, "--interval", "0.2" if role == "worker" else "1"]
        log = open(tmp_path / f"{role}-{len(processes)}.log", "w")  # noqa: SIM115 — closed with the process
        processes.append(subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT))
        return processes[-1]

    yield start
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_for(condition, *, timeout: float, what: str, step: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_survives_a_worker_killed_mid_distribution(incident, agent, admin, spawn, settings):
    settings.FRONTDESK_BROADCAST_CHUNK = 10
    gesture = _voucher(KILL_CUSTOMERS + 10)
    people = _people(KILL_CUSTOMERS)
    _add(incident, people)
    broadcast = broadcast_post(incident=incident, actor=agent, body="Hello {name}, we are on it.")
    incident_gesture_attach(incident=incident, actor=agent, gesture=gesture, value="10", currency="EUR")
    incident_gesture_approve(incident=incident, actor=admin)  # administrators approve any total
    done = Q(status=DeliveryStatus.SENT)

    doomed = spawn("worker")
    _wait_for(lambda: GestureDelivery.objects.filter(done).count() + BroadcastDelivery.objects.filter(done).count()
              >= 20, timeout=300, what="the distribution to be under way", step=0.05)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    at_kill = GestureDelivery.objects.filter(done).count() + BroadcastDelivery.objects.filter(done).count()
    assert at_kill < 2 * KILL_CUSTOMERS, "the worker finished before it could be killed: raise KILL_CUSTOMERS"

    spawn("worker")
    spawn("scheduler", FRONTDESK_WORKER_DEAD_AFTER="3")
    _wait_for(lambda: GestureDelivery.objects.filter(done).count() == KILL_CUSTOMERS
              and BroadcastDelivery.objects.filter(broadcast=broadcast, status=DeliveryStatus.SENT).count()
              == KILL_CUSTOMERS, timeout=600, what="every delivery")
    _wait_for(lambda: not OutboundMessage.objects.exclude(status=OutboundStatus.SENT).exists()
              and OutboundMessage.objects.count() >= 2 * KILL_CUSTOMERS, timeout=300, what="every mail")

    grants = Counter(Grant.objects.filter(source=f"incident:{incident.pk}").values_list("customer_id", flat=True))
    assert set(grants) == {p.pk for p in people} and set(grants.values()) == {1}
    tickets = Counter(Ticket.objects.filter(requester__in=people).values_list("requester_id", flat=True))
    assert set(tickets.values()) == {1}  # one conversation each, even with the update and gesture racing
    for person in people:
        mails = OutboundMessage.objects.filter(ticket__requester=person)
        assert mails.filter(body_text__startswith=f"Hello {person.name}, we are on it.").count() == 1
        assert mails.filter(body_text__contains="Your voucher: CODE-").count() == 1
