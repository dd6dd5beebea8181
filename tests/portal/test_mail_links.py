"""Every email to a customer carries a working conversation link: delivered through a real
local SMTP relay by the real worker, then followed with a browser-like client."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from frontdesk.tickets.models import Ticket
from frontdesk.tickets.services import ticket_reply
from tests.conftest import run_tasks
from tests.mail.test_conversation import RecordingRelay

from .conftest import started

pytestmark = pytest.mark.django_db(transaction=True)

LINK = re.compile(r"View this conversation online: (http://testserver/c/\S+/)")


@pytest.fixture
def relay(settings):
    settings.FRONTDESK_BASE_URL = "http://testserver"
    server = RecordingRelay().start()
    settings.FRONTDESK_SMTP_URL = server.url
    yield server
    server.stop()


def _link(email) -> str:
    text = email.get_body(("plain",)).get_content()
    [url] = LINK.findall(text)
    html = email.get_body(("html",)).get_content()
    assert f'<a href="{url}">View this conversation online</a>' in html
    return url.removeprefix("http://testserver")


def test_the_acknowledgement_and_the_reply_carry_a_link_that_opens_the_conversation(relay, inbox, agent):
    customer_browser = Client()
    response = customer_browser.post("/help/", {
        "name": "Maria Lopez", "email": "maria@example.net", "subject": "Cannot log in",
        "message": "The app says my password is wrong.", "website": "", "started": started(30),
    })
    assert response.status_code == 302
    run_tasks()
    [ack] = relay.messages()
    ticket = Ticket.objects.get()
    assert ack["To"] == "maria@example.net" and ticket.reference in ack["Subject"]

    opened = Client().get(_link(ack))
    assert opened.status_code == 302 and opened["Location"] == f"/c/t/{ticket.reference}/"

    ticket_reply(ticket=ticket, author=agent, body="Please reset it from the login page.")
    run_tasks()
    reply = relay.messages()[1]
    reader = Client()
    page = reader.get(reader.get(_link(reply))["Location"])
    assert page.status_code == 200
    assert "Please reset it from the login page." in page.content.decode()
    assert _link(reply) != _link(ack)  # one link per email, each revocable on its own


def test_a_fresh_link_request_is_delivered_to_the_requester_only(relay, inbox, ticket):
    Client().post("/c/new-link/", {"email": "maria@example.net", "reference": ticket.reference})
    Client().post("/c/new-link/", {"email": "eve@evil.example", "reference": ticket.reference})
    run_tasks()

    [email] = relay.messages()
    assert email["To"] == "maria@example.net" and email["Auto-Submitted"] == "auto-generated"
    assert relay.received[0][1] == ["maria@example.net"]
    assert Client().get(_link(email)).status_code == 302
