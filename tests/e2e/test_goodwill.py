"""Goodwill in a real browser: a voucher within mandate granted from the ticket page and sent
in the reply (the customer's email holds the code); a credit above mandate approved by the
supervisor on the approvals page, fulfilled by the back-office, shown on the ticket."""

from __future__ import annotations

import email
import email.policy
import re
import time
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from frontdesk.accounts.services import agent_create
from frontdesk.desk.presence import presence_others
from frontdesk.goodwill.models import Gesture, Grant, GrantStatus, Mandate, Voucher, WebhookEndpoint
from frontdesk.mail.models import Inbox, OutboundKind, OutboundMessage, OutboundStatus
from tests.conftest import run_tasks
from tests.goodwill.conftest import BackOffice

from .conftest import screenshot, settled

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def catalog(support):
    Inbox.objects.create(name="Acme Support", address="support@acme.test", group=support,
                         from_name="Acme Support", is_default=True)
    Mandate.objects.create(role="agent", currency="EUR", max_per_gesture=Decimal("50"),
                           monthly_budget=Decimal("200"))
    voucher = Gesture.objects.create(
        name="Voucher 10", kind="voucher", currency="EUR", value=Decimal("10"), fulfilment="voucher_pool",
        snippet="As an apology, here is a voucher worth {amount} {currency}: {code}",
    )
    Voucher.objects.bulk_create([Voucher(gesture=voucher, code=c) for c in ("SORRY-7Q2X", "SORRY-8R3Y")])
    return voucher


def left_the_ticket(ticket, onlooker) -> None:
    deadline = time.monotonic() + 10
    while presence_others(ticket_id=ticket.pk, agent=onlooker):
        assert time.monotonic() < deadline, "the ticket page never said goodbye"
        time.sleep(0.05)


def test_an_agent_grants_a_voucher_and_sends_the_code(page, login_as, page_problems, mail_home, catalog, agent,
                                                      admin, ticket):
    login_as(page, agent)
    page.goto(f"/desk/tickets/{ticket.reference}/")
    panel = page.locator("#goodwill-panel")
    expect(panel.locator("[data-goodwill-budget]")).to_contain_text("200.00 EUR left this month")
    settled(page)
    panel.get_by_label("Gesture", exact=True).select_option(label="Voucher 10 — 10.00 EUR")
    panel.get_by_label("Reason").select_option(label="Our mistake")
    panel.get_by_role("button", name="Grant gesture").click()
    expect(panel.locator("[data-goodwill-code]")).to_have_text("SORRY-7Q2X")
    expect(panel.locator("[data-goodwill-budget]")).to_contain_text("190.00 EUR left this month")
    settled(page)
    page.locator("#composer-body").fill("Hello Maria, we are sorry about the double charge.")
    panel.get_by_role("button", name="Insert into reply").click()
    expect(page.locator("#composer-body")).to_have_value(re.compile(r"double charge\.\n\nAs an apology.*SORRY-7Q2X$"))
    screenshot(page, "goodwill-voucher")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("#message-list")).to_contain_text("SORRY-7Q2X")
    expect(page.locator("#composer-body")).to_have_value("")
    page.reload()
    expect(page.locator("#ticket-timeline")).to_contain_text("voucher SORRY-7Q2X handed out")
    page.goto("/desk/")
    left_the_ticket(ticket, onlooker=admin)

    run_tasks()
    answer = OutboundMessage.objects.get(ticket=ticket, kind=OutboundKind.REPLY)
    assert answer.status == OutboundStatus.SENT
    [path] = (mail_home / "outbox").glob(f"*-{answer.public_id.hex}.eml")
    mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert "SORRY-7Q2X" in mail.get_body(preferencelist=("plain",)).get_content()
    assert page_problems == [] and page_problems.csp_violations(page) == []


