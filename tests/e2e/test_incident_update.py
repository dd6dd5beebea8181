"""An incident update in a real browser: write it once on the incident page, watch it go out
(the panel polls until every customer is reached), see it on the public status page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from frontdesk.incidents.services import incident_create, incident_link_ticket
from tests.conftest import run_tasks

from .conftest import screenshot, settled

pytestmark = pytest.mark.django_db(transaction=True)


def test_post_an_update_reach_the_customer_and_the_status_page(
        page, page_problems, login_as, agent, ticket, mail_home, settings):
    settings.FRONTDESK_BROADCAST_PER_MINUTE = 1_000_000
    incident = incident_create(actor=agent, title="Card payments declined", severity="critical",
                               on_status_page=True, public_description="Some card payments are declined.")
    incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
    login_as(page, agent)
    page.goto(f"/desk/incidents/{incident.pk}/")

    panel = page.locator("#incident-updates-panel")
    panel.get_by_label("Write the update once", exact=False).fill(
        "Hello {name}, we found the cause and payments work again.")
    panel.get_by_label("Incident status").select_option("monitoring")
    panel.get_by_role("button", name="Send update").click()
    expect(panel.locator(".notice")).to_contain_text("Update sent")
    expect(page.locator("header [data-incident-status]")).to_have_text("Monitoring")  # the header follows
    settled(page)
    run_tasks()  # the worker: fan-out, the message in Maria's ticket, its email
    expect(panel.locator("[data-delivery]").first).to_have_text("sent 1", timeout=15_000)  # the panel polls
    screenshot(page, "incident-update-sent")

    message = ticket.messages.get(automatic="incident_update")
    assert message.body_text == "Hello Maria Lopez, we found the cause and payments work again."
    assert len(list((mail_home / "outbox").glob("*.eml"))) >= 1

    page.goto("/help/status")
    expect(page.locator("[data-status-incident]")).to_contain_text("Card payments declined")
    expect(page.locator("[data-status-incident]")).to_contain_text("Monitoring")
    assert page_problems.csp_violations(page) == []
