"""The ticket page in a real browser: two agents on one ticket (presence, typing, a customer
message arriving while one composes, the stale-reply guard), side-panel changes over htmx,
hostile customer content, and what an outsider gets."""

from __future__ import annotations

import re
import time

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from frontdesk.customers.services import customer_update, organization_create
from frontdesk.tickets.attachments import NewAttachment
from frontdesk.tickets.models import EventKind, Status
from frontdesk.tickets.services import (
    ticket_add_note,
    ticket_create,
    ticket_receive_customer_message,
    ticket_reply,
)

from .conftest import screenshot, settled

pytestmark = pytest.mark.django_db(transaction=True)

POLL = 12_000  # ms: the page beats and polls every 5 s


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # presence lives in the cache, which the live server thread shares
    yield
    cache.clear()


def ticket_url(ticket) -> str:
    return f"/desk/tickets/{ticket.reference}/"


@pytest.fixture(autouse=True)
def _quiet_live_server(transactional_db):
    """Torn down after the browser pages close and before the database is flushed: lets the
    live server finish requests the pages' timers had in flight (on in-memory SQLite they share
    the test's connection, and a flush under a running query fails)."""
    yield
    time.sleep(0.5)


def test_two_agents_see_each_other_typing_and_a_message_arriving_while_composing(
    page, new_page, login_as, page_problems, agent, admin, customer, ticket
):
    acme = organization_create(name="Acme Corp", plan="Enterprise")
    customer_update(customer=customer, organization=acme, plan="Pro", notes="Prefers email; VIP since 2021.",
                    address="Calle Mayor 1\nMadrid", preferences={"language": "es"})
    ticket_create(subject="Password reset", requester=customer, body="Cannot log in.", group=ticket.group)
    ticket_add_note(ticket=ticket, author=admin, body="Payment provider shows two captures.")
    ticket_reply(ticket=ticket, author=admin, body="Hi Maria, we are looking into it.")
    ticket_receive_customer_message(
        ticket=ticket, customer=customer,
        body="Thanks!\n\nOn Mon, 3 Mar 2025 at 10:00, Support wrote:\n> Hi Maria, we are looking into it.",
        attachments=[NewAttachment(filename="statement.pdf", content=b"%PDF-1.4", content_type="application/pdf")],
    )

    login_as(page, agent)
    page.goto(ticket_url(ticket))
    other = new_page()
    login_as(other, admin)
    other.goto(ticket_url(ticket))

    expect(page.locator("#presence")).to_contain_text("Ada Admin is viewing this ticket", timeout=POLL)
    expect(other.locator("#presence")).to_contain_text("Sam Support is viewing this ticket", timeout=POLL)

    page.locator("#composer-body").fill("We refunded one of the two charges")
    expect(other.locator("#presence")).to_contain_text("Sam Support is typing a reply", timeout=POLL)

    # A customer message arrives while Sam writes: it shows up before he sends.
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="Actually it was charged three times!")
    expect(page.locator("#message-list")).to_contain_text("Actually it was charged three times!", timeout=POLL)
    expect(page.locator("#new-message-notice")).to_be_visible()
    expect(page.locator("#new-message-notice")).to_contain_text("read it before you send your reply")
    expect(page.locator(".message.is-new")).to_have_count(1)
    expect(page.locator("#composer-body")).to_have_value("We refunded one of the two charges")
    screenshot(page, "ticket")

    # Having seen it, Sam edits and sends with Ctrl+Enter.
    page.locator("#composer-body").fill("We refunded two of the three charges; the third follows today.")
    page.locator("#composer-body").press("Control+Enter")
    expect(page.locator("#message-list")).to_contain_text("the third follows today", timeout=POLL)
    expect(page.locator("#composer-body")).to_have_value("")
    expect(other.locator("#message-list")).to_contain_text("the third follows today", timeout=POLL)
    expect(other.locator("#presence")).to_contain_text("Sam Support is viewing this ticket", timeout=POLL)
    assert ticket.messages.filter(body_text__contains="the third follows today").count() == 1

    # Ada closes her tab: Sam stops seeing her (her page says goodbye with a beacon; the TTL of
    # her last heartbeat covers a browser that cannot).
    other.close()
    expect(page.locator("#presence")).not_to_contain_text("Ada Admin", timeout=POLL)
    assert page_problems == [], "\n".join(page_problems)


def test_a_reply_is_held_back_when_the_customer_wrote_after_what_the_agent_saw(
    page, login_as, page_problems, agent, customer, ticket
):
    login_as(page, agent)
    page.goto(ticket_url(ticket))
    page.locator("#composer-body").fill("Your refund is on its way.")
    # Before the page's next poll: only the server can notice this message.
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="Please refund to my other card!")
    page.get_by_role("button", name="Send and set pending (waiting on customer)").click()

    status = page.locator("#composer-status")
    expect(status).to_contain_text("not sent")
    expect(page.locator("#message-list")).to_contain_text("Please refund to my other card!")
    expect(page.locator(".message.is-new")).to_have_count(1)
    expect(page.locator("#composer-body")).to_have_value("Your refund is on its way.")
    assert not ticket.messages.filter(body_text="Your refund is on its way.").exists()

    page.get_by_role("button", name=re.compile("Send anyway")).click()
    expect(page.locator("#message-list")).to_contain_text("Your refund is on its way.")
    expect(page.locator("#ticket-header")).to_contain_text("Pending")
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING
    assert page_problems == [], "\n".join(page_problems)


