"""Approve and deny: from the service, the approvals page and the approver's signed link;
the due time reminds and then escalates."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from frontdesk.core.clock import clock_tick
from frontdesk.core.errors import Conflict, Forbidden
from frontdesk.goodwill import links
from frontdesk.goodwill.models import EntryKind, Grant, GrantStatus, LedgerEntry
from frontdesk.goodwill.services import gesture_approve, gesture_deny, gesture_grant
from frontdesk.notifications.models import Notification
from frontdesk.tickets.models import TicketEvent
from tests.conftest import run_tasks
from tests.desk.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_(ticket, agent, supervisor, credit):
    return gesture_grant(ticket=ticket, agent=agent, gesture=credit, value="120", currency="EUR", reason="outage")


def kinds(grant):
    return list(LedgerEntry.objects.filter(grant=grant).values_list("kind", flat=True))


def test_it_approves_and_fulfilment_starts(request_, supervisor, agent):
    g = gesture_approve(grant=request_, agent=supervisor, note="fair")
    assert g.status == GrantStatus.GRANTED and g.decided_by == supervisor
    assert kinds(g) == ["requested", "approved", "granted"]
    assert Notification.objects.filter(agent=agent, kind="goodwill_decided").exists()
    summaries = [e.after["summary"] for e in TicketEvent.objects.filter(kind="goodwill")]
    assert any(s.startswith("approved") for s in summaries)


def test_it_denies(request_, supervisor):
    g = gesture_deny(grant=request_, agent=supervisor, note="too much")
    assert g.status == GrantStatus.DENIED and kinds(g) == ["requested", "denied"]


def test_it_refuses_approving_ones_own_request(ticket, supervisor, credit):
    own = gesture_grant(ticket=ticket, agent=supervisor, gesture=credit, value="5", currency="EUR",
                        reason="delay", note="x")
    assert own.status == GrantStatus.GRANTED  # within their own mandate
    Grant.objects.filter(pk=own.pk).update(status=GrantStatus.PENDING_APPROVAL)
    with pytest.raises(Forbidden) as caught:
        gesture_approve(grant=own, agent=supervisor)
    assert caught.value.code == "own_request"


def test_it_refuses_an_approver_whose_mandate_is_too_small(request_, support, agent_mandate):
    from frontdesk.accounts.services import agent_create

    peer = agent_create(email="pat@example.com", name="Pat Peer", group_names=["Support"])
    with pytest.raises(Forbidden):
        gesture_approve(grant=request_, agent=peer)
    assert Grant.objects.get(pk=request_.pk).status == GrantStatus.PENDING_APPROVAL


def test_it_refuses_deciding_twice(request_, supervisor, admin):
    gesture_deny(grant=request_, agent=supervisor)
    with pytest.raises(Conflict):
        gesture_approve(grant=request_, agent=admin)


def test_the_approvals_page_lists_and_approves(request_, supervisor, agent):
    client = client_for(supervisor)
    page = client.get("/desk/approvals/")
    assert page.status_code == 200 and f'data-grant="{request_.pk}"' in page.content.decode()
    assert f'data-grant="{request_.pk}"' not in client_for(agent).get("/desk/approvals/").content.decode()
    response = client.post(f"/desk/approvals/{request_.pk}/decide/", {"decision": "approve"})
    assert response.status_code == 302
    assert Grant.objects.get(pk=request_.pk).status == GrantStatus.GRANTED


def test_the_approvals_page_refuses_self_approval(request_, agent):
    client_for(agent).post(f"/desk/approvals/{request_.pk}/decide/", {"decision": "approve"})
    assert Grant.objects.get(pk=request_.pk).status == GrantStatus.PENDING_APPROVAL


def test_the_signed_link_confirms_then_decides_once(request_, supervisor):
    url = links.approval_url(grant=request_, approver=supervisor)
    client = client_for(supervisor)
    confirm = client.get(url)
    assert confirm.status_code == 200 and b"Approve" in confirm.content
    assert Grant.objects.get(pk=request_.pk).status == GrantStatus.PENDING_APPROVAL  # GET changes nothing
    assert client.post(url, {"decision": "approve"}).status_code == 302
    assert Grant.objects.get(pk=request_.pk).status == GrantStatus.GRANTED
    entries = LedgerEntry.objects.count()
    replay = client.post(url, {"decision": "deny"})
    assert replay.status_code == 400 and b"Nothing was changed" in replay.content
    assert Grant.objects.get(pk=request_.pk).status == GrantStatus.GRANTED
    assert LedgerEntry.objects.count() == entries


def test_a_tampered_or_foreign_link_changes_nothing(request_, supervisor, admin):
    url = links.approval_url(grant=request_, approver=supervisor)
    token = url.rstrip("/").rsplit("/", 1)[1]
    tampered = f"/desk/approvals/link/{token[:-2]}{'AB' if token[-2:] != 'AB' else 'CD'}/"
    for client, target in [(client_for(supervisor), tampered), (client_for(admin), url)]:
        response = client.post(target, {"decision": "approve"})
        assert response.status_code == 400 and b"Nothing was changed" in response.content
    assert Grant.objects.get(pk=request_.pk).status == GrantStatus.PENDING_APPROVAL


def test_an_expired_link_changes_nothing(request_, supervisor, settings):
    url = links.approval_url(grant=request_, approver=supervisor)
    with time_machine.travel(timezone.now() + timedelta(hours=settings.FRONTDESK_GOODWILL_LINK_HOURS + 1)):
        assert client_for(supervisor).post(url, {"decision": "approve"}).status_code == 400
    assert Grant.objects.get(pk=request_.pk).status == GrantStatus.PENDING_APPROVAL


@pytest.mark.django_db(transaction=True)
def test_an_unanswered_request_reminds_then_escalates(ticket, agent, supervisor, admin, credit):
    g = gesture_grant(ticket=ticket, agent=agent, gesture=credit, value="120", currency="EUR", reason="outage")
    start = timezone.now()
    with time_machine.travel(start + timedelta(hours=5)):
        assert clock_tick() == 1
        run_tasks()
        assert clock_tick() == 0  # claimed once
    reminded = Notification.objects.filter(kind="goodwill_approval", text__startswith="Reminder")
    assert [n.agent for n in reminded] == [supervisor]
    with time_machine.travel(start + timedelta(hours=10)):
        assert clock_tick() == 1
        run_tasks()
    overdue = set(Notification.objects.filter(text__startswith="Overdue").values_list("agent__email", flat=True))
    assert overdue == {supervisor.email, admin.email}
    g.refresh_from_db()
    assert g.approval_reminders == 2 and g.approval_due_at is not None  # never silently stuck
    overdue_section = client_for(admin).get("/desk/goodwill/attention/").content.decode().split("Overdue approvals")[1]
    assert f"#{ticket.reference}" in overdue_section
    assert LedgerEntry.objects.filter(grant=g, kind=EntryKind.REQUESTED).count() == 1
