"""Waiting on the customer, end to end in Chromium: an agent answers and sets the ticket
pending in the workspace; days pass (frozen time moved on; the scheduler's tick and the
worker run as they would); the reminder email lands in the local outbox; the customer opens
the conversation link in it and clicks "This solved my problem"; the workspace shows the
ticket solved, confirmed by the customer.

Self-contained: the csat flow (survey after the solve) builds on the same steps elsewhere.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime

import pytest
import time_machine
from playwright.sync_api import expect

from frontdesk.core.clock import clock_tick
from frontdesk.followups.models import Ladder, Resolution, ResolutionKind
from frontdesk.mail.models import OutboundKind, OutboundMessage, OutboundStatus
from frontdesk.tickets.models import Status, Ticket
from frontdesk.tickets.services import ticket_create_for_email
from tests.conftest import run_tasks

from .conftest import screenshot, settled

pytestmark = pytest.mark.django_db(transaction=True)

LINK = re.compile(r"View this conversation online: (\S+/c/\S+/)")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_a_pending_ticket_is_reminded_and_confirmed_solved_by_the_customer(
        page, new_page, login_as, page_problems, mail_home, inbox, agent):
    with time_machine.travel(MONDAY, tick=True) as traveller:
        ticket = ticket_create_for_email(requester_email="maria@example.net", requester_name="Maria Lopez",
                                         subject="Router keeps rebooting", body="It reboots every hour.",
                                         group=inbox.group)
        run_tasks()  # the acknowledgement

        # -- The agent asks a question and waits on the customer. ----------------------------
        login_as(page, agent)
        page.goto(f"/desk/tickets/{ticket.reference}/")
        expect(page.get_by_test_id("followups-panel")).to_be_visible()
        settled(page)
        page.locator("#composer-body").fill("Could you tell us the firmware version shown on the status page?")
        page.get_by_role("button", name="Send and set pending (waiting on customer)").click()
        expect(page.locator("#ticket-header [data-ticket-status]")).to_have_text("Pending (waiting on customer)")
        settled(page)
        run_tasks()  # mails the reply; starts the ladder
        ladder = Ladder.objects.get(ticket=ticket)
        page.reload()
        expect(page.get_by_test_id("ladder")).to_contain_text("Waiting on the customer: 0 of 3 steps done")
        expect(page.locator("#ticket-timeline")).to_contain_text("started waiting on the customer")

        # -- Two business days later the scheduler claims the step; a worker sends the reminder.
        traveller.move_to(ladder.next_step_at)
        clock_tick()
        run_tasks()
        run_tasks()
        reminder = OutboundMessage.objects.get(ticket=ticket, kind=OutboundKind.AUTOMATIC)
        assert reminder.status == OutboundStatus.SENT and reminder.to_addresses == ["maria@example.net"]
        [path] = (mail_home / "outbox").glob(f"*-{reminder.public_id.hex}.eml")
        mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert mail["Auto-Submitted"] == "auto-generated"
        assert f"[#{ticket.reference}]" in mail["Subject"]
        text = mail.get_body(("plain",)).get_content()
        assert "we are waiting for your answer" in text
        [link] = LINK.findall(text)

        # -- The customer follows the link and confirms. -------------------------------------
        customer = new_page()
        customer.goto(link)
        expect(customer).to_have_url(re.compile(rf"/c/t/{ticket.reference}/$"))
        expect(customer.get_by_text("we are waiting for your answer")).to_be_visible()
        customer.get_by_role("button", name="This solved my problem").click()
        expect(customer.get_by_text("Solved — confirmed by you.")).to_be_visible()
        run_tasks()  # the resolution is recorded; the ladder stops

        # -- The agent sees it solved, confirmed by the customer. ----------------------------
        page.reload()
        expect(page.locator("#ticket-header [data-ticket-status]")).to_have_text("Solved")
        timeline = page.locator("#ticket-timeline")
        expect(timeline).to_contain_text("sent reminder 1 to the customer")
        expect(timeline).to_contain_text("Maria Lopez confirmed the problem is solved")
        expect(timeline).to_contain_text("recorded the resolution: confirmed by customer")
        expect(page.get_by_test_id("resolution")).to_contain_text("Solved: confirmed by customer")
        screenshot(page, "followups-ticket-confirmed")

        assert page_problems == [], "\n".join(page_problems)
        assert page_problems.csp_violations(page) == []
        assert page_problems.csp_violations(customer) == []
        ticket.refresh_from_db()
        assert ticket.status == Status.SOLVED
        assert Resolution.objects.get(ticket=ticket).kind == ResolutionKind.CONFIRMED
        assert Ticket.objects.get(pk=ticket.pk).messages.filter(automatic="reminder").count() == 1
