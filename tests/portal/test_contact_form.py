"""/help/: every channel, and the no-login contact form with its spam protection."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from frontdesk.customers.models import ContactPoint
from frontdesk.customers.services import customer_create
from frontdesk.mail.models import Inbox, OutboundKind, OutboundMessage
from frontdesk.tickets.models import Channel, Status, Ticket

from .conftest import acknowledge, started


def form(**overrides):
    data = {
        "name": "Maria Lopez", "email": "Maria@Example.net", "subject": "Cannot log in",
        "message": "The app says my password is wrong.", "website": "", "started": started(30),
    }
    data.update(overrides)
    return data


def test_it_shows_every_channel_offered(client, inbox, settings):
    Inbox.objects.create(name="Billing", address="billing@acme.test")
    settings.FRONTDESK_SUPPORT_PHONE = "+34 910 000 000"
    settings.FRONTDESK_SUPPORT_HOURS = "Mon–Fri 9:00–18:00 CET"

    html = client.get("/help/").content.decode()

    for text in ["support@acme.test", "billing@acme.test", "+34 910 000 000", "Mon–Fri 9:00–18:00 CET",
                 'id="contact-form"', 'name="started"', 'name="website"']:
        assert text in html, text
    for field in ["name", "email", "subject", "message", "attachments"]:
        assert f'<label for="id_{field}">' in html  # every input has its label


def test_it_leaves_out_phone_and_hours_when_not_configured(client, inbox, settings):
    settings.FRONTDESK_SUPPORT_PHONE = ""
    settings.FRONTDESK_SUPPORT_HOURS = ""

    assert "tel:" not in client.get("/help/").content.decode()


def test_it_opens_a_ticket_and_confirms_by_email_with_the_conversation_link(client, inbox, support):
    response = client.post("/help/", form(attachments=[SimpleUploadedFile("error.png", b"\x89PNG x", "image/png")]))

    assert response.status_code == 302 and response["Location"] == "/help/sent/"
    ticket = Ticket.objects.get()
    assert (ticket.subject, ticket.channel, ticket.status, ticket.group) == (
        "Cannot log in", Channel.WEB, Status.NEW, support)
    assert ticket.requester.name == "Maria Lopez"
    assert ContactPoint.objects.get(customer=ticket.requester).value == "maria@example.net"
    assert ticket.messages.get().attachments.get().filename == "error.png"
    assert not OutboundMessage.objects.exists()  # queued by a task after commit, not in the request
    assert acknowledge() == 1
    ack = OutboundMessage.objects.get()
    assert (ack.kind, ack.recipient, ack.auto_submitted) == (OutboundKind.ACK, "maria@example.net", "auto-replied")
    assert ack.conversation_url.startswith("http://127.0.0.1:8000/c/")

    page = client.get("/help/sent/").content.decode()
    assert ticket.reference in page and "maria@example.net" in page


def test_it_binds_the_confirmation_to_the_browser(client, inbox):
    client.post("/help/", form())

    other = Client().get("/help/sent/")

    assert other.status_code == 302 and other["Location"] == "/help/"


def test_it_keeps_the_confirmation_in_a_signed_cookie_for_its_page_only(client, inbox):
    response = client.post("/help/", form())

    cookie = response.cookies["portal_sent"]
    assert (cookie["path"], cookie["httponly"], cookie["samesite"]) == ("/help/sent/", True, "Lax")
    assert not Session.objects.exists()  # sending the form writes the ticket, and no session row
    forged = Client()
    forged.cookies["portal_sent"] = cookie.value[:-1] + ("A" if cookie.value[-1] != "A" else "B")
    assert forged.get("/help/sent/")["Location"] == "/help/"
    tampered = signing.dumps({"reference": "AAAAAAAA", "email": "x@example.org", "subject": "x", "promise": ""},
                             salt="another.salt")
    forged.cookies["portal_sent"] = tampered
    assert forged.get("/help/sent/")["Location"] == "/help/"


def test_it_uses_the_existing_customer_for_a_known_address(client, inbox, customer):
    client.post("/help/", form(email="maria@example.net"))

    assert Ticket.objects.get().requester == customer


def test_it_rejects_a_filled_honeypot_and_keeps_what_was_typed(client, inbox):
    response = client.post("/help/", form(website="http://spam.example"))

    assert response.status_code == 200 and not Ticket.objects.exists()
    html = response.content.decode()
    assert "Leave this field empty" in html and "The app says my password is wrong." in html
    assert 'value="Cannot log in"' in html


def test_it_rejects_a_submission_faster_than_a_person_types(client, inbox, settings):
    settings.FRONTDESK_CONTACT_MIN_SECONDS = 5

    response = client.post("/help/", form(started=started(1)))

    assert response.status_code == 200 and not Ticket.objects.exists()
    html = response.content.decode()
    assert "That was very quick" in html and "The app says my password is wrong." in html
    # The start time is kept, so sending again a moment later works.
    assert 'name="started" value="' in html


def test_it_rejects_a_forged_or_missing_start_time(client, inbox):
    for value in ["", "12345", started(30) + "x", started(2 * 86400)]:
        response = client.post("/help/", form(started=value))
        assert response.status_code == 200 and "send it again" in response.content.decode()
    assert not Ticket.objects.exists()


def test_it_rejects_an_oversize_attachment_and_keeps_the_text(client, inbox, settings):
    settings.FRONTDESK_MAX_ATTACHMENT_BYTES = 1000

    response = client.post("/help/", form(attachments=[SimpleUploadedFile("huge.zip", b"x" * 1001)]))

    assert response.status_code == 200 and not Ticket.objects.exists()
    html = response.content.decode()
    assert "“huge.zip” is 1000\xa0bytes" not in html and "each file can be at most 1000\xa0bytes" in html
    assert "The app says my password is wrong." in html and "please select your files again" in html


def test_it_throttles_per_address_and_per_ip_with_the_text_kept(client, inbox):
    for n in range(5):
        assert client.post("/help/", form(subject=f"Question {n}")).status_code == 302

    response = client.post("/help/", form(subject="One more"))
    assert response.status_code == 429
    html = response.content.decode()
    assert "Please wait about" in html and 'value="One more"' in html
    assert Ticket.objects.count() == 5

    for n in range(5):  # other addresses from the same IP, up to its own allowance
        client.post("/help/", form(email=f"person{n}@example.org"))
    assert client.post("/help/", form(email="new@example.org")).status_code == 429
    assert Client(REMOTE_ADDR="10.0.0.9").post("/help/", form(email="new@example.org")).status_code == 302


def test_it_refuses_a_missing_field_with_a_clear_error(client, inbox):
    response = client.post("/help/", form(email="not-an-address"))

    assert response.status_code == 200 and "Enter a valid email address." in response.content.decode()
    assert not Ticket.objects.exists()


def test_it_creates_no_customer_when_the_ticket_is_refused(client, inbox):
    customer_count = ContactPoint.objects.count()

    client.post("/help/", form(subject="   "))

    assert ContactPoint.objects.count() == customer_count and not Ticket.objects.exists()


def test_it_works_without_any_inbox(client, db):
    customer_create(name="x", emails=["x@example.org"])  # unrelated data

    assert client.post("/help/", form()).status_code == 302
    assert Ticket.objects.get().group is None


def test_it_acknowledges_once_even_if_the_task_runs_twice(client, inbox):
    from frontdesk.portal.intake import contact_ack_queue

    client.post("/help/", form())
    ticket = Ticket.objects.get()
    assert acknowledge() == 1

    again = contact_ack_queue(ticket_id=ticket.pk, inbox_id=inbox.pk, to="maria@example.net",
                              customer_name="Maria Lopez")

    assert again == "already acknowledged" and OutboundMessage.objects.filter(kind=OutboundKind.ACK).count() == 1


def test_it_holds_back_acknowledgements_past_the_address_ceiling(client, inbox, settings):
    settings.FRONTDESK_AUTOREPLY_PER_HOUR = 2
    for n in range(3):
        assert client.post("/help/", form(subject=f"Question {n}")).status_code == 302
    acknowledge()

    assert Ticket.objects.count() == 3  # every ticket is kept
    assert OutboundMessage.objects.filter(kind=OutboundKind.ACK, recipient="maria@example.net").count() == 2
