"""SLA in a real browser: the inbox in "next SLA due" order with a badge on every row, the
ticket page's timers (loaded over htmx) and expediting from there."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from frontdesk.calendars.services import calendar_create
from frontdesk.core.clock import clock_tick
from frontdesk.sla.policy_services import sla_policy_create
from frontdesk.tickets.services import ticket_create
from tests.sla.helpers import drain

from .conftest import screenshot, settled

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _quiet_live_server(transactional_db):
    yield
    time.sleep(0.5)  # let the live server finish the panel's requests before the flush


@pytest.fixture
def sla_queue(admin, agent, customer, support):
    always = calendar_create(name="Always open", time_zone="UTC", always_open=True)
    targets = {"first_response": {"low": 480, "normal": 240, "high": 120, "urgent": 60},
               "resolution": {"low": 2880, "normal": 1440, "high": 720, "urgent": 480}}
    sla_policy_create(actor=admin, name="Standard", is_default=True, calendar_id=always.pk, targets=targets)
    sla_policy_create(actor=admin, name="Expedited", is_expedited=True, calendar_id=always.pk,
                      targets={"first_response": {"urgent": 15, "normal": 15}}, expedite_group_id=support.pk,
                      expedite_price="49.00")
    # Opened two hours ago: the urgent one has missed its 60-minute first response.
    with time_machine.travel(timezone.now() - timedelta(hours=2), tick=True):
        urgent = ticket_create(subject="Site down", requester=customer, body="All down", group=support,
                               priority="urgent")
        low = ticket_create(subject="Feature idea", requester=customer, body="Dark mode?", group=support,
                            priority="low")
        drain()
    normal = ticket_create(subject="Invoice copy", requester=customer, body="Please resend", group=support)
    drain()
    clock_tick()
    drain()
    return urgent, normal, low


def test_inbox_sorts_by_next_sla_due_and_the_ticket_page_shows_each_timer(page, login_as, page_problems, agent,
                                                                        sla_queue):
    urgent, normal, low = sla_queue
    login_as(page, agent)
    page.goto("/desk/views/my-groups/")
    page.locator("details.filters summary").click()
    page.get_by_label("Sort").select_option("sla_due_at")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"sort=sla_due_at"))
    rows = page.locator("tr.ticket-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_have_attribute("data-reference", urgent.reference)
    expect(rows.nth(1)).to_have_attribute("data-reference", normal.reference)
    expect(rows.nth(2)).to_have_attribute("data-reference", low.reference)
    expect(rows.nth(0).locator(".sla-badge")).to_have_text(re.compile(r"^Overdue 1 h"))
    expect(rows.nth(1).locator(".sla-badge")).to_have_text(re.compile(r"^[34] h( \d\d)? left$"))
    expect(rows.nth(2).locator(".sla-badge")).to_have_text(re.compile(r"left$"))
    screenshot(page, "sla-inbox")

    rows.nth(0).locator("a.ticket-link").click()
    panel = page.locator("#ticket-sla")
    expect(panel.locator('[data-metric="first_response"]')).to_have_attribute("data-state", "overdue")
    expect(panel.locator('[data-metric="resolution"]')).to_contain_text("left")
    expect(panel).to_contain_text("Target 60 business min (Standard, urgent)")
    settled(page)
    panel.get_by_role("button", name="Expedite (paid priority)").click()
    expect(panel).to_contain_text("Expedited: the expedited policy now applies.")
    expect(panel.locator(".sla-expedited")).to_have_text("Expedited")
    expect(panel).to_contain_text("Target 15 business min (Expedited, urgent)")
    screenshot(page, "sla-ticket")
    assert page_problems == []
    assert page_problems.csp_violations(page) == []
