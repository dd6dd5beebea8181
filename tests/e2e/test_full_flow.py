"""The whole conversation in real browsers, end to end: a customer writes through the contact
form; an agent signs in, finds the ticket among the unassigned ones, takes it and answers;
the customer follows the link in the email the system sent, reads the answer, replies with a
file; the agent sees the ticket reopened with the file; the customer confirms the solution and
the agent's timeline says so.

Everything happens through the pages except what a worker does (delivering the email: the
real task worker runs, via ``run_tasks``) and reading the customer's mailbox (the delivered
``.eml`` in the local outbox folder, as no relay is configured).
"""

from __future__ import annotations

import email
import email.policy
import re
import time
from pathlib import Path

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from frontdesk.desk.presence import presence_others
from frontdesk.mail.models import Inbox, OutboundKind, OutboundMessage, OutboundStatus
from frontdesk.tickets.models import EventKind, Status, Ticket
from tests.conftest import run_tasks

from .conftest import settled

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"
POLL = 12_000  # ms: the ticket page polls for new messages every 5 s
LINK = re.compile(r"View this conversation online: (\S+/c/\S+/)")
STATEMENT = b"%PDF-1.4\n% bank statement, order 1042\n"


@pytest.fixture
def mail_home(settings, live_server, tmp_path) -> Path:
    """No relay: delivered mail lands in FRONTDESK_HOME/outbox, here a folder of this test's
    own; links in mail point at the live server."""
    settings.FRONTDESK_HOME = tmp_path / "home"
    settings.FRONTDESK_SMTP_URL = ""
    settings.FRONTDESK_BASE_URL = live_server.url
    settings.FRONTDESK_CONTACT_MIN_SECONDS = 0  # the bot check: a robot types faster than 3 s
    cache.clear()  # contact-form throttles and presence live in the (shared, in-process) cache
    yield settings.FRONTDESK_HOME
    cache.clear()


@pytest.fixture
def inbox(support):
    return Inbox.objects.create(name="Acme Support", address="support@acme.test", group=support,
                                from_name="Acme Support", is_default=True)


def delivered(home: Path, outbound: OutboundMessage) -> email.message.EmailMessage:
    """The email as the customer's mail server would have received it."""
    [path] = (home / "outbox").glob(f"*-{outbound.public_id.hex}.eml")
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def left_the_ticket(ticket: Ticket, onlooker) -> None:
    """Wait until the server has handled the goodbye beacon of the ticket page just left, so
    the test's own database work never overlaps that page's last request."""
    deadline = time.monotonic() + 10
    while presence_others(ticket_id=ticket.pk, agent=onlooker):
        assert time.monotonic() < deadline, "the ticket page never said goodbye"
        time.sleep(0.05)


