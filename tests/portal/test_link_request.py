"""The neutral page's "Email me a fresh link": mail only to the ticket's own address, the same
answer whatever happened, throttled."""

from __future__ import annotations

from django.test import Client

from frontdesk.customers.services import customer_create
from frontdesk.mail.models import OutboundKind, OutboundMessage
from frontdesk.portal.services import link_resolve

from .conftest import without_csrf


def ask(client, email, reference):
    response = client.post("/c/new-link/", {"email": email, "reference": reference})
    return response, client.get(response["Location"]) if response.status_code == 302 else None


def test_it_emails_a_fresh_working_link_to_the_requesters_address(client, ticket, inbox):
    response, page = ask(client, "MARIA@example.net", f"[#{ticket.reference.lower()}]")

    assert response.status_code == 302 and "Check your email" in page.content.decode()
    mail = OutboundMessage.objects.get()
    assert (mail.kind, mail.recipient, mail.auto_submitted) == (
        OutboundKind.NOTIFICATION, "maria@example.net", "auto-generated")
    assert mail.conversation_url in mail.body_text and ticket.reference in mail.subject
    token = mail.conversation_url.rsplit("/c/", 1)[1].strip("/")
    assert link_resolve(token=token).ticket == ticket
    assert Client().get(f"/c/{token}/").status_code == 302


def test_it_answers_identically_and_sends_nothing_when_they_do_not_match(ticket, inbox):
    other = customer_create(name="Eve", emails=["eve@evil.example"])
    assert other
    answers = []
    for email, reference in [
        ("eve@evil.example", ticket.reference),   # a real address, not this ticket's
        ("maria@example.net", "ZZZZZZZZ"),        # the right address, no such ticket
        ("nobody@example.org", ticket.reference),
    ]:
        response, page = ask(Client(), email, reference)
        assert response.status_code == 302
        answers.append(without_csrf(page.content))
    matching_response, matching_page = ask(Client(), "maria@example.net", ticket.reference)
    answers.append(without_csrf(matching_page.content))

    assert all(answer == answers[0] for answer in answers)
    assert list(OutboundMessage.objects.values_list("recipient", flat=True)) == ["maria@example.net"]


def test_it_never_mails_an_address_the_requester_does_not_own(ticket, inbox):
    ask(Client(), "attacker@evil.example", ticket.reference)

    assert not OutboundMessage.objects.filter(recipient="attacker@evil.example").exists()


def test_it_sends_nothing_to_an_address_that_bounced(ticket, inbox):
    from frontdesk.customers.services import contact_point_mark_undeliverable

    contact_point_mark_undeliverable(email="maria@example.net")
    ask(Client(), "maria@example.net", ticket.reference)

    assert not OutboundMessage.objects.exists()


def test_it_throttles_requests(client, ticket, inbox):
    for _ in range(3):
        assert ask(client, "maria@example.net", ticket.reference)[0].status_code == 302

    response, _ = ask(client, "maria@example.net", ticket.reference)

    assert response.status_code == 429 and "Please wait a moment" in response.content.decode()
    assert OutboundMessage.objects.count() == 3


def test_it_limits_link_mail_per_ticket_even_from_many_addresses(ticket, inbox):
    for n in range(5):
        ask(Client(REMOTE_ADDR=f"10.0.0.{n}"), "maria@example.net", ticket.reference if n < 3 else ticket.reference)

    assert OutboundMessage.objects.count() == 3


def test_it_shows_the_form_again_with_errors_for_bad_input(client):
    response = client.post("/c/new-link/", {"email": "nope", "reference": ""})

    assert response.status_code == 404
    html = response.content.decode()
    assert "Enter a valid email address." in html and "This field is required." in html
