"""/c/<token>/ and /c/t/<reference>/: the exchange, what the page shows, and the one neutral
page for every failure."""

from __future__ import annotations

import pytest
from django.test import Client

from frontdesk.customers.services import customer_create
from frontdesk.portal.services import link_issue, link_path, link_resolve, link_revoke, link_revoke_all
from frontdesk.tickets.attachments import NewAttachment
from frontdesk.tickets.services import ticket_add_note, ticket_create, ticket_reply

from .conftest import open_conversation, without_csrf


def test_it_exchanges_the_token_for_a_session_and_drops_it_from_the_url(client, ticket):
    token = link_issue(ticket=ticket)

    response = client.get(link_path(token))

    assert response.status_code == 302
    assert response["Location"] == f"/c/t/{ticket.reference}/"
    assert token not in response["Location"]
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"Charged twice" in page.content and b"My card was charged twice." in page.content
    assert token.encode() not in page.content


def test_it_cycles_the_session_key_on_exchange(client, ticket):
    client.get("/help/")  # some session may exist before
    client.session["x"] = 1
    before = client.cookies.get("sessionid")
    open_conversation(client, ticket)

    assert client.cookies["sessionid"].value != (before.value if before else None)


def test_it_shows_public_replies_with_the_agents_name_and_never_internal_notes(client, ticket, agent):
    ticket_reply(ticket=ticket, author=agent, body="We refunded the second charge.")
    ticket_add_note(ticket=ticket, author=agent, body="SECRET: customer is on the watch list",
                    attachments=[NewAttachment(filename="internal-report.pdf", content=b"%PDF-1.4 x")])

    page = client.get(open_conversation(client, ticket))

    html = page.content.decode()
    assert "We refunded the second charge." in html and "Sam Support" in html
    assert "SECRET" not in html and "watch list" not in html and "internal-report.pdf" not in html
    assert "sam@example.com" not in html  # agents by name only
    assert "Support" in html and "billing" not in html  # no group or tag details leak as such


def test_it_sends_no_referrer_and_forbids_caching_on_every_response(client, ticket):
    token = link_issue(ticket=ticket)
    responses = [
        client.get(link_path(token)),
        client.get(f"/c/t/{ticket.reference}/"),
        client.post(f"/c/t/{ticket.reference}/reply/", {"body": ""}),
        client.get(link_path("tampered")),
        client.get("/c/t/ZZZZZZZZ/"),
        client.get("/c/new-link/sent/"),
    ]
    for response in responses:
        assert response["Referrer-Policy"] == "no-referrer", response
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
        assert response["X-Robots-Tag"] == "noindex, nofollow"
    contact = client.get("/help/")
    assert contact["Referrer-Policy"] == "no-referrer" and "no-store" in contact["Cache-Control"]
    assert "X-Robots-Tag" not in contact  # the contact page may be found by search engines


def test_it_refuses_an_absurdly_large_upload_before_reading_it(client, ticket, settings):
    settings.FRONTDESK_MAX_ATTACHMENT_BYTES = 1000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    url = open_conversation(client, ticket)
    limit = 1000 * 10 + 2 * 1000

    response = client.generic("POST", f"{url}reply/", b"x" * (limit + 1),
                              content_type="multipart/form-data; boundary=xyz")

    assert response.status_code == 413 and response["Referrer-Policy"] == "no-referrer"
    assert ticket.messages.count() == 1


def _neutral(client, path):
    response = client.get(path)
    assert response.status_code == 404
    return without_csrf(response.content)


