"""Incidents in a real browser: open one from the form, link tickets from the inbox by bulk
selection, see them on the incident and the banner on a ticket, post an update (the `reach`
panel) and find it in the linked ticket with the banner's new status."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from frontdesk.incidents.models import AffectedCustomer, Incident, IncidentTicket
from frontdesk.tickets.services import ticket_create
from tests.conftest import run_tasks

from .conftest import screenshot, settled

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def outage_tickets(customer, support):
    return [
        ticket_create(subject=subject, requester=customer, body=body, group=support)
        for subject, body in [
            ("Card declined at checkout", "My card payment was declined."),
            ("Payment failed", "The card payment failed twice."),
            ("Change my address", "I moved."),
        ]
    ]


def test_create_an_incident_link_tickets_from_the_inbox_and_post_an_update(
        page, page_problems, login_as, agent, outage_tickets, mail_home, settings):
    settings.FRONTDESK_BROADCAST_PER_MINUTE = 1_000_000
    login_as(page, agent)
    page.goto("/desk/")
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Incidents").click()
    expect(page).to_have_url(re.compile(r"/desk/incidents/$"))
    page.get_by_role("link", name="New incident").click()
    page.get_by_label("Title").fill("Card payments declined")
    page.get_by_label("Severity").select_option("critical")
    page.get_by_label("Public description (customers and the status page see it)").fill(
        "Some card payments are declined; we are on it.")
    page.get_by_role("button", name="Open incident").click()
    incident = Incident.objects.get()
    expect(page).to_have_url(re.compile(rf"/desk/incidents/{incident.pk}/$"))
    expect(page.locator("h1")).to_contain_text(f"INC-{incident.pk} Card payments declined")
    # the suggestions panel (htmx) already proposes the two payment tickets
    expect(page.locator("[data-suggested]")).to_have_count(2)

    # Link two tickets from the inbox by selecting their rows.
    page.goto("/desk/views/all-open/")
    first, second = outage_tickets[0].reference, outage_tickets[1].reference
    for reference in (first, second):
        page.locator(f"tr[data-reference='{reference}'] input[name=t]").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("2 selected")
    page.locator("#bulk-incident-inbox").select_option(str(incident.pk))
    page.get_by_role("button", name="Link", exact=True).click()
    expect(page.locator("#inbox-main .notice.success")).to_contain_text("2 tickets updated")
    settled(page)
    assert set(IncidentTicket.objects.values_list("ticket__reference", flat=True)) == {first, second}

    page.goto(f"/desk/incidents/{incident.pk}/")
    expect(page.locator("[data-linked]")).to_have_count(2)
    expect(page.locator("#incident-affected tbody tr[data-affected]")).to_have_count(1)  # one customer
    expect(page.locator("[data-suggested]")).to_have_count(0)
    screenshot(page, "incident")

    page.get_by_role("link", name=re.compile(first)).first.click()
    banner = page.locator(f"[data-incident-banner='{incident.pk}']")
    expect(banner).to_contain_text("Card payments declined")
    expect(banner).to_contain_text("Some card payments are declined; we are on it.")
    expect(banner.locator("[data-incident-status]")).to_have_text("Investigating")

    # Post an update once: it lands in the linked tickets and moves the status.
    page.goto(f"/desk/incidents/{incident.pk}/")
    panel = page.locator("#incident-updates-panel")
    panel.get_by_label("Write the update once", exact=False).fill("We found the cause; payments work again.")
    panel.get_by_label("Incident status").select_option("monitoring")
    panel.get_by_role("button", name="Send update").click()
    expect(panel.locator(".notice")).to_contain_text("Update sent")
    settled(page)
    run_tasks()
    # Maria wrote twice: the update goes once, into her conversation (the first ticket linked).
    conversation = AffectedCustomer.objects.get(incident=incident).ticket.reference
    page.goto(f"/desk/tickets/{conversation}/")
    expect(banner.locator("[data-incident-status]")).to_have_text("Monitoring")
    expect(page.locator("#conversation")).to_contain_text("We found the cause; payments work again.")
    assert page_problems == []
    assert page_problems.csp_violations(page) == []
