"""The ticket page at /desk/tickets/<reference>/: conversation, composer, side panel, timeline,
customer panel, attachments, the new-messages poll and the stale-reply guard."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from frontdesk.customers.services import customer_update
from frontdesk.tickets.attachments import NewAttachment
from frontdesk.tickets.models import EventKind, Message, Status, TicketEvent
from frontdesk.tickets.services import (
    ticket_add_note,
    ticket_assign,
    ticket_create,
    ticket_receive_customer_message,
    ticket_reply,
    ticket_set_status,
    ticket_solve_by_customer,
    ticket_tag,
)
from tests.desk.conftest import client_for

HTMX = {"HX-Request": "true"}


def url(ticket, suffix: str = "") -> str:
    return f"/desk/tickets/{ticket.reference}/{suffix}"


def newest_id(ticket) -> int:
    return ticket.messages.order_by("-id").values_list("id", flat=True).first()


def page_after_customer_wrote(ticket, *, agent, customer, body: str = "", body_html: str | None = None) -> str:
    """The ticket page as ``agent`` sees it once ``customer`` has written ``body`` (or, as
    HTML mail, ``body_html``)."""
    ticket_receive_customer_message(ticket=ticket, customer=customer, body=body, body_html=body_html)
    return client_for(agent).get(url(ticket)).content.decode()


# ---- reading -------------------------------------------------------------------------------

def test_it_shows_the_conversation_timeline_and_customer_panel(ticket, agent, customer):
    ticket_add_note(ticket=ticket, author=agent, body="Checked the payment provider.")
    ticket_reply(ticket=ticket, author=agent, body="We are on it.")
    other = ticket_create(subject="Password reset", requester=customer, body="?", group=ticket.group)
    customer_update(customer=customer, plan="Pro", address="Calle Mayor 1\nMadrid",
                    preferences={"language": "es"}, notes="Prefers email.")

    page = client_for(agent).get(url(ticket)).content.decode()

    assert "Charged twice" in page and "My card was charged twice." in page
    assert 'class="message message-note' in page and "Checked the payment provider." in page
    assert 'class="message message-reply' in page and 'class="message message-customer' in page
    assert "changed the status from New to Open" in page  # the timeline
    assert "maria@example.net" in page and "Europe/Madrid" in page and "local time" in page
    assert "Pro" in page and "Calle Mayor 1<br>Madrid" in page and "language: es" in page
    assert "Prefers email." in page
    assert f"/desk/tickets/{other.reference}/" in page  # the customer's other tickets


def test_it_says_in_the_timeline_when_the_customer_confirmed_the_solution(ticket, agent, customer):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    ticket_set_status(ticket=ticket, actor=agent, status=Status.OPEN)
    ticket_solve_by_customer(ticket=ticket, customer=customer)

    page = client_for(agent).get(url(ticket)).content.decode()

    assert page.count("confirmed the problem is solved (changed the status from Open to Solved)") == 1
    assert "Sam Support</strong> changed the status from New to Solved" in page  # an agent's: as before


def test_it_answers_404_for_a_hidden_ticket_exactly_like_a_missing_one(ticket, outsider):
    client = client_for(outsider)
    hidden = client.get(url(ticket))
    missing = client.get("/desk/tickets/ZZZZZZZZ/")

    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content
    for suffix, method in [("messages/new/?after=0", "get"), ("presence/", "post"), ("messages/", "post"),
                           ("status/", "post"), ("assignee/", "post"), ("tags/", "post")]:
        assert getattr(client, method)(url(ticket, suffix)).status_code == 404, suffix
    assert ticket.messages.count() == 1 and ticket.events.count() == 2


def test_it_sends_anonymous_visitors_to_sign_in(client, ticket):
    response = client.get(url(ticket))
    assert response.status_code == 302 and response["Location"].startswith("/desk/login/")


def test_it_marks_the_controls_the_inbox_shortcuts_focus(ticket, agent, light):
    page = client_for(agent).get(url(ticket)).content.decode()
    for element_id in ['id="composer-kind-reply"', 'id="composer-kind-note"', 'id="prop-assignee"',
                       'id="composer-body"', "desk/ticket.js"]:
        assert element_id in page

    light_page = client_for(light).get(url(ticket)).content.decode()
    assert 'id="composer-kind-reply"' not in light_page and 'id="composer-kind-note"' in light_page
    assert 'id="prop-status"' not in light_page  # read-only side panel


def test_it_folds_quoted_history_away(ticket, agent, customer):
    page = page_after_customer_wrote(
        ticket, agent=agent, customer=customer,
        body="Still waiting.\n\nOn Mon, 3 Mar 2025 at 10:00, Support wrote:\n> We are on it.\n> Regards",
    )
    assert '<div class="message-body"><p>Still waiting.</p></div>' in page
    assert '<details class="message-history">' in page and "&gt; We are on it." in page


# ---- writing: composer -------------------------------------------------------------------

def test_it_sends_a_reply_and_sets_the_status_in_one_step(ticket, agent):
    response = client_for(agent).post(url(ticket, "messages/"), {
        "kind": "reply", "body": "Refund issued.", "status": "pending", "seen_message_id": newest_id(ticket),
    })

    message = ticket.messages.order_by("-id").first()
    assert response.status_code == 302 and response["Location"] == url(ticket) + f"#m{message.pk}"
    assert message.body_text == "Refund issued." and message.is_public and message.author_agent == agent
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING


def test_it_adds_a_note_with_attachments_and_serves_them_as_downloads(ticket, agent, outsider):
    upload = SimpleUploadedFile("trace<1>.html", b"<script>alert(1)</script>", content_type="text/html")
    response = client_for(agent).post(url(ticket, "messages/"), {
        "kind": "note", "body": "Log attached.", "attachments": [upload], "seen_message_id": newest_id(ticket),
    })
    assert response.status_code == 302
    note = ticket.messages.get(visibility="internal")
    attachment = note.attachments.get()

    page = client_for(agent).get(url(ticket)).content.decode()
    assert f"/desk/attachments/{attachment.public_id}/" in page

    download = client_for(agent).get(f"/desk/attachments/{attachment.public_id}/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Content-Type"] == "application/octet-stream"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content) == b"<script>alert(1)</script>"

    hidden = client_for(outsider).get(f"/desk/attachments/{attachment.public_id}/")
    missing = client_for(outsider).get("/desk/attachments/00000000-0000-0000-0000-000000000000/")
    malformed = client_for(outsider).get("/desk/attachments/not-a-uuid/")
    assert hidden.status_code == missing.status_code == malformed.status_code == 404
    assert hidden.content == missing.content


def test_it_lets_a_light_agent_add_notes_but_not_reply(ticket, light):
    client = client_for(light)
    refused = client.post(url(ticket, "messages/"), {"kind": "reply", "body": "Hello customer"})
    assert refused.status_code == 403
    assert "Light agents" in refused.content.decode()
    assert not ticket.messages.filter(body_text="Hello customer").exists()

    added = client.post(url(ticket, "messages/"), {"kind": "note", "body": "FYI: known issue."})
    assert added.status_code == 302
    assert ticket.messages.filter(visibility="internal", author_agent=light).exists()


def test_it_keeps_the_draft_when_a_message_is_refused(ticket, agent):
    response = client_for(agent).post(url(ticket, "messages/"), {"kind": "reply", "body": "   "})
    assert response.status_code == 400
    assert "A message needs a body." in response.content.decode()


def test_it_answers_an_htmx_send_with_a_fresh_composer_and_the_updated_conversation(ticket, agent):
    response = client_for(agent).post(
        url(ticket, "messages/"), {"kind": "reply", "body": "Done.", "seen_message_id": newest_id(ticket)},
        headers=HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#composer" and response["HX-Reswap"] == "outerHTML"
    assert '<form id="composer"' in body and "Done." in body
    assert 'id="conversation"' in body and 'id="ticket-timeline"' in body and body.count('hx-swap-oob="true"') == 4


# ---- the stale-reply guard ---------------------------------------------------------------

def test_it_does_not_send_a_reply_when_the_customer_wrote_meanwhile(ticket, agent, customer):
    client = client_for(agent)
    seen = newest_id(ticket)
    newer = ticket_receive_customer_message(ticket=ticket, customer=customer, body="Actually, it was three times.")

    refused = client.post(url(ticket, "messages/"), {
        "kind": "reply", "body": "Refund for two charges issued.", "status": "solved", "seen_message_id": seen,
    })
    page = refused.content.decode()
    assert refused.status_code == 409
    assert "not sent" in page and "Send anyway" in page
    assert "Refund for two charges issued.</textarea>" in page  # the draft is kept
    assert f'id="m{newer.pk}"' in page and "is-new" in page  # the new message, marked
    assert f'name="seen_message_id" id="seen-message-id" value="{newer.pk}"' in page
    assert not ticket.messages.filter(body_text="Refund for two charges issued.").exists()

    sent = client.post(url(ticket, "messages/"), {
        "kind": "reply", "body": "Refund for two charges issued.", "seen_message_id": seen,
        "force": "1", "force_status": "solved",
    })
    assert sent.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED
    assert ticket.messages.filter(body_text="Refund for two charges issued.").exists()


def test_it_shows_the_new_message_inline_when_the_guard_stops_an_htmx_send(ticket, agent, customer):
    seen = newest_id(ticket)
    newer = ticket_receive_customer_message(ticket=ticket, customer=customer, body="One more thing!")

    response = client_for(agent).post(
        url(ticket, "messages/"), {"kind": "reply", "body": "Draft", "seen_message_id": seen}, headers=HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200  # htmx swaps only 2xx answers
    assert "not sent" in body and "Send anyway" in body
    assert "One more thing!" in body and f'id="m{newer.pk}"' in body
    assert f'id="seen-message-id" value="{newer.pk}" hx-swap-oob="true"' in body
    assert "<textarea" not in body  # the draft in the browser stays untouched


def test_it_does_not_stop_a_reply_for_a_colleagues_note(ticket, agent, admin):
    seen = newest_id(ticket)
    ticket_add_note(ticket=ticket, author=admin, body="Looks like a duplicate charge.")

    response = client_for(agent).post(url(ticket, "messages/"), {
        "kind": "reply", "body": "Refunded.", "seen_message_id": seen,
    })
    assert response.status_code == 302


# ---- polling for new messages ------------------------------------------------------------

def test_it_polls_for_messages_newer_than_the_last_one_shown(ticket, agent, customer):
    client = client_for(agent)
    last = newest_id(ticket)
    assert client.get(url(ticket, f"messages/new/?after={last}")).status_code == 204

    newer = ticket_receive_customer_message(ticket=ticket, customer=customer, body="Hello again")
    response = client.get(url(ticket, f"messages/new/?after={last}"))
    body = response.content.decode()
    assert response.status_code == 200
    assert f'id="m{newer.pk}"' in body and "Hello again" in body and "is-new" in body
    assert f'id="m{last}"' not in body
    assert 'id="ticket-timeline"' in body and "wrote a message" in body  # the timeline comes along
    assert 'id="ticket-properties"' in body  # and the side panel (the status may have changed)
    assert client.get(url(ticket, "messages/new/?after=abc")).status_code == 404


# ---- the side panel ----------------------------------------------------------------------

def test_it_changes_status_priority_group_assignee_and_tags_into_the_timeline(ticket, agent, admin, tier2):
    client = client_for(admin)
    steps = [
        ("status/", {"status": "pending"}, EventKind.STATUS),
        ("priority/", {"priority": "urgent"}, EventKind.PRIORITY),
        ("assignee/", {"assignee_id": agent.pk}, EventKind.ASSIGNEE),
        ("tags/", {"add": "refund, vip"}, EventKind.TAGS),
        ("tags/", {"remove": "billing"}, EventKind.TAGS),
        ("group/", {"group_id": tier2.pk}, EventKind.GROUP),
    ]
    for suffix, data, kind in steps:
        before = ticket.events.filter(kind=kind).count()
        response = client.post(url(ticket, suffix), data, headers=HTMX)
        body = response.content.decode()
        assert response.status_code == 200, (suffix, body)
        assert 'id="ticket-properties"' in body and 'id="ticket-timeline"' in body
        assert 'role="alert"' not in body
        assert ticket.events.filter(kind=kind).count() == before + 1, suffix

    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.group) == (Status.PENDING, "urgent", tier2)
    assert ticket.assignee is None  # Sam is not in Tier 2: moving the ticket dropped him
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["refund", "vip"]
    page = client.get(url(ticket)).content.decode()
    assert "changed the priority from Normal to Urgent" in page
    assert "assigned the ticket to Sam Support" in page and "added tags refund, vip" in page


def test_it_shows_a_refused_change_next_to_its_field(ticket, agent, outsider):
    client = client_for(agent)

    not_member = client.post(url(ticket, "assignee/"), {"assignee_id": outsider.pk}, headers=HTMX)
    assert not_member.status_code == 200  # htmx swaps only 2xx answers: the refusal is in the fragment
    assert "is not a member of group Support" in not_member.content.decode()
    ticket.refresh_from_db()
    assert ticket.assignee is None

    ticket_set_status(ticket=ticket, actor=agent, status="solved")
    ticket_set_status(ticket=ticket, actor=agent, status="closed")
    invalid = client.post(url(ticket, "status/"), {"status": "open"}, headers=HTMX)
    assert invalid.status_code == 200
    assert "cannot become open" in invalid.content.decode() and 'role="alert"' in invalid.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


def test_it_redirects_back_after_a_change_without_htmx(ticket, agent):
    response = client_for(agent).post(url(ticket, "priority/"), {"priority": "high"})
    assert response.status_code == 302 and response["Location"] == url(ticket)
    unknown = client_for(agent).post(url(ticket, "priority/"), {"priority": "extreme"})
    assert unknown.status_code == 400 and "Unknown priority" in unknown.content.decode()


def test_it_refuses_side_panel_changes_by_a_light_agent(ticket, light):
    response = client_for(light).post(url(ticket, "status/"), {"status": "pending"}, headers=HTMX)
    assert response.status_code == 200 and "Light agents" in response.content.decode()
    assert client_for(light).post(url(ticket, "status/"), {"status": "pending"}).status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert not TicketEvent.objects.filter(ticket=ticket, kind=EventKind.STATUS).exists()


def test_it_sends_the_agent_back_to_the_inbox_when_a_change_hides_the_ticket(ticket, agent, billing):
    response = client_for(agent).post(url(ticket, "group/"), {"group_id": billing.pk}, headers=HTMX)
    assert response.status_code == 204 and response["HX-Redirect"] == "/desk/"


# ---- customer content is hostile ---------------------------------------------------------

def test_it_renders_customer_html_and_text_inert(ticket, agent, customer):
    ticket_receive_customer_message(
        ticket=ticket, customer=customer, body="",
        body_html='<p>Hi<script>alert(1)</script> <a href="javascript:alert(2)">click</a>'
                  '<img src=x onerror="alert(3)"></p>',
    )
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="<script>alert(4)</script>")
    customer_update(customer=customer, name='<img src=x onerror="alert(5)">', notes="<b>bold</b>")

    page = client_for(agent).get(url(ticket)).content.decode()
    assert "<script>alert" not in page and "javascript:" not in page and 'onerror="' not in page
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in page
    assert "&lt;img src=x" in page and "&lt;b&gt;bold&lt;/b&gt;" in page


# ---- queries -----------------------------------------------------------------------------

def _grow(ticket, *, agent, customer, admin, rounds: int) -> None:
    for i in range(rounds):
        ticket_receive_customer_message(
            ticket=ticket, customer=customer, body=f"Message {i}",
            attachments=[NewAttachment(filename=f"f{i}.txt", content=b"x")],
        )
        ticket_add_note(ticket=ticket, author=admin if i % 2 else agent, body=f"Note {i}")
        ticket_tag(ticket=ticket, actor=agent, add=[f"t{i}"])
        ticket_assign(ticket=ticket, actor=admin, assignee=agent if i % 2 == 0 else None)


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_it_loads_the_page_in_the_same_number_of_queries_for_3_or_30_messages(agent, admin, customer, support):
    small = ticket_create(subject="Small", requester=customer, body="hi", group=support)
    large = ticket_create(subject="Large", requester=customer, body="hi", group=support)
    _grow(small, agent=agent, customer=customer, admin=admin, rounds=1)
    _grow(large, agent=agent, customer=customer, admin=admin, rounds=15)
    ticket_add_note(ticket=small, author=agent, body="one more")
    assert Message.objects.filter(ticket=small).count() == 4
    assert Message.objects.filter(ticket=large).count() == 31

    client = client_for(agent)
    client.get(url(small))  # warm the session
    assert _queries(client, url(small)) == _queries(client, url(large))


def test_it_loads_images_only_from_attachment_downloads(ticket, agent, customer):
    page = page_after_customer_wrote(
        ticket, agent=agent, customer=customer,
        body_html='<p>Screenshot: <img src="/desk/logout/"><img src="https://tracker.example/p.gif">'
                  '<img src="/api/v1/attachments/0f8fad5b-d9cb-469f-a165-70867728950e"></p>',
    )
    assert "/desk/logout/\"" not in page.split('id="conversation"')[1] and "tracker.example" not in page
    assert '<img src="/api/v1/attachments/0f8fad5b-d9cb-469f-a165-70867728950e">' in page


def test_it_leaves_the_layouts_flash_messages_alone(ticket, agent):
    page = client_for(agent).get(url(ticket)).content.decode()
    assert "MessageView(" not in page and 'class="desk-messages"' not in page


def test_it_refuses_writes_without_the_csrf_token(ticket, agent, customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    for path, data in [(url(ticket, "messages/"), {"kind": "note", "body": "x"}),
                       (url(ticket, "status/"), {"status": "open"}),
                       (url(ticket, "presence/"), {}),
                       (f"/desk/customers/{customer.pk}/notes/", {"notes": "x"}),
                       (f"/desk/customers/{customer.pk}/merge/", {"into": customer.pk})]:
        assert client.post(path, data).status_code == 403, path
    assert ticket.messages.count() == 1 and ticket.status == Status.NEW


def test_it_folds_quoted_history_of_html_mail(ticket, agent, customer):
    page = page_after_customer_wrote(
        ticket, agent=agent, customer=customer,
        body_html="<div>Any news?</div><div>On Mon, 3 Mar 2025 at 10:00, Support wrote:</div>"
                  "<blockquote><p>We are on it.</p></blockquote>",
    )
    assert '<div class="message-body"><p>Any news?</p></div>' in page
    assert '<details class="message-history">' in page and "<blockquote><p>We are on it.</p></blockquote>" in page
