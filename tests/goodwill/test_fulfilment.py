"""Fulfilment: a signed, idempotent webhook retried with backoff against a local back-office;
failures visible on the ticket and in the needs-attention list; manual tasks marked done."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from frontdesk.goodwill.models import EntryKind, Grant, GrantStatus, LedgerEntry
from frontdesk.goodwill.services import gesture_grant, grant_fulfil
from frontdesk.tickets.models import TicketEvent
from tests.conftest import run_tasks
from tests.desk.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def kinds(grant):
    return list(LedgerEntry.objects.filter(grant=grant).values_list("kind", flat=True))


def test_a_back_office_failing_twice_credits_exactly_once(ticket, agent, agent_mandate, credit, back_office):
    office = back_office(fail_first=2)
    credit.endpoint.url = office.url
    credit.endpoint.save()
    g = gesture_grant(ticket=ticket, agent=agent, gesture=credit, value="25", currency="EUR", reason="delay")
    now = timezone.now()
    run_tasks()  # attempt 1: 500
    g.refresh_from_db()
    assert g.status == GrantStatus.FAILED and "500" in g.last_error
    # The failure is on the ticket and in the needs-attention list.
    assert any("failed" in e.after["summary"] for e in TicketEvent.objects.filter(kind="goodwill"))
    page = client_for(agent).get("/desk/goodwill/attention/").content.decode()
    assert f'data-grant="{g.pk}"' in page.split("To do")[0]
    with time_machine.travel(now + timedelta(minutes=1)):
        run_tasks()  # attempt 2 (after ~15 s backoff): 500
    with time_machine.travel(now + timedelta(minutes=5)):
        run_tasks()  # attempt 3 (after ~30 s): 200
    g.refresh_from_db()
    assert g.status == GrantStatus.FULFILLED and g.fulfilment_attempts == 2
    assert len(office.requests) == 3 and office.bad_signatures == 0
    assert office.credits == {str(g.idempotency_key): "25.00"}
    keys = {json.loads(r["body"])["idempotency_key"] for r in office.requests}
    assert keys == {str(g.idempotency_key)}  # the same key every time
    assert {r["headers"]["Idempotency-Key"] for r in office.requests} == keys
    assert kinds(g) == ["granted", "fulfilment_failed", "fulfilment_failed", "fulfilled"]
    # Running the task again (a duplicate delivery) sends nothing and credits nothing.
    assert grant_fulfil(grant_id=g.pk) == GrantStatus.FULFILLED
    assert len(office.requests) == 3 and len(office.credits) == 1


def test_a_blocked_destination_fails_visibly(ticket, agent, agent_mandate, credit):
    credit.endpoint.url, credit.endpoint.allow_private = "http://169.254.169.254/latest/", False
    credit.endpoint.save()
    g = gesture_grant(ticket=ticket, agent=agent, gesture=credit, value="25", currency="EUR", reason="delay")
    run_tasks()
    g.refresh_from_db()
    assert g.status == GrantStatus.FAILED and "non-public" in g.last_error
    assert LedgerEntry.objects.filter(grant=g, kind=EntryKind.FULFILMENT_FAILED).count() == 1


def test_a_redirecting_back_office_is_a_failure(ticket, agent, agent_mandate, credit, back_office):
    office = back_office(status=302, location="http://169.254.169.254/")
    credit.endpoint.url = office.url
    credit.endpoint.save()
    g = gesture_grant(ticket=ticket, agent=agent, gesture=credit, value="25", currency="EUR", reason="delay")
    run_tasks()
    g.refresh_from_db()
    assert g.status == GrantStatus.FAILED and "redirect" in g.last_error
    assert len(office.requests) == 1


def test_the_allow_list_setting_opens_a_private_back_office(ticket, agent, agent_mandate, credit, back_office,
                                                             settings):
    office = back_office()
    credit.endpoint.url, credit.endpoint.allow_private = office.url, False
    credit.endpoint.save()
    settings.FRONTDESK_WEBHOOK_ALLOW_PRIVATE = ["127.0.0.1"]
    g = gesture_grant(ticket=ticket, agent=agent, gesture=credit, value="25", currency="EUR", reason="delay")
    run_tasks()
    assert Grant.objects.get(pk=g.pk).status == GrantStatus.FULFILLED and len(office.credits) == 1


def test_a_manual_task_is_marked_done_from_the_desk(ticket, agent, agent_mandate, gift, outsider):
    g = gesture_grant(ticket=ticket, agent=agent, gesture=gift, value="30", currency="EUR", reason="product_defect")
    page = client_for(agent).get("/desk/goodwill/attention/").content.decode()
    assert f'data-grant="{g.pk}"' in page.split("To do")[1]
    assert client_for(outsider).post(f"/desk/goodwill/attention/{g.pk}/", {"action": "done"}).status_code == 404
    assert client_for(agent).post(f"/desk/goodwill/attention/{g.pk}/", {"action": "done"}).status_code == 302
    g.refresh_from_db()
    assert g.status == GrantStatus.FULFILLED and g.task_done_by == agent
    assert kinds(g) == ["granted", "fulfilled"]