def test_side_panel_changes_save_without_reload_and_show_in_the_timeline(
    page, login_as, page_problems, agent, outsider, ticket
):
    login_as(page, agent)
    page.goto(ticket_url(ticket) + "#assign")
    expect(page.locator("#prop-assignee")).to_be_focused()
    page.evaluate("window.__sameDocument = true")

    page.get_by_label("Status").select_option("pending")
    expect(page.locator("#ticket-timeline")).to_contain_text("changed the status from New to Pending")
    settled(page)
    expect(page.locator("#ticket-header")).to_contain_text("Pending")
    page.get_by_label("Priority").select_option("urgent")
    expect(page.locator("#ticket-timeline")).to_contain_text("changed the priority from Normal to Urgent")
    settled(page)
    page.get_by_label("Add tags").fill("refund vip")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#ticket-timeline")).to_contain_text("added tags refund, vip")
    settled(page)
    page.get_by_role("button", name="Remove tag billing").click()
    expect(page.locator("#ticket-timeline")).to_contain_text("removed tags billing")
    settled(page)

    # Olga is not in Support: refused, said next to the field, nothing changed.
    page.get_by_label("Assignee").select_option(label="Olga Outsider (not in Support)")
    expect(page.locator("#ticket-properties [role=alert]")).to_contain_text("is not a member of group Support")
    settled(page)
    page.get_by_role("button", name="Assign to me").click()
    expect(page.locator("#ticket-timeline")).to_contain_text("assigned the ticket to Sam Support")

    assert page.evaluate("window.__sameDocument") is True  # no page load happened
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee) == (Status.PENDING, "urgent", agent)
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["refund", "vip"]
    assert ticket.events.filter(kind=EventKind.ASSIGNEE).count() == 1

    page.reload()
    expect(page.get_by_label("Status")).to_have_value("pending")
    expect(page.locator("#ticket-timeline")).to_contain_text("assigned the ticket to Sam Support")

    # The customer answers: the ticket reopens, and the panel follows without a reload (once
    # the agent is not using it: #assign put the focus in it).
    page.locator("h1").click()
    ticket_receive_customer_message(ticket=ticket, customer=ticket.requester, body="Here is the screenshot.")
    expect(page.get_by_label("Status")).to_have_value("open", timeout=POLL)
    expect(page.locator("#ticket-timeline")).to_contain_text("from Pending (waiting on customer) to Open")
    assert page_problems == [], "\n".join(page_problems)
    assert page_problems.csp_violations(page) == []


def test_hostile_customer_content_runs_nothing(page, login_as, page_problems, agent, customer, ticket):
    ticket_receive_customer_message(
        ticket=ticket, customer=customer, body="",
        body_html='<p>Look<script>alert(1)</script> <a href="javascript:alert(2)">here</a> '
                  '<img src="x" onerror="alert(3)"> <b onclick="alert(4)">bold</b></p>',
    )
    ticket_receive_customer_message(
        ticket=ticket, customer=customer,
        body='<script>alert(5)</script> [link](javascript:alert(6)) <img src=x onerror=alert(7)>',
    )
    customer_update(customer=customer, notes='<script>alert(8)</script>')

    login_as(page, agent)
    page.goto(ticket_url(ticket))
    expect(page.locator("#message-list")).to_contain_text("<script>alert(5)</script>")
    page.get_by_text("here", exact=True).click()
    page.get_by_text("bold", exact=True).click()
    page.wait_for_timeout(500)

    assert page.evaluate("document.querySelectorAll('#message-list script, [onerror], [onclick]').length") == 0
    assert page.evaluate("Array.from(document.links).filter(a => a.protocol === 'javascript:').length") == 0
    assert page_problems == [], "\n".join(page_problems)
    assert page_problems.csp_violations(page) == []


def test_an_outsider_gets_404_for_the_ticket_and_its_attachment(page, login_as, outsider, customer, ticket):
    message = ticket_receive_customer_message(
        ticket=ticket, customer=customer, body="Statement attached",
        attachments=[NewAttachment(filename="statement.pdf", content=b"%PDF-1.4")],
    )
    attachment = message.attachments.get()
    login_as(page, outsider)

    assert page.goto(ticket_url(ticket)).status == 404
    assert page.goto(f"/desk/attachments/{attachment.public_id}/").status == 404
    assert page.goto("/desk/tickets/ZZZZZZZZ/").status == 404


def test_the_customer_page_and_the_ticket_page_fit_a_phone(page, login_as, page_problems, agent, customer, ticket):
    acme = organization_create(name="Acme Corp", plan="Enterprise", domains=["acme.test"])
    customer_update(customer=customer, organization=acme, plan="Pro", address="Calle Mayor 1\nMadrid",
                    preferences={"language": "es", "contact": "email"}, notes="VIP since 2021.",
                    add_phones=["+34 600 000 000"])
    ticket_create(subject="Password reset", requester=customer, body="Cannot log in.", group=ticket.group)
    login_as(page, agent)

    page.goto(f"/desk/customers/{customer.pk}/")
    expect(page.locator("h1")).to_contain_text("Maria Lopez")
    expect(page.get_by_role("link", name="Acme Corp")).to_be_visible()
    screenshot(page, "customer")

    page.set_viewport_size({"width": 360, "height": 800})
    for path in [f"/desk/customers/{customer.pk}/", ticket_url(ticket)]:
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
    page.goto(ticket_url(ticket) + "#reply")
    expect(page.locator("#composer-body")).to_be_focused()
    expect(page.locator("#composer-kind-reply")).to_be_checked()
    assert page_problems == [], "\n".join(page_problems)
