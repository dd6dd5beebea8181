"""Satisfaction end to end in Chromium: an agent solves a ticket in the workspace; an hour
later the clock hands the survey to a worker, which mails it (the local outbox: no relay);
the customer opens the "Good" link, adds a comment and sends it; the agent sees the rating
and the comment on the ticket page.

What a worker and the scheduler do runs in the test (``run_tasks``, ``clock_tick``), with
time moved on by ``time_machine``; everything else happens through the pages.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from frontdesk.core.clock import clock_tick
from frontdesk.csat.models import Rating
from frontdesk.mail.models import OutboundKind, OutboundMessage, OutboundStatus
from frontdesk.tickets.models import EventKind
from tests.conftest import run_tasks

from .conftest import screenshot, settled

pytestmark = pytest.mark.django_db(transaction=True)

GOOD = re.compile(r"Good, I'm satisfied:\s+(\S+/c/rate/\S+/)")


def test_a_solved_ticket_gets_a_survey_and_the_good_rating_shows_on_the_ticket(
    page, new_page, login_as, page_problems, mail_home, inbox, ticket, agent, live_server,
):
    ticket.assignee = agent
    ticket.save()
    with time_machine.travel(timezone.now(), tick=True) as traveller:
        # -- The agent solves the ticket from the side panel. ---------------------------------
        login_as(page, agent)
        page.goto(f"/desk/tickets/{ticket.reference}/")
        expect(page.locator("#ticket-rating")).to_contain_text("Not rated.")
        page.get_by_label("Status").select_option("solved")
        expect(page.locator("#ticket-timeline")).to_contain_text("changed the status from New to Solved")
        settled(page)
        run_tasks()  # the status subscription: the survey is due in an hour
        assert clock_tick() == 0

        # -- An hour later the clock hands it over; a worker mails it. ------------------------
        traveller.shift(timedelta(minutes=61))
        assert clock_tick() == 1
        run_tasks()
        outbound = OutboundMessage.objects.get(ticket=ticket, kind=OutboundKind.AUTOMATIC)
        assert outbound.status == OutboundStatus.SENT and outbound.auto_submitted == "auto-generated"
        [path] = (mail_home / "outbox").glob(f"*-{outbound.public_id.hex}.eml")
        mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert mail["Subject"] == f"How did we do? [#{ticket.reference}]"
        assert mail["Auto-Submitted"] == "auto-generated"
        [good] = GOOD.findall(mail.get_body(("plain",)).get_content())
        assert good.startswith(f"{live_server.url}/c/rate/")

        # -- The customer opens "Good": nothing is recorded until they send it. ---------------
        customer = new_page()
        customer.goto(good)
        expect(customer.get_by_role("heading", name="How did we do?")).to_be_visible()
        assert not Rating.objects.exists()
        customer.get_by_label("Anything you would like to tell us? (optional)").fill("Sam fixed it within the hour.")
        customer.get_by_role("button", name="Send my rating: Good").click()
        expect(customer.get_by_text("Thank you! Your rating was saved.")).to_be_visible()
        expect(customer.get_by_test_id("current-rating")).to_contain_text("Good")
        screenshot(customer, "csat-rating")

        # -- The agent sees it on the ticket page. -------------------------------------------
        page.reload()
        expect(page.locator("#ticket-rating [data-rating]")).to_have_text("Good")
        expect(page.locator("#ticket-rating")).to_contain_text("Sam fixed it within the hour.")
        expect(page.locator("#ticket-timeline")).to_contain_text(
            "Maria Lopez rated the support Good: “Sam fixed it within the hour.”")

        # -- And in the report, reached from the workspace's navigation. -----------------------
        page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Reports").click()
        page.get_by_role("link", name="Satisfaction").click()
        expect(page.get_by_test_id("csat-score")).to_have_text("100.0 %")
        expect(page.locator(".csat-comments")).to_contain_text("Sam fixed it within the hour.")
        screenshot(page, "csat-report")

    assert page_problems == [], "\n".join(page_problems)
    assert page_problems.csp_violations(page) == []
    assert page_problems.csp_violations(customer) == []
    rating = Rating.objects.get(ticket=ticket)
    assert (rating.score, rating.agent_id, rating.via) == ("good", agent.pk, "email")
    assert ticket.events.filter(kind=EventKind.SATISFACTION).count() == 1