def test_a_credit_above_mandate_is_approved_and_fulfilled(page, new_page, login_as, page_problems, catalog, agent,
                                                          admin, ticket, support, settings):
    office = BackOffice()
    try:
        endpoint = WebhookEndpoint.objects.create(name="Billing", url=office.url, secret="s3cret", allow_private=True)
        Gesture.objects.create(name="Account credit", kind="account_credit", currency="EUR", min_value=Decimal("5"),
                               max_value=Decimal("300"), fulfilment="webhook", endpoint=endpoint,
                               snippet="We credited {amount} {currency} to your account.")
        supervisor = agent_create(email="sue@example.com", name="Sue Supervisor", group_names=["Support"])
        Mandate.objects.create(agent=supervisor, currency="EUR", max_per_gesture=Decimal("500"))

        login_as(page, agent)
        page.goto(f"/desk/tickets/{ticket.reference}/")
        panel = page.locator("#goodwill-panel")
        expect(panel.get_by_role("button", name="Grant gesture")).to_be_visible()
        settled(page)
        panel.get_by_label("Gesture", exact=True).select_option(label="Account credit — 5.00–300.00 EUR")
        panel.locator("#goodwill-value").fill("120")
        panel.get_by_label("Reason").select_option(label="Outage")
        panel.get_by_role("button", name="Grant gesture").click()
        expect(panel.locator("[data-goodwill-result=pending]")).to_contain_text("sent for approval")
        page.goto("/desk/")
        left_the_ticket(ticket, onlooker=admin)

        boss = new_page()
        login_as(boss, supervisor)
        boss.goto("/desk/notifications/")
        expect(boss.locator("[data-notification=goodwill_approval]")).to_contain_text("Approval needed")
        boss.goto("/desk/approvals/")
        grant = Grant.objects.get()
        item = boss.locator(f"[data-grant='{grant.pk}']")
        expect(item).to_contain_text("Account credit 120.00 EUR")
        screenshot(boss, "goodwill-approvals")
        item.get_by_role("button", name="Approve").click()
        expect(boss.locator(".notice.success, .messages").first).to_contain_text("approved")
        assert Grant.objects.get().status == GrantStatus.GRANTED

        run_tasks()  # the webhook
        assert Grant.objects.get().status == GrantStatus.FULFILLED
        assert list(office.credits.values()) == ["120.00"]

        page.goto(f"/desk/tickets/{ticket.reference}/")
        expect(page.locator("#ticket-timeline")).to_contain_text("approved Account credit (120.00 EUR)")
        expect(page.locator("#ticket-timeline")).to_contain_text("Account credit (120.00 EUR) fulfilled by Billing")
        expect(page.locator(f"#goodwill-panel [data-grant='{grant.pk}']")).to_have_attribute(
            "data-grant-status", "fulfilled")
        assert page_problems == []
    finally:
        office.close()


def test_an_approver_approves_from_the_emailed_link(page, login_as, page_problems, mail_home, catalog, agent, ticket,
                                                    support):
    """The approval request reaches the supervisor by email; its link, opened in the browser,
    asks to sign in, then shows a confirmation page (opening it decides nothing); Approve
    decides, and the manual gesture becomes a to-do."""
    from frontdesk.goodwill.services import gesture_grant

    gift = Gesture.objects.create(name="Flowers", kind="physical_gift", currency="EUR", value=Decimal("80"),
                                  fulfilment="manual", task_group=support, snippet="Flowers are on their way.")
    supervisor = agent_create(email="sue@example.com", name="Sue Supervisor", group_names=["Support"])
    Mandate.objects.create(agent=supervisor, currency="EUR", max_per_gesture=Decimal("500"))
    grant = gesture_grant(ticket=ticket, agent=agent, gesture=gift, value="80", currency="EUR", reason="delay")
    assert grant.status == GrantStatus.PENDING_APPROVAL
    run_tasks()
    mail = next(
        m for p in (mail_home / "outbox").glob("*.eml")
        if (m := email.message_from_bytes(p.read_bytes(), policy=email.policy.default))["To"] == supervisor.email
    )
    assert mail["Subject"].strip().startswith("Approval needed: Flowers (80.00 EUR)")
    link = re.search(r"http://\S+/desk/approvals/link/\S+/", mail.get_body(preferencelist=("plain",)).get_content())
    assert link, "the email has no approval link"

    page.goto(link.group(0))
    expect(page).to_have_url(re.compile(r"/desk/login/\?next="))  # signed out: sign in first
    login_as(page, supervisor)
    page.goto(link.group(0))
    expect(page.get_by_role("heading")).to_contain_text("Approve Flowers 80.00 EUR?")
    assert Grant.objects.get().status == GrantStatus.PENDING_APPROVAL
    screenshot(page, "goodwill-approval-link")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".notice.success, .messages").first).to_contain_text("approved")
    assert Grant.objects.get().status == GrantStatus.GRANTED
    page.goto(link.group(0))  # replayed: nothing to decide any more
    expect(page.locator("body")).to_contain_text("Nothing was changed")
    assert Grant.objects.get().status == GrantStatus.GRANTED
    assert page_problems.csp_violations(page) == []
