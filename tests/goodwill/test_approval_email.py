"""The approver's email: every approval request, reminder and escalation reaches each approver
by email (through a real local SMTP relay, or the outbox) with their own signed link; the link
opens a confirmation page (GET decides nothing: mail scanners open links), POST decides once,
a tampered or replayed link changes nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from frontdesk.core.clock import clock_tick
from frontdesk.goodwill.models import Grant, GrantStatus
from frontdesk.goodwill.services import gesture_grant
from frontdesk.mail.models import OutboundKind, OutboundMessage, OutboundStatus
from frontdesk.tickets.models import TicketEvent
from tests.conftest import run_tasks
from tests.desk.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)

LINK = re.compile(r"(http://testserver)?(/desk/approvals/link/[^/\s]+/)")


@pytest.fixture
def request_(ticket, agent, supervisor, credit):
    return gesture_grant(ticket=ticket, agent=agent, gesture=credit, value="120", currency="EUR", reason="outage",
                         note="third outage this month")


def mails_to(relay, address):
    return [m for m in relay.messages() if m["To"] == address]


def link_in(message) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    found = LINK.search(text)
    assert found, text
    assert found.group(1) == "http://testserver"  # absolute: it is opened from a mail client
    return found.group(2)


def test_the_approver_gets_an_email_whose_link_approves_after_confirmation(relay, request_, supervisor, agent,
                                                                          ticket):
    run_tasks()
    [mail] = mails_to(relay, supervisor.email)
    assert mail["Subject"].strip() == (
        f"Approval needed: Account credit (120.00 EUR) for #{ticket.reference}, asked by Sam Support")
    assert mail["Auto-Submitted"] == "auto-generated" and mail["Reply-To"].startswith("noreply@")
    assert "In-Reply-To" not in mail  # not part of the customer's conversation
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Customer: Maria Lopez" in text and "third outage this month" in text and "per gesture" in text
    assert "Reply to this email to answer" not in text
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert '<a href="http://testserver/desk/approvals/link/' in html
    assert mails_to(relay, agent.email) == []  # the requester is not an approver

    path = link_in(mail)
    signed_out = Client().get(path)
    assert signed_out.status_code == 302 and "/desk/login/" in signed_out["Location"]
    client = client_for(supervisor)
    confirm = client.get(path)
    assert confirm.status_code == 200 and b"Approve" in confirm.content
    assert Grant.objects.get(pk=request_.pk).status == GrantStatus.PENDING_APPROVAL  # opening decides nothing
    assert client.post(path, {"decision": "approve"}).status_code == 302
    assert Grant.objects.get(pk=request_.pk).status == GrantStatus.GRANTED

    replay = client.post(path, {"decision": "deny"})
    assert replay.status_code == 400 and b"Nothing was changed" in replay.content
    assert Grant.objects.get(pk=request_.pk).status == GrantStatus.GRANTED


def test_a_tampered_emailed_link_changes_nothing(relay, request_, supervisor):
    run_tasks()
    path = link_in(mails_to(relay, supervisor.email)[0])
    token = path.rstrip("/").rsplit("/", 1)[1]
    tampered = f"/desk/approvals/link/{token[:-3]}{'xyz' if not token.endswith('xyz') else 'abc'}/"
    client = client_for(supervisor)
    assert client.get(tampered).status_code == 400
    response = client.post(tampered, {"decision": "approve"})
    assert response.status_code == 400 and b"Nothing was changed" in response.content
    assert Grant.objects.get(pk=request_.pk).status == GrantStatus.PENDING_APPROVAL


def test_the_email_goes_out_on_the_outbound_path_and_shows_on_the_ticket(relay, request_, supervisor, ticket):
    run_tasks()
    outbound = OutboundMessage.objects.get(kind=OutboundKind.AGENT)
    assert outbound.status == OutboundStatus.SENT and outbound.to_addresses == [supervisor.email]
    assert outbound.notification.agent == supervisor and outbound.ticket == ticket
    delivered = TicketEvent.objects.filter(ticket=ticket, kind="delivery").values_list("after", flat=True)
    assert any(e["to"] == [supervisor.email] and e["status"] == "sent" for e in delivered)
    run_tasks()  # nothing more: one email per notification
    assert len(mails_to(relay, supervisor.email)) == 1


def test_a_refusing_relay_is_retried_and_the_approver_still_gets_the_email(relay, request_, supervisor):
    relay.refuse_with = "451 4.3.0 try again later"
    run_tasks()
    outbound = OutboundMessage.objects.get(kind=OutboundKind.AGENT)
    assert outbound.status == OutboundStatus.RETRYING and "451" in outbound.last_error
    relay.refuse_with = None
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        run_tasks()
    outbound.refresh_from_db()
    assert outbound.status == OutboundStatus.SENT and len(mails_to(relay, supervisor.email)) == 1


def test_reminders_and_the_escalation_are_emailed_too(relay, request_, supervisor, admin):
    run_tasks()
    start = timezone.now()
    with time_machine.travel(start + timedelta(hours=5)):
        assert clock_tick() == 1
        run_tasks()
    with time_machine.travel(start + timedelta(hours=10)):
        assert clock_tick() == 1
        run_tasks()
    subjects = [m["Subject"].strip().split(":")[0] for m in mails_to(relay, supervisor.email)]
    assert subjects == ["Approval needed", "Reminder", "Overdue approval"]
    [escalated] = mails_to(relay, admin.email)
    assert escalated["Subject"].strip().startswith("Overdue approval")
    path = link_in(escalated)
    assert client_for(admin).post(path, {"decision": "deny"}).status_code == 302
    assert Grant.objects.get(pk=request_.pk).status == GrantStatus.DENIED
    assert client_for(supervisor).post(link_in(mails_to(relay, supervisor.email)[-1]),
                                       {"decision": "approve"}).status_code == 400  # decided: the others are dead


def test_without_a_relay_the_email_lands_in_the_outbox(settings, tmp_path, request_, supervisor):
    settings.FRONTDESK_SMTP_URL = ""
    settings.FRONTDESK_HOME = tmp_path
    run_tasks()
    [eml] = list((tmp_path / "outbox").glob("*.eml"))
    raw = eml.read_bytes()
    assert f"To: {supervisor.email}".encode() in raw and b"/desk/approvals/link/" in raw
