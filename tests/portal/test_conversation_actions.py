"""Writing on the conversation page: replies with attachments, "This solved my problem",
"I still need help", and a reply to a closed ticket."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from frontdesk.tickets.models import Channel, EventKind, Status, Ticket
from frontdesk.tickets.services import ticket_reply, ticket_set_status

from .conftest import open_conversation


def test_it_adds_a_reply_with_attachments_to_the_ticket(client, ticket, customer):
    url = open_conversation(client, ticket)

    response = client.post(f"{url}reply/", {
        "body": "Here is the bank statement.",
        "attachments": [SimpleUploadedFile("statement.pdf", b"%PDF-1.4 statement", "application/pdf"),
                        SimpleUploadedFile("photo.jpg", b"\xff\xd8\xff jpeg", "image/jpeg")],
    })

    assert response.status_code == 302 and response["Location"] == url
    message = ticket.messages.last()
    assert (message.author_customer, message.body_text, message.channel) == (
        customer, "Here is the bank statement.", Channel.WEB)
    assert sorted(message.attachments.values_list("filename", flat=True)) == ["photo.jpg", "statement.pdf"]
    page = client.get(url).content.decode()
    assert "Thank you, your reply was sent." in page and "statement.pdf" in page


def test_it_reopens_a_pending_ticket_when_the_customer_replies(client, ticket, agent):
    ticket_reply(ticket=ticket, author=agent, body="Can you send the statement?", status=Status.PENDING)
    url = open_conversation(client, ticket)

    client.post(f"{url}reply/", {"body": "Attached."})

    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_it_keeps_the_text_and_explains_when_a_reply_is_refused(client, ticket, settings):
    settings.FRONTDESK_MAX_ATTACHMENT_BYTES = 10
    url = open_conversation(client, ticket)

    response = client.post(f"{url}reply/", {
        "body": "My long careful explanation",
        "attachments": [SimpleUploadedFile("big.bin", b"x" * 11)],
    })

    assert response.status_code == 200
    html = response.content.decode()
    assert "My long careful explanation" in html
    assert "“big.bin” is 11\xa0bytes; each file can be at most 10\xa0bytes." in html
    assert "please select your files again" in html
    assert ticket.messages.count() == 1


def test_it_records_the_customer_confirming_the_solution(client, ticket, customer, agent):
    ticket_reply(ticket=ticket, author=agent, body="Refunded.")
    url = open_conversation(client, ticket)

    response = client.post(f"{url}solve/")

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED and ticket.auto_close_at is not None
    event = ticket.events.filter(kind=EventKind.STATUS).last()
    assert (event.actor_customer, event.before, event.after) == (customer, Status.OPEN, Status.SOLVED)
    page = client.get(url).content.decode()
    assert "Solved — confirmed by you." in page
    assert "This solved my problem" not in page and "I still need help" in page


def test_it_reopens_when_the_customer_still_needs_help(client, ticket, customer, agent):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    url = open_conversation(client, ticket)

    response = client.post(f"{url}reopen/")

    assert response["Location"] == f"{url}#reply"
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    event = ticket.events.filter(kind=EventKind.STATUS).last()
    assert (event.actor_customer, event.after) == (customer, Status.OPEN)
    assert "Reopened by you." in client.get(url).content.decode()


def test_it_opens_a_follow_up_when_the_customer_writes_to_a_closed_ticket(client, ticket, customer, agent):
    url = open_conversation(client, ticket)
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    ticket_set_status(ticket=ticket, actor=agent, status=Status.CLOSED)
    assert "This conversation is closed" in client.get(url).content.decode()
    assert client.post(f"{url}solve/").status_code == 302  # refused politely, nothing changes

    response = client.post(f"{url}reply/", {"body": "It happened again."})

    follow_up = Ticket.objects.get(follow_up_of=ticket)
    assert follow_up.requester == customer and follow_up.messages.get().body_text == "It happened again."
    assert response["Location"] == f"/c/t/{follow_up.reference}/"
    page = client.get(response["Location"]).content.decode()
    assert "we opened this new one" in page and "It happened again." in page
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


def test_it_refuses_writes_without_access(ticket):
    stranger = Client()

    for action in ("reply/", "solve/", "reopen/"):
        response = stranger.post(f"/c/t/{ticket.reference}/{action}", {"body": "hi"})
        assert response.status_code == 404
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW and ticket.messages.count() == 1


def test_it_requires_the_csrf_token(ticket):
    client = Client(enforce_csrf_checks=True)
    url = open_conversation(client, ticket)

    assert client.post(f"{url}solve/").status_code == 403


def test_it_accepts_the_null_origin_its_no_referrer_policy_causes_but_still_needs_the_token(ticket):
    client = Client(enforce_csrf_checks=True)
    url = open_conversation(client, ticket)
    client.get(url)
    token = client.cookies["csrftoken"].value

    assert client.post(f"{url}solve/", headers={"Origin": "https://evil.example"},
                       data={"csrfmiddlewaretoken": token}).status_code == 403
    assert client.post(f"{url}solve/", headers={"Origin": "null"}).status_code == 403
    response = client.post(f"{url}solve/", headers={"Origin": "null"}, data={"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED
