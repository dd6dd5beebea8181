"""Two agents spending the last of one budget at the same moment: exactly one is granted, the
other becomes an approval request. Real threads, each with its own database connection (run
this file on SQLite and with DATABASE_URL=postgres://… )."""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal

import pytest
from django.db import connection

from frontdesk.accounts.services import agent_create
from frontdesk.customers.services import customer_create
from frontdesk.goodwill.models import EntryKind, GrantStatus, LedgerEntry, Mandate
from frontdesk.goodwill.services import gesture_grant
from frontdesk.tickets.services import ticket_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def file_database(tmp_path):
    """On SQLite, race on a file database, as production does: the test database lives in
    memory (shared cache), where a second writer fails with "table is locked" instead of
    queueing on the write lock. The in-memory database is copied to a file when the test
    body starts (after the fixtures wrote their rows) and restored afterwards. No-op on
    PostgreSQL."""
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield
        return
    state = {}

    def switch():
        connection.ensure_connection()
        state["memory"], state["name"] = connection.connection, connection.settings_dict["NAME"]
        path = tmp_path / "race.sqlite3"
        copy = sqlite3.connect(path)
        state["memory"].backup(copy)
        copy.close()
        connection.connection = None  # detached, not closed: closing would drop the memory database
        connection.settings_dict["NAME"] = str(path)

    state["switch"] = switch
    yield state
    if "memory" in state:
        connection.close()
        connection.settings_dict["NAME"] = state["name"]
        connection.connection = state["memory"]


def race(calls, file_database=None) -> tuple[list, list]:
    if file_database:
        file_database["switch"]()
    barrier = threading.Barrier(len(calls))
    results, errors = [], []

    def run(call):
        try:
            barrier.wait(timeout=10)
            results.append(call())
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results, errors


@pytest.mark.parametrize("round_", range(3))
def test_only_one_of_two_agents_gets_the_last_of_the_group_budget(support, agent, agent_mandate, credit, round_,
                                                                 file_database):
    peer = agent_create(email="pat@example.com", name="Pat Peer", group_names=["Support"])
    Mandate.objects.create(group=support, currency="EUR", max_per_gesture=Decimal("50"),
                           group_monthly_budget=Decimal("60"))
    Mandate.objects.filter(role="agent").delete()  # the group mandate applies to both
    tickets = [
        ticket_create(subject=f"T{n}", requester=customer_create(name=f"C{n}", emails=[f"c{n}@example.net"]),
                      body="x", group=support)
        for n in range(2)
    ]
    calls = [
        lambda who=who, t=t: gesture_grant(ticket=t, agent=who, gesture=credit, value="40", currency="EUR",
                                           reason="outage")
        for who, t in zip([agent, peer], tickets, strict=True)
    ]
    results, errors = race(calls, file_database)
    assert errors == []
    assert sorted(g.status for g in results) == [GrantStatus.GRANTED, GrantStatus.PENDING_APPROVAL]
    assert LedgerEntry.objects.filter(kind=EntryKind.GRANTED).count() == 1


def test_only_one_of_two_tabs_gets_the_last_of_an_agents_budget(ticket, support, agent, agent_mandate, credit,
                                                                 file_database):
    Mandate.objects.filter(role="agent").update(max_per_customer=None, monthly_budget=Decimal("50"))
    call = lambda: gesture_grant(ticket=ticket, agent=agent, gesture=credit, value="30", currency="EUR",  # noqa: E731
                                 reason="delay")
    results, errors = race([call, call], file_database)
    assert errors == []
    assert sorted(g.status for g in results) == [GrantStatus.GRANTED, GrantStatus.PENDING_APPROVAL]


def test_two_agents_taking_the_last_voucher_get_one_code_and_one_clear_refusal(support, agent, agent_mandate,
                                                                               voucher, file_database):
    from frontdesk.goodwill.models import Grant, Voucher
    from frontdesk.goodwill.services import PoolExhausted

    peer = agent_create(email="pat@example.com", name="Pat Peer", group_names=["Support"])
    Voucher.objects.exclude(code="CODE-0").delete()
    tickets = [
        ticket_create(subject=f"T{n}", requester=customer_create(name=f"C{n}", emails=[f"c{n}@example.net"]),
                      body="x", group=support)
        for n in range(2)
    ]
    calls = [
        lambda who=who, t=t: gesture_grant(ticket=t, agent=who, gesture=voucher, value="10", currency="EUR",
                                           reason="loyalty")
        for who, t in zip([agent, peer], tickets, strict=True)
    ]
    results, errors = race(calls, file_database)
    assert [g.code for g in results] == ["CODE-0"]
    assert [type(e) for e in errors] == [PoolExhausted]
    assert Grant.objects.count() == 1 and LedgerEntry.objects.count() == 2  # granted + fulfilled, nothing else