def test_a_ticket_from_contact_form_to_confirmed_solution(page, new_page, page_problems, mail_home, inbox,
                                                          live_server, agent, admin):
    agent.set_password(PASSWORD)
    agent.save()

    # -- The customer writes through the contact form. --------------------------------------
    customer = new_page()
    customer.goto("/help/")
    icon = customer.request.get(customer.locator("link[rel=icon]").get_attribute("href"))
    assert icon.ok and icon.headers["content-type"].startswith("image/svg+xml")  # no favicon.ico 404
    customer.get_by_label("Your name").fill("Maria Lopez")
    customer.get_by_label("Your email address").fill("maria@example.net")
    customer.get_by_label("Subject").fill("Charged twice for order 1042")
    customer.get_by_label("How can we help?").fill("My card was charged twice for order 1042.")
    customer.get_by_role("button", name="Send message").click()
    customer.wait_for_url("**/help/sent/")
    reference = customer.get_by_test_id("reference").inner_text()

    # -- The agent signs in through the form and finds it among the unassigned tickets. ------
    page.goto("/desk/")
    expect(page).to_have_url(re.compile(r"/desk/login/"))
    page.get_by_label("Email").fill("sam@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Unassigned").click()
    expect(page).to_have_url(re.compile(r"/desk/views/unassigned/$"))
    row = page.locator(f"tr.ticket-row[data-reference='{reference}']")
    expect(row).to_contain_text("Maria Lopez")
    expect(row.locator(".col-status")).to_have_text("New")
    row.get_by_role("link", name="Charged twice for order 1042").click()
    expect(page).to_have_url(re.compile(rf"/desk/tickets/{reference}/$"))
    expect(page.locator("#message-list")).to_contain_text("My card was charged twice for order 1042.")

    # Takes it, and answers (waiting on the customer).
    page.get_by_role("button", name="Assign to me").click()
    expect(page.locator("#ticket-timeline")).to_contain_text("assigned the ticket to Sam Support")
    settled(page)
    page.locator("#composer-body").fill("We refunded the second charge; it shows on your statement in 3 days.")
    page.get_by_role("button", name="Send and set pending (waiting on customer)").click()
    expect(page.locator("#message-list")).to_contain_text("We refunded the second charge")
    expect(page.locator("#ticket-header [data-ticket-status]")).to_have_text("Pending (waiting on customer)")
    expect(page.locator("#composer-body")).to_have_value("")
    settled(page)

    # On to the next thing: the ticket is the agent's now.
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Inbox").click()
    page.locator("#inbox-views a[href='/desk/views/mine/']").click()
    expect(page).to_have_url(re.compile(r"/desk/views/mine/$"))
    expect(page.locator(f"tr.ticket-row[data-reference='{reference}']")).to_be_visible()
    ticket = Ticket.objects.get(reference=reference)
    left_the_ticket(ticket, onlooker=admin)

    # -- A worker delivers the mail; the customer opens the link in the answer. ---------------
    run_tasks()
    answer = OutboundMessage.objects.get(ticket=ticket, kind=OutboundKind.REPLY)
    assert answer.status == OutboundStatus.SENT and answer.to_addresses == ["maria@example.net"]
    mail = delivered(mail_home, answer)
    assert f"[#{reference}]" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()
    assert "We refunded the second charge" in text
    [link] = LINK.findall(text)
    assert link == answer.conversation_url and link.startswith(f"{live_server.url}/c/")

    customer.goto(link)
    expect(customer).to_have_url(re.compile(rf"/c/t/{reference}/$"))  # the token left the address bar
    expect(customer.get_by_text("We refunded the second charge")).to_be_visible()
    expect(customer.get_by_text("Sam Support").first).to_be_visible()
    customer.get_by_label("Your reply").fill("Thank you! Here is the bank statement showing both charges.")
    customer.get_by_label("Attachments (optional)").set_input_files(
        files=[{"name": "statement.pdf", "mimeType": "application/pdf", "buffer": STATEMENT}])
    customer.get_by_role("button", name="Send reply").click()
    expect(customer.get_by_text("Thank you, your reply was sent.")).to_be_visible()
    expect(customer.get_by_role("link", name="statement.pdf")).to_be_visible()

    # -- The agent's ticket page: reopened, with the file, which downloads. ------------------
    page.get_by_role("link", name="Charged twice for order 1042").click()
    expect(page).to_have_url(re.compile(rf"/desk/tickets/{reference}/$"))
    expect(page.locator("#ticket-header [data-ticket-status]")).to_have_text("Open")
    expect(page.locator("#message-list")).to_contain_text("Here is the bank statement showing both charges.")
    expect(page.locator("#ticket-timeline")).to_contain_text(
        "Maria Lopez changed the status from Pending (waiting on customer) to Open")
    with page.expect_download() as download:
        page.locator("#message-list").get_by_role("link", name="statement.pdf").click()
    assert download.value.suggested_filename == "statement.pdf"
    assert Path(download.value.path()).read_bytes() == STATEMENT

    # -- The customer confirms; the agent sees who closed the loop. --------------------------
    customer.get_by_role("button", name="This solved my problem").click()
    expect(customer.get_by_text("Solved — confirmed by you.")).to_be_visible()
    expect(customer.get_by_test_id("status")).to_have_text("Solved")

    page.reload()
    expect(page.locator("#ticket-header [data-ticket-status]")).to_have_text("Solved")
    expect(page.locator("#ticket-timeline")).to_contain_text(
        "Maria Lopez confirmed the problem is solved (changed the status from Open to Solved)")

    assert page_problems == [], "\n".join(page_problems)
    assert page_problems.csp_violations(page) == []
    assert page_problems.csp_violations(customer) == []

    page.goto("/desk/views/mine/")
    left_the_ticket(ticket, onlooker=admin)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee) == (Status.SOLVED, agent)
    solved = ticket.events.filter(kind=EventKind.STATUS).last()
    assert (solved.actor_customer, solved.after) == (ticket.requester, Status.SOLVED)
    assert ticket.messages.last().attachments.get().filename == "statement.pdf"
