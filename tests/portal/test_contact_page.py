"""GET /help/: the empty contact form, rendered once per set of channels and completed per
request with its own CSRF token and start time."""

from __future__ import annotations

import re

from django.template.loader import get_template
from django.test import Client

from frontdesk.mail.models import Inbox
from frontdesk.portal.forms import ContactForm, started_at
from frontdesk.tickets.models import Ticket


def fields(html: str) -> dict[str, str]:
    return {name: re.search(rf'name="{name}" value="([^"]*)"', html).group(1)
            for name in ("csrfmiddlewaretoken", "started")}


def test_it_is_the_template_rendered_with_this_requests_token_and_start_time(client, inbox):
    response = client.get("/help/")

    html = response.content.decode()
    values = fields(html)
    assert started_at(values["started"]) is not None
    assert response.cookies["csrftoken"].value  # the token's cookie is set, as a template asking for it does
    expected = get_template("portal/help.html").render({
        "inboxes": [("Acme Support", "support@acme.test")], "phone": "", "hours": "", "form": ContactForm(),
        "notice": "", "files_dropped": False, "started": values["started"],
        "csrf_token": values["csrfmiddlewaretoken"],
    })
    assert html == expected
    assert f'"X-CSRFToken": "{values["csrfmiddlewaretoken"]}"' in html


def test_each_visitor_gets_their_own_token(inbox):
    first, second = (fields(Client().get("/help/").content.decode()) for _ in range(2))

    assert first["csrfmiddlewaretoken"] != second["csrfmiddlewaretoken"]


def test_it_shows_a_changed_channel_at_once(client, inbox, settings):
    client.get("/help/")
    Inbox.objects.create(name="Billing", address="billing@acme.test")
    settings.FRONTDESK_SUPPORT_PHONE = "+34 910 000 000"

    html = client.get("/help/").content.decode()
    assert "billing@acme.test" in html and "tel:+34 910 000 000" in html

    Inbox.objects.filter(name="Billing").delete()
    assert "billing@acme.test" not in client.get("/help/").content.decode()


def test_the_served_form_is_accepted_with_csrf_checks_on(inbox, settings):
    settings.FRONTDESK_CONTACT_MIN_SECONDS = 0
    browser = Client(enforce_csrf_checks=True)
    values = fields(browser.get("/help/").content.decode())

    response = browser.post("/help/", {
        **values, "name": "Maria", "email": "maria@example.net", "subject": "Hello", "message": "Hi", "website": "",
    })

    assert response.status_code == 302 and Ticket.objects.count() == 1
    forged = Client(enforce_csrf_checks=True)
    forged.get("/help/")
    refused = forged.post("/help/", {**values, "csrfmiddlewaretoken": "x" * 64, "name": "M",
                                     "email": "m@example.net", "subject": "S", "message": "M", "website": ""})
    assert refused.status_code == 403 and Ticket.objects.count() == 1
