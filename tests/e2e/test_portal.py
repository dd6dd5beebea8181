"""The customer side in a real browser: contact form → reference; the agent answers; the
customer follows the emailed link, reads, answers with a file and confirms the solution; a
tampered link shows the neutral page; hostile content executes nothing."""

from __future__ import annotations

import re

import pytest

from frontdesk.mail.models import Inbox
from frontdesk.tickets.models import EventKind, Status, Ticket
from frontdesk.tickets.services import ticket_create, ticket_reply
from tests.conftest import run_tasks
from tests.mail.test_conversation import RecordingRelay

from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

LINK = re.compile(r"View this conversation online: (\S+/c/\S+/)")


@pytest.fixture
def relay(settings, live_server):
    settings.FRONTDESK_BASE_URL = live_server.url
    settings.FRONTDESK_CONTACT_MIN_SECONDS = 0
    server = RecordingRelay().start()
    settings.FRONTDESK_SMTP_URL = server.url
    yield server
    server.stop()


@pytest.fixture
def inbox(support):
    return Inbox.objects.create(name="Acme Support", address="support@acme.test", group=support,
                                from_name="Acme Support", is_default=True)


def _link(email) -> str:
    [url] = LINK.findall(email.get_body(("plain",)).get_content())
    return url


def test_a_customer_writes_reads_the_answer_replies_and_confirms(page, new_page, relay, inbox, agent,
                                                                  page_problems):
    page.goto("/help/")
    page.get_by_label("Your name").fill("Maria Lopez")
    page.get_by_label("Your email address").fill("maria@example.net")
    page.get_by_label("Subject").fill("Charged twice for my order")
    page.get_by_label("How can we help?").fill("My card was charged twice for order 1042.")
    assert page.locator("a[href='mailto:support@acme.test']").is_visible()
    screenshot(page, "contact")
    assert page_problems.csp_violations(page) == []
    page.set_viewport_size({"width": 360, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("button", name="Send message").click()

    page.wait_for_url("**/help/sent/")
    ticket = Ticket.objects.get()
    assert page.get_by_test_id("reference").inner_text() == ticket.reference

    ticket_reply(ticket=ticket, author=agent, body="We refunded the second charge; it shows in 3 days.",
                 status=Status.PENDING)
    run_tasks()
    ack, reply = relay.messages()
    link = _link(reply)

    customer = new_page()  # the customer reads their mail on another device
    customer.goto(link)
    assert customer.url.endswith(f"/c/t/{ticket.reference}/")  # the token left the address bar
    assert customer.get_by_text("We refunded the second charge").is_visible()
    assert customer.get_by_text("Sam Support").first.is_visible()

    customer.get_by_label("Your reply").fill("Thank you! Here is the bank statement.")
    customer.get_by_label("Attachments (optional)").set_input_files(
        files=[{"name": "statement.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 statement"}])
    customer.get_by_role("button", name="Send reply").click()
    customer.get_by_text("Thank you, your reply was sent.").wait_for()
    assert customer.get_by_role("link", name="statement.pdf").is_visible()

    customer.get_by_role("button", name="This solved my problem").click()
    customer.get_by_text("Solved — confirmed by you.").wait_for()
    assert customer.get_by_test_id("status").inner_text() == "Solved"
    screenshot(customer, "conversation")
    customer.set_viewport_size({"width": 360, "height": 800})  # a small phone: nothing scrolls sideways
    assert customer.evaluate("document.documentElement.scrollWidth") <= 360
    assert page_problems == []
    assert customer.evaluate("window.__cspViolations || []") == []

    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED
    event = ticket.events.filter(kind=EventKind.STATUS).last()
    assert event.actor_customer == ticket.requester and event.after == Status.SOLVED
    assert ticket.messages.last().attachments.get().filename == "statement.pdf"

    token = link.rstrip("/").rsplit("/", 1)[1]
    tampered = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    stranger = new_page()
    stranger.goto(link.replace(token, tampered))
    assert stranger.get_by_role("heading", name="This link cannot be opened").is_visible()
    assert stranger.get_by_role("button", name="Email me a link").is_visible()
    assert "We refunded" not in stranger.content()


def test_hostile_content_executes_nothing_on_the_conversation_page(page, relay, inbox, customer, page_problems):
    from frontdesk.portal.services import link_issue, link_path

    hostile = ('<p>Hi <script>alert(1)</script><a href="javascript:alert(2)">click me</a>'
               '<img src=x onerror="alert(3)"></p>')
    ticket = ticket_create(subject="<script>alert(4)</script>", requester=customer, body="", body_html=hostile)

    page.goto(link_path(link_issue(ticket=ticket)))
    page.get_by_label("Your reply").fill('<script>alert(5)</script> <a href="javascript:alert(6)">x</a>')
    page.get_by_role("button", name="Send reply").click()
    page.get_by_text("Thank you, your reply was sent.").wait_for()
    page.get_by_text("click me").click()
    page.wait_for_timeout(300)

    assert page.get_by_role("heading", name="<script>alert(4)</script>").is_visible()  # shown as text
    assert page.get_by_text('<script>alert(5)</script> <a href="javascript:alert(6)">x</a>').is_visible()
    assert page_problems == []
    assert page_problems.csp_violations(page) == []
    assert page.locator("[href^='javascript' i], script:not([src])").count() == 0
