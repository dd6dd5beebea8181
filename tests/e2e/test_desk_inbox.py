"""The inbox in a real browser: sign in through the form, keyboard navigation, bulk assign."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from frontdesk.tickets.models import Ticket
from frontdesk.tickets.services import ticket_create

from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


@pytest.fixture
def queue(agent, customer, support):
    agent.set_password(PASSWORD)
    agent.save()
    return [
        ticket_create(subject=subject, requester=customer, body="Hello.", group=support, tags=tags)
        for subject, tags in [
            ("Printer on fire", ["hardware"]), ("Refund for order 1234", ["billing"]),
            ("Cannot log in", []), ("Invoice address wrong", ["billing"]),
        ]
    ]


def test_sign_in_navigate_with_keys_and_bulk_assign(page, page_problems, agent, queue):
    page.goto("/desk/views/unassigned/")
    expect(page).to_have_url(re.compile(r"/desk/login/\?next="))
    page.get_by_label("Email").fill("sam@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    screenshot(page, "login")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/desk/views/unassigned/$"))
    expect(page.locator("tr.ticket-row")).to_have_count(4)
    expect(page.locator("#inbox-views a[aria-current=page]")).to_contain_text("Unassigned")

    # j/k move the selection; Enter opens the selected ticket. Keys pressed before the deferred
    # inbox.js has run would reach no handler: wait for the page to finish loading first.
    page.wait_for_load_state("load")
    rows = page.locator("tr.ticket-row")
    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_class(re.compile("is-selected"))
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(rows.nth(1)).to_have_class(re.compile("is-selected"))
    expect(rows.nth(0)).not_to_have_class(re.compile("is-selected"))
    second_ref = rows.nth(1).get_attribute("data-reference")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/desk/tickets/{second_ref}/$"))
    page.go_back()
    expect(page.locator("tr.ticket-row")).to_have_count(4)

    # "/" focuses the search box.
    page.locator("h1").click()
    page.keyboard.press("/")
    expect(page.locator("#desk-search-q")).to_be_focused()
    page.keyboard.press("Escape")
    page.locator("h1").click()

    # x selects rows; bulk-assign the first two to me (htmx swaps the list in place).
    refs = [rows.nth(0).get_attribute("data-reference"), rows.nth(1).get_attribute("data-reference")]
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(page.locator("[data-bulk-count]")).to_have_text("2 selected")
    page.locator("#bulk-assignee").select_option(label="Me")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator("#inbox-main .notice.success")).to_contain_text("2 tickets updated")
    expect(page.locator("tr.ticket-row")).to_have_count(2)
    expect(page.locator("#inbox-views a[href='/desk/views/mine/'] .count")).to_have_text("2")
    assert set(Ticket.objects.filter(assignee=agent).values_list("reference", flat=True)) == set(refs)

    # For the picture: a row selected, the bulk bar showing.
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(page.locator("[data-bulk-count]")).to_have_text("1 selected")
    screenshot(page, "inbox")
    assert page_problems == []
    assert page_problems.csp_violations(page) == []


def test_inbox_fits_a_small_screen(browser, live_server, login_as, agent, queue, page_problems):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 360, "height": 740})
    page = context.new_page()
    login_as(page, agent)
    page.goto("/desk/views/unassigned/")
    expect(page.locator("tr.ticket-row")).to_have_count(4)
    # Nothing wider than the screen: no sideways scrolling of the page itself.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    context.close()