def test_it_answers_every_failure_with_the_same_neutral_page(ticket, customer, settings):
    valid = link_issue(ticket=ticket)
    revoked = link_issue(ticket=ticket)
    link_revoke(link=link_resolve(token=revoked).link)
    expired_later = link_issue(ticket=ticket)
    payload, _, rest = valid.partition(":")
    tampered = payload[:-1] + ("A" if payload[-1] != "A" else "B") + ":" + rest

    pages = {
        "tampered": _neutral(Client(), link_path(tampered)),
        "truncated": _neutral(Client(), link_path(valid[:-3])),
        "garbage": _neutral(Client(), link_path("hello")),
        "revoked": _neutral(Client(), link_path(revoked)),
        "no session": _neutral(Client(), f"/c/t/{ticket.reference}/"),
        "unknown reference": _neutral(Client(), "/c/t/ZZZZZZZZ/"),
    }
    settings.FRONTDESK_CONVERSATION_LINK_DAYS = -1
    pages["expired"] = _neutral(Client(), link_path(expired_later))

    first = next(iter(pages.values()))
    assert "This link cannot be opened" in first and "Email me a fresh link" in first
    assert ticket.reference not in first
    assert all(page == first for page in pages.values()), [name for name, page in pages.items() if page != first]


def test_it_opens_only_the_ticket_the_link_was_for(client, ticket, customer):
    other = ticket_create(subject="My other question", requester=customer, body="Different topic")
    open_conversation(client, ticket)

    response = client.get(f"/c/t/{other.reference}/")

    assert response.status_code == 404 and b"My other question" not in response.content


def test_it_ends_access_when_the_link_is_revoked_or_the_grant_expires(ticket, settings):
    client = Client()
    url = open_conversation(client, ticket)
    assert client.get(url).status_code == 200

    link_revoke_all(ticket=ticket)
    assert client.get(url).status_code == 404

    other = Client()
    url = open_conversation(other, ticket)
    settings.FRONTDESK_PORTAL_SESSION_HOURS = 0
    assert other.get(url).status_code == 404


def test_it_redirects_a_merged_ticket_to_the_one_it_continues_in(client, ticket, customer, agent):
    url = open_conversation(client, ticket)
    target = ticket_create(subject="Duplicate", requester=customer, body="Same problem", group=ticket.group)
    from frontdesk.tickets.services import ticket_merge

    ticket_merge(source=ticket, target=target, actor=agent)

    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == f"/c/t/{target.reference}/"


def test_it_serves_public_attachments_as_downloads_and_nothing_else(client, ticket, customer, agent):
    reply = ticket_reply(ticket=ticket, author=agent, body="Here is your invoice.",
                         attachments=[NewAttachment(filename="invoice.html", content=b"<script>x</script>",
                                                    content_type="text/html")])
    note = ticket_add_note(ticket=ticket, author=agent, body="internal",
                           attachments=[NewAttachment(filename="secret.txt", content=b"secret")])
    elsewhere = ticket_create(subject="Other", requester=customer, body="x",
                              attachments=[NewAttachment(filename="other.txt", content=b"other")])
    url = open_conversation(client, ticket)
    page = client.get(url).content.decode()
    public = reply.attachments.get()
    assert f"/c/t/{ticket.reference}/files/{public.public_id}/" in page

    response = client.get(f"{url}files/{public.public_id}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"<script>x</script>"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "no-referrer"

    for hidden in [note.attachments.get(), elsewhere.messages.get().attachments.get()]:
        assert client.get(f"{url}files/{hidden.public_id}/").status_code == 404
    assert client.get(f"{url}files/not-a-uuid/").status_code == 404
    assert Client().get(f"{url}files/{public.public_id}/").status_code == 404  # no session, no file


@pytest.mark.parametrize("body", [
    "<script>alert(1)</script> and <a href=\"javascript:alert(2)\">click</a>",
])
def test_it_escapes_or_sanitizes_customer_content(client, customer, body):
    ticket = ticket_create(subject="<img src=x onerror=alert(3)>", requester=customer, body="plain",
                           body_html=body)
    html = client.get(open_conversation(client, ticket)).content.decode()

    assert "<script>alert(1)" not in html and "javascript:" not in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(3)&gt;" in html


def test_it_does_not_show_another_customers_conversation_after_a_stranger_gets_a_link(client, ticket):
    stranger = customer_create(name="Eve", emails=["eve@evil.example"])
    theirs = ticket_create(subject="Eve's", requester=stranger, body="hello")
    open_conversation(client, theirs)

    assert client.get(f"/c/t/{ticket.reference}/").status_code == 404
