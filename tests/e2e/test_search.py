"""Search in a real browser: type in the workspace search box, read the highlighted
snippet, open a result, page through more results, and see a bad date explained."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from frontdesk.tickets.services import ticket_add_note, ticket_create

from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_typing_in_the_search_box_finds_notes_phrases_and_pages(page, login_as, page_problems, agent, customer,
                                                                 support, billing):
    fuser = ticket_create(subject="Printer jammed", requester=customer, group=support, body="Paper jam on tray two.")
    ticket_add_note(ticket=fuser, author=agent, body="Workaround: reseat the fusér unit.")
    ticket_create(subject="Printer quote", requester=customer, group=billing, body="Hidden from Support.")
    for n in range(27):
        ticket_create(subject=f"Toner order {n}", requester=customer, group=support, body="More toner please.")
    login_as(page, agent)
    page.goto("/desk/")
    box = page.locator("#desk-search-q")
    box.click()
    box.fill("fuser")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/desk/search/\?q=fuser"))
    rows = page.locator("[data-search-results] tr.ticket-row")
    expect(rows).to_have_count(1)
    expect(page.locator("[data-snippet] mark")).to_have_text("fusér")  # diacritics ignored, shown as written
    screenshot(page, "search-results")

    box.fill('printer status:new')
    box.press("Enter")
    expect(rows).to_have_count(1)  # the Billing one is not shown to Support
    expect(rows.first).to_contain_text("Printer jammed")
    rows.first.locator("a.ticket-link").click()
    expect(page).to_have_url(re.compile(rf"/desk/tickets/{fuser.reference}/$"))

    page.locator("#desk-search-q").fill("toner")
    page.locator("#desk-search-q").press("Enter")
    expect(rows).to_have_count(25)
    page.locator("[data-search-more]").click()
    expect(rows).to_have_count(2)

    page.locator("#desk-search-q").fill("toner before:last-week")
    page.locator("#desk-search-q").press("Enter")
    expect(page.locator("[data-search-error]")).to_contain_text("YYYY-MM-DD")
    # The refused query is answered 400 on purpose (the browser logs that); nothing else.
    problems = [p for p in page_problems if "status of 400" not in p]
    assert problems == [], "\n".join(problems)
