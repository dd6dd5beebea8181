"""Every write on a ticket over HTTP: create, reply, note, customer message, status,
priority, assignment, tags, merge, attachments, and what is never stored (unsafe HTML)."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontdesk.customers.models import ContactPoint, Customer
from frontdesk.customers.services import customer_create
from frontdesk.tickets.models import Attachment, Message, Ticket
from frontdesk.tickets.services import ticket_set_status

from .helpers import assert_error, b64, counts, ticket_state


def kinds(api, reference) -> list[str]:
    return [event["kind"] for event in api.get(f"/tickets/{reference}").json()["timeline"]]


def close(ticket, actor):
    ticket_set_status(ticket=ticket, actor=actor, status="solved")
    ticket_set_status(ticket=ticket, actor=actor, status="closed")


# ---- create -------------------------------------------------------------------------

def test_it_creates_a_ticket_for_a_known_customer_by_email(api_as, agent, customer, support):
    before = counts()
    response = api_as(agent).post("/tickets", {
        "subject": "Card declined", "body": "Again today.",
        "requester_email": "  MARIA@Example.NET ", "group_id": support.pk,
    })
    assert response.status_code == 201, response.content
    ticket = response.json()
    assert ticket["requester"] == {"id": customer.pk, "name": "Maria Lopez",
                                   "email": "maria@example.net"}
    assert ticket["status"] == "new"
    assert ticket["channel"] == "api"
    assert ticket["group"]["name"] == "Support"
    assert [m["author_type"] for m in ticket["messages"]] == ["customer"]
    assert ticket["messages"][0]["author"]["id"] == customer.pk
    assert counts()["customers"] == before["customers"]
    assert Ticket.objects.get(reference=ticket["reference"]).requester_id == customer.pk


def test_it_creates_the_customer_when_the_email_is_new(api_as, agent):
    response = api_as(agent).post("/tickets", {
        "subject": "Hello", "body": "First time here.",
        "requester_email": "Newbie@Example.org", "requester_name": "Nina Newbie",
    })
    assert response.status_code == 201, response.content
    requester = response.json()["requester"]
    assert requester["name"] == "Nina Newbie"
    assert requester["email"] == "newbie@example.org"
    point = ContactPoint.objects.get(value="newbie@example.org")
    assert point.customer_id == requester["id"]
    assert point.is_primary


def test_it_creates_a_ticket_by_requester_id_with_every_field(api_as, agent, customer, support):
    response = api_as(agent).post("/tickets", {
        "subject": "  Router\r\nreboots  ", "body": "Every hour.", "requester_id": customer.pk,
        "channel": "phone", "priority": "high", "group_id": support.pk, "assignee_id": agent.pk,
        "tags": ["Network", "router", "network"],
    })
    assert response.status_code == 201, response.content
    ticket = response.json()
    assert ticket["subject"] == "Router reboots"  # a subject is one line
    assert ticket["channel"] == "phone"
    assert ticket["priority"] == "high"
    assert ticket["assignee"]["id"] == agent.pk
    assert ticket["tags"] == ["network", "router"]
    assert ticket["timeline"][0]["kind"] == "created"
    assert ticket["timeline"][0]["after"]["tags"] == ["network", "router"]


def test_it_opens_a_ticket_written_by_the_agent_with_from_agent(api_as, agent, customer):
    response = api_as(agent).post("/tickets", {
        "subject": "Your callback", "body": "As discussed on the phone…",
        "requester_id": customer.pk, "from_agent": True, "channel": "phone",
    })
    assert response.status_code == 201, response.content
    ticket = response.json()
    assert ticket["status"] == "open"
    assert ticket["requester"]["id"] == customer.pk
    [message] = ticket["messages"]
    assert message["author_type"] == "agent"
    assert message["author"]["email"] == agent.email
    assert message["visibility"] == "public"
    assert [e["kind"] for e in ticket["timeline"]] == ["created", "reply"]
    assert ticket["timeline"][0]["actor_type"] == "agent"


@pytest.mark.parametrize("requester", [{}, {"requester_id": 1, "requester_email": "a@b.example"}])
def test_it_needs_exactly_one_way_to_name_the_requester(api_as, agent, customer, requester):
    if "requester_id" in requester:
        requester["requester_id"] = customer.pk
    before = counts()
    response = api_as(agent).post("/tickets", {"subject": "s", "body": "b", **requester})
    body = assert_error(response, 400, "invalid")
    assert "requester" in body["detail"]
    assert counts() == before


def test_it_refuses_an_invalid_requester_email(api_as, agent):
    before = counts()
    response = api_as(agent).post("/tickets", {"subject": "s", "body": "b",
                                               "requester_email": "not an address"})
    assert_error(response, 400, "invalid")
    assert counts() == before


def test_it_refuses_an_assignee_outside_the_group_on_create(api_as, agent, outsider, customer,
                                                            support):
    before = counts()
    response = api_as(agent).post("/tickets", {
        "subject": "s", "body": "b", "requester_id": customer.pk, "group_id": support.pk,
        "assignee_id": outsider.pk,
    })
    assert_error(response, 400, "assignee_not_in_group")
    assert counts() == before


@pytest.mark.parametrize("body", ["", "   ", "\n\t"])
def test_it_refuses_an_empty_body(api_as, agent, customer, ticket, body):
    api = api_as(agent)
    before = counts()
    assert_error(api.post("/tickets", {"subject": "s", "body": body, "requester_id": customer.pk}),
                 400, "empty_body")
    assert_error(api.post(f"/tickets/{ticket.reference}/replies", {"body": body}),
                 400, "empty_body")
    assert_error(api.post(f"/tickets/{ticket.reference}/notes", {"body": body}),
                 400, "empty_body")
    assert counts() == before


# ---- replies --------------------------------------------------------------------------

def test_it_replies_and_opens_a_new_ticket(api_as, agent, ticket):
    api = api_as(agent)
    response = api.post(f"/tickets/{ticket.reference}/replies", {"body": "We are on it."})
    assert response.status_code == 201, response.content
    message = response.json()
    assert message["ticket"] == ticket.reference
    assert message["visibility"] == "public"
    assert message["author_type"] == "agent"
    assert message["author"]["email"] == agent.email
    assert message["channel"] == "web"
    assert message["body_text"] == "We are on it."
    assert message["body_html"] == "<p>We are on it.</p>"
    detail = api.get(f"/tickets/{ticket.reference}").json()
    assert detail["status"] == "open"
    assert detail["messages"][-1]["id"] == message["id"]


def test_it_sends_and_sets_pending_in_one_step(api_as, agent, ticket):
    api = api_as(agent)
    response = api.post(f"/tickets/{ticket.reference}/replies",
                        {"body": "Could you send a screenshot?", "status": "pending"})
    assert response.status_code == 201, response.content
    detail = api.get(f"/tickets/{ticket.reference}").json()
    assert detail["status"] == "pending"
    statuses = [(e["before"], e["after"]) for e in detail["timeline"] if e["kind"] == "status"]
    assert statuses == [("new", "pending")]
    assert [e["kind"] for e in detail["timeline"]][-2:] == ["reply", "status"]


def test_it_sends_and_solves(api_as, agent, ticket):
    api = api_as(agent)
    api.post(f"/tickets/{ticket.reference}/replies", {"body": "First."})
    response = api.post(f"/tickets/{ticket.reference}/replies",
                        {"body": "Refunded.", "status": "solved"})
    assert response.status_code == 201
    detail = api.get(f"/tickets/{ticket.reference}").json()
    assert detail["status"] == "solved"
    assert detail["solved_at"] is not None


def test_it_refuses_a_reply_whose_status_cannot_follow_and_keeps_nothing(api_as, agent, ticket):
    before = ticket_state(ticket)
    response = api_as(agent).post(f"/tickets/{ticket.reference}/replies",
                                  {"body": "Bye.", "status": "closed"})
    assert_error(response, 409, "invalid_transition")
    assert ticket_state(ticket) == before  # the reply was not sent either


def test_it_refuses_a_reply_on_a_closed_ticket(api_as, agent, ticket):
    close(ticket, agent)
    before = ticket_state(ticket)
    response = api_as(agent).post(f"/tickets/{ticket.reference}/replies", {"body": "Hello?"})
    body = assert_error(response, 409, "ticket_closed")
    assert "follow-up" in body["detail"]
    assert ticket_state(ticket) == before


# ---- notes ----------------------------------------------------------------------------

def test_it_adds_an_internal_note_without_changing_the_status(api_as, light, ticket):
    api = api_as(light)
    response = api.post(f"/tickets/{ticket.reference}/notes", {"body": "Bank says 3 days."})
    assert response.status_code == 201, response.content
    note = response.json()
    assert note["visibility"] == "internal"
    assert note["channel"] == "internal"
    assert note["author"]["email"] == light.email
    detail = api.get(f"/tickets/{ticket.reference}").json()
    assert detail["status"] == "new"
    assert detail["timeline"][-1]["kind"] == "note"
    assert detail["timeline"][-1]["message_id"] == note["id"]


def test_it_adds_a_note_to_a_closed_ticket(api_as, agent, ticket):
    close(ticket, agent)
    response = api_as(agent).post(f"/tickets/{ticket.reference}/notes", {"body": "For the record."})
    assert response.status_code == 201
    assert Ticket.objects.get(pk=ticket.pk).status == "closed"


# ---- customer messages ----------------------------------------------------------------

def test_it_records_a_customer_message_from_the_requester(api_as, agent, ticket, customer):
    response = api_as(agent).post(f"/tickets/{ticket.reference}/customer-messages",
                                  {"body": "Any news?", "channel": "email"})
    assert response.status_code == 201, response.content
    message = response.json()
    assert message["author_type"] == "customer"
    assert message["author"]["id"] == customer.pk
    assert message["channel"] == "email"
    assert message["ticket"] == ticket.reference


@pytest.mark.parametrize("status", ["pending", "solved"])
def test_it_reopens_a_waiting_ticket_when_the_customer_writes(api_as, agent, ticket, status):
    ticket_set_status(ticket=ticket, actor=agent, status=status)
    api = api_as(agent)
    api.post(f"/tickets/{ticket.reference}/customer-messages", {"body": "Still broken."})
    assert api.get(f"/tickets/{ticket.reference}").json()["status"] == "open"


def test_it_opens_a_follow_up_when_the_customer_writes_to_a_closed_ticket(
    api_as, agent, ticket, customer
):
    close(ticket, agent)
    api = api_as(agent)
    messages_before = ticket.messages.count()

    response = api.post(f"/tickets/{ticket.reference}/customer-messages",
                        {"body": "It happened again."})

    assert response.status_code == 201, response.content
    message = response.json()
    assert message["ticket"] != ticket.reference
    follow_up = api.get(f"/tickets/{message['ticket']}").json()
    assert follow_up["follow_up_of"] == ticket.reference
    assert follow_up["status"] == "new"
    assert follow_up["subject"] == "Charged twice"
    assert follow_up["group"]["name"] == "Support"
    assert follow_up["requester"]["id"] == customer.pk
    assert [m["body_text"] for m in follow_up["messages"]] == ["It happened again."]
    original = api.get(f"/tickets/{ticket.reference}").json()
    assert original["status"] == "closed"
    assert len(original["messages"]) == messages_before
    assert original["timeline"][-1]["kind"] == "follow_up"
    assert original["timeline"][-1]["after"] == {"reference": message["ticket"]}


# ---- status -------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "expected_events"), [
    (["open"], 1),
    (["pending", "open", "on_hold", "solved"], 4),
    (["solved", "closed"], 2),
    (["solved", "open"], 2),
])
def test_it_moves_through_allowed_statuses(api_as, agent, ticket, path, expected_events):
    api = api_as(agent)
    for status in path:
        response = api.put(f"/tickets/{ticket.reference}/status", {"status": status})
        assert response.status_code == 200, response.content
        assert response.json()["status"] == status
    statuses = [e for e in api.get(f"/tickets/{ticket.reference}").json()["timeline"]
                if e["kind"] == "status"]
    assert len(statuses) == expected_events
    assert [e["after"] for e in statuses] == path


def test_it_stamps_solved_and_closed_times(api_as, agent, ticket):
    api = api_as(agent)
    solved = api.put(f"/tickets/{ticket.reference}/status", {"status": "solved"}).json()
    assert solved["solved_at"] is not None and solved["closed_at"] is None
    closed = api.put(f"/tickets/{ticket.reference}/status", {"status": "closed"}).json()
    assert closed["closed_at"] is not None


@pytest.mark.parametrize(("setup", "target"), [
    ([], "closed"),             # new → closed skips solved
    (["open"], "closed"),
    (["open"], "new"),
    (["solved", "closed"], "open"),   # closed is final
    (["solved", "closed"], "solved"),
    (["solved"], "pending"),
])
def test_it_refuses_a_transition_the_machine_does_not_allow(api_as, agent, ticket, setup, target):
    for status in setup:
        ticket_set_status(ticket=ticket, actor=agent, status=status)
    before = ticket_state(ticket)
    response = api_as(agent).put(f"/tickets/{ticket.reference}/status", {"status": target})
    body = assert_error(response, 409, "invalid_transition")
    assert target in body["detail"]
    assert ticket_state(ticket) == before


def test_it_records_nothing_when_the_status_does_not_change(api_as, agent, ticket):
    before = ticket_state(ticket)
    response = api_as(agent).put(f"/tickets/{ticket.reference}/status", {"status": "new"})
    assert response.status_code == 200
    assert ticket_state(ticket) == before


# ---- priority -------------------------------------------------------------------------

def test_it_changes_the_priority_with_an_event(api_as, agent, ticket):
    api = api_as(agent)
    response = api.put(f"/tickets/{ticket.reference}/priority", {"priority": "urgent"})
    assert response.status_code == 200
    assert response.json()["priority"] == "urgent"
    event = api.get(f"/tickets/{ticket.reference}").json()["timeline"][-1]
    assert (event["kind"], event["before"], event["after"]) == ("priority", "normal", "urgent")
    assert event["actor"] == agent.name


def test_it_records_nothing_when_the_priority_does_not_change(api_as, agent, ticket):
    before = ticket_state(ticket)
    assert api_as(agent).put(f"/tickets/{ticket.reference}/priority",
                             {"priority": "normal"}).status_code == 200
    assert ticket_state(ticket) == before


# ---- assignment ---------------------------------------------------------------------

def test_it_assigns_an_agent_of_the_group(api_as, agent, ticket):
    api = api_as(agent)
    response = api.put(f"/tickets/{ticket.reference}/assignment", {"assignee_id": agent.pk})
    assert response.status_code == 200, response.content
    assert response.json()["assignee"] == {"id": agent.pk, "name": agent.name, "email": agent.email}
    assert response.json()["group"]["name"] == "Support"
    event = api.get(f"/tickets/{ticket.reference}").json()["timeline"][-1]
    assert (event["kind"], event["before"], event["after"]) == ("assignee", None, agent.email)


def test_it_refuses_an_assignee_who_is_not_in_the_group(api_as, agent, outsider, ticket):
    before = ticket_state(ticket)
    response = api_as(agent).put(f"/tickets/{ticket.reference}/assignment",
                                 {"assignee_id": outsider.pk})
    body = assert_error(response, 400, "assignee_not_in_group")
    assert "Support" in body["detail"]
    assert ticket_state(ticket) == before


def test_it_refuses_to_assign_a_light_agent(api_as, agent, light, ticket):
    before = ticket_state(ticket)
    response = api_as(agent).put(f"/tickets/{ticket.reference}/assignment",
                                 {"assignee_id": light.pk})
    assert_error(response, 400, "invalid_assignee")
    assert ticket_state(ticket) == before


def test_it_moves_a_ticket_to_another_group_and_still_answers(api_as, agent, ticket, billing):
    api = api_as(agent)
    api.put(f"/tickets/{ticket.reference}/assignment", {"assignee_id": agent.pk})
    response = api.put(f"/tickets/{ticket.reference}/assignment", {"group_id": billing.pk})
    # The caller just handed it away: the answer is the ticket, not a 404.
    assert response.status_code == 200, response.content
    assert response.json()["group"]["name"] == "Billing"
    # The assignee is not in Billing, so the ticket is unassigned.
    assert response.json()["assignee"] is None
    # From now on Support no longer sees it.
    assert_error(api.get(f"/tickets/{ticket.reference}"), 404, "not_found")


def test_it_assigns_group_and_agent_together(api_as, admin, outsider, ticket, billing):
    response = api_as(admin).put(f"/tickets/{ticket.reference}/assignment",
                                 {"group_id": billing.pk, "assignee_id": outsider.pk})
    assert response.status_code == 200, response.content
    assert response.json()["group"]["id"] == billing.pk
    assert response.json()["assignee"]["id"] == outsider.pk


def test_it_clears_group_and_assignee_with_null(api_as, agent, ticket):
    api = api_as(agent)
    api.put(f"/tickets/{ticket.reference}/assignment", {"assignee_id": agent.pk})
    response = api.put(f"/tickets/{ticket.reference}/assignment", {"assignee_id": None})
    assert response.json()["assignee"] is None
    assert response.json()["group"]["name"] == "Support"  # omitted: kept
    response = api.put(f"/tickets/{ticket.reference}/assignment", {"group_id": None})
    assert response.json()["group"] is None


def test_it_needs_something_to_assign(api_as, agent, ticket):
    before = ticket_state(ticket)
    assert_error(api_as(agent).put(f"/tickets/{ticket.reference}/assignment", {}), 400, "invalid")
    assert ticket_state(ticket) == before


def test_it_refuses_to_reassign_a_closed_ticket(api_as, agent, ticket):
    close(ticket, agent)
    before = ticket_state(ticket)
    response = api_as(agent).put(f"/tickets/{ticket.reference}/assignment",
                                 {"assignee_id": agent.pk})
    assert_error(response, 409, "ticket_closed")
    assert ticket_state(ticket) == before


# ---- tags -----------------------------------------------------------------------------

def test_it_adds_and_removes_tags(api_as, agent, ticket):
    api = api_as(agent)
    response = api.post(f"/tickets/{ticket.reference}/tags",
                        {"add": ["VIP", "refund request"], "remove": ["billing"]})
    assert response.status_code == 200, response.content
    assert response.json()["tags"] == ["refund-request", "vip"]
    event = api.get(f"/tickets/{ticket.reference}").json()["timeline"][-1]
    assert event["kind"] == "tags"
    assert (event["before"], event["after"]) == (["billing"], ["refund-request", "vip"])


def test_it_records_nothing_when_tags_do_not_change(api_as, agent, ticket):
    before = ticket_state(ticket)
    response = api_as(agent).post(f"/tickets/{ticket.reference}/tags",
                                  {"add": ["billing"], "remove": ["absent"]})
    assert response.status_code == 200
    assert response.json()["tags"] == ["billing"]
    assert ticket_state(ticket) == before


@pytest.mark.parametrize("change", [
    {"add": ["ok", "no/slash"]},
    {"add": ["x" * 51]},
    {"add": ["-leading-dash"]},
    {"add": ["<script>"]},
    {"remove": ["bad tag!"]},
    {"add": [""]},
])
def test_it_refuses_an_invalid_tag(api_as, agent, ticket, change):
    before = ticket_state(ticket)
    response = api_as(agent).post(f"/tickets/{ticket.reference}/tags", change)
    assert_error(response, 400, "invalid_tag")
    assert ticket_state(ticket) == before


def test_it_refuses_an_invalid_tag_on_create(api_as, agent, customer):
    before = counts()
    response = api_as(agent).post("/tickets", {"subject": "s", "body": "b",
                                               "requester_id": customer.pk, "tags": ["a b c!"]})
    assert_error(response, 400, "invalid_tag")
    assert counts() == before


# ---- merge ----------------------------------------------------------------------------

@pytest.fixture
def duplicate(make_ticket, support):
    return make_ticket("Charged twice (again)", group=support, tags=["duplicate-charge"])


def test_it_merges_a_ticket_into_another(api_as, agent, ticket, duplicate):
    api = api_as(agent)
    response = api.post(f"/tickets/{duplicate.reference}/merge", {"into": ticket.reference})
    assert response.status_code == 200, response.content
    target = response.json()
    assert target["reference"] == ticket.reference
    assert target["tags"] == ["billing", "duplicate-charge"]  # the target gains the tags

    source = api.get(f"/tickets/{duplicate.reference}").json()
    assert source["status"] == "closed"
    assert source["merged_into"] == ticket.reference
    assert source["closed_at"] is not None
    assert [e["kind"] for e in source["timeline"]][-2:] == ["merged_into", "status"]

    timeline = api.get(f"/tickets/{ticket.reference}").json()["timeline"]
    merged = [e for e in timeline if e["kind"] == "merged"]
    assert len(merged) == 1
    assert merged[0]["after"] == {"reference": duplicate.reference,
                                  "subject": "Charged twice (again)"}


def test_it_forwards_a_customer_message_on_a_merged_ticket_to_the_target(
    api_as, agent, ticket, duplicate
):
    api = api_as(agent)
    api.post(f"/tickets/{duplicate.reference}/merge", {"into": ticket.reference})
    source_messages = Message.objects.filter(ticket=duplicate).count()
    tickets_before = Ticket.objects.count()

    response = api.post(f"/tickets/{duplicate.reference}/customer-messages",
                        {"body": "Replying to the old thread."})

    assert response.status_code == 201, response.content
    assert response.json()["ticket"] == ticket.reference
    target = api.get(f"/tickets/{ticket.reference}").json()
    assert target["messages"][-1]["body_text"] == "Replying to the old thread."
    assert Message.objects.filter(ticket=duplicate).count() == source_messages
    assert Ticket.objects.count() == tickets_before  # forwarded, not a follow-up


def test_it_refuses_to_change_the_status_of_a_merged_ticket(api_as, agent, ticket, duplicate):
    api = api_as(agent)
    api.post(f"/tickets/{duplicate.reference}/merge", {"into": ticket.reference})
    before = ticket_state(duplicate)
    response = api.put(f"/tickets/{duplicate.reference}/status", {"status": "open"})
    assert_error(response, 409, "ticket_merged")
    assert ticket_state(duplicate) == before


def test_it_refuses_to_merge_a_ticket_into_itself(api_as, agent, ticket):
    before = ticket_state(ticket)
    response = api_as(agent).post(f"/tickets/{ticket.reference}/merge",
                                  {"into": ticket.reference.lower()})
    assert_error(response, 400, "invalid")
    assert ticket_state(ticket) == before


def test_it_refuses_to_merge_a_closed_ticket(api_as, agent, ticket, duplicate):
    close(duplicate, agent)
    before, target_before = ticket_state(duplicate), ticket_state(ticket)
    response = api_as(agent).post(f"/tickets/{duplicate.reference}/merge",
                                  {"into": ticket.reference})
    assert_error(response, 409, "ticket_closed")
    assert (ticket_state(duplicate), ticket_state(ticket)) == (before, target_before)


def test_it_refuses_to_merge_into_a_closed_ticket(api_as, agent, ticket, duplicate):
    close(ticket, agent)
    before, target_before = ticket_state(duplicate), ticket_state(ticket)
    response = api_as(agent).post(f"/tickets/{duplicate.reference}/merge",
                                  {"into": ticket.reference})
    assert_error(response, 409, "target_closed")
    assert (ticket_state(duplicate), ticket_state(ticket)) == (before, target_before)


def test_it_refuses_to_merge_into_an_unknown_ticket(api_as, agent, ticket):
    before = ticket_state(ticket)
    response = api_as(agent).post(f"/tickets/{ticket.reference}/merge", {"into": "ZZZZZZZZ"})
    assert_error(response, 404, "not_found")
    assert ticket_state(ticket) == before


# ---- attachments ----------------------------------------------------------------------

PAYLOAD = bytes(range(256)) + b"\x00<html><script>alert(1)</script></html>"


def download(api, url):
    assert url.startswith("/api/v1/")
    return api.client.get(url, headers=api.headers)


def test_it_stores_an_attachment_and_serves_it_back_as_a_download(api_as, agent, ticket):
    api = api_as(agent)
    response = api.post(f"/tickets/{ticket.reference}/replies", {
        "body": "The invoice, as promised.",
        "attachments": [{"filename": "invoice.html", "content_type": "text/html",
                         "content_base64": b64(PAYLOAD)}],
    })
    assert response.status_code == 201, response.content
    [attachment] = response.json()["attachments"]
    assert attachment["filename"] == "invoice.html"
    assert attachment["size"] == len(PAYLOAD)
    assert attachment["url"] == f"/api/v1/attachments/{attachment['id']}"

    file = download(api, attachment["url"])

    assert file.status_code == 200
    assert b"".join(file.streaming_content) == PAYLOAD
    assert file["Content-Disposition"].startswith("attachment;")
    assert 'filename="invoice.html"' in file["Content-Disposition"]
    assert file["Content-Type"] == "application/octet-stream"  # never rendered inline
    assert file["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in file["Content-Security-Policy"]


def test_it_lists_attachments_in_the_ticket_detail(api_as, agent, ticket):
    api = api_as(agent)
    api.post(f"/tickets/{ticket.reference}/notes", {
        "body": "Two logs.",
        "attachments": [{"filename": "a.log", "content_base64": b64(b"first")},
                        {"filename": "b.log", "content_base64": b64(b"second")}],
    })
    note = api.get(f"/tickets/{ticket.reference}").json()["messages"][-1]
    assert [a["filename"] for a in note["attachments"]] == ["a.log", "b.log"]
    assert [a["size"] for a in note["attachments"]] == [5, 6]
    contents = [b"".join(download(api, a["url"]).streaming_content) for a in note["attachments"]]
    assert contents == [b"first", b"second"]


def test_it_accepts_attachments_when_creating_a_ticket(api_as, agent, customer):
    api = api_as(agent)
    response = api.post("/tickets", {
        "subject": "Photo", "body": "See the photo.", "requester_id": customer.pk,
        "attachments": [{"filename": "photo.jpg", "content_base64": b64(b"\xff\xd8\xff")}],
    })
    assert response.status_code == 201, response.content
    [attachment] = response.json()["messages"][0]["attachments"]
    assert attachment["content_type"] == "image/jpeg"  # guessed from the name
    assert b"".join(download(api, attachment["url"]).streaming_content) == b"\xff\xd8\xff"


def test_it_cleans_an_attachment_filename(api_as, agent, ticket):
    api = api_as(agent)
    response = api.post(f"/tickets/{ticket.reference}/notes", {
        "body": "x", "attachments": [{"filename": "..\\../../etc/pass\r\nwd", "content_base64":
                                      b64(b"root:x:0:0")}],
    })
    [attachment] = response.json()["attachments"]
    assert attachment["filename"] == "pass wd"
    disposition = download(api, attachment["url"])["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "/" not in disposition


def test_it_lets_a_light_agent_download(api_as, light, attachment):
    file = download(api_as(light), f"/api/v1/attachments/{attachment.public_id}")
    assert file.status_code == 200
    assert b"".join(file.streaming_content) == b"\x89PNG\r\n\x1a\nfake"


def test_it_hides_an_attachment_from_an_agent_who_cannot_see_the_ticket(
    api_as, outsider, attachment
):
    response = api_as(outsider).get(f"/attachments/{attachment.public_id}")
    body = assert_error(response, 404, "not_found")
    missing = api_as(outsider).get("/attachments/00000000-0000-4000-8000-000000000000")
    assert body == missing.json()


def test_it_refuses_a_download_without_a_token(api_as, attachment):
    assert_error(api_as(None).get(f"/attachments/{attachment.public_id}"), 401, "unauthorized")


@pytest.mark.parametrize("public_id", ["not-a-uuid", "1234", "' OR 1=1 --", "0" * 40])
def test_it_answers_404_for_a_malformed_attachment_id(api_as, agent, attachment, public_id):
    assert_error(api_as(agent).get(f"/attachments/{public_id}"), 404, "not_found")


def test_it_answers_404_for_an_unknown_attachment_id(api_as, agent, attachment):
    response = api_as(agent).get("/attachments/9b2f8c52-3b1f-4a55-9a6e-3f5b1b6f2f10")
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("content", ["!!not base64!!", "abc", "aGVsbG8=x", "aGVs bG8="])
@pytest.mark.parametrize("endpoint", ["replies", "notes", "customer-messages"])
def test_it_refuses_invalid_base64_and_keeps_nothing(api_as, agent, ticket, endpoint, content):
    before, state = counts(), ticket_state(ticket)
    response = api_as(agent).post(f"/tickets/{ticket.reference}/{endpoint}", {
        "body": "With a file.", "attachments": [{"filename": "x.bin", "content_base64": content}],
    })
    body = assert_error(response, 400, "invalid")
    assert "base64" in body["detail"]
    assert counts() == before
    assert ticket_state(ticket) == state


def test_it_refuses_an_oversized_attachment_and_keeps_nothing(api_as, agent, ticket, settings):
    settings.FRONTDESK_MAX_ATTACHMENT_BYTES = 10
    before = counts()
    response = api_as(agent).post(f"/tickets/{ticket.reference}/replies", {
        "body": "Big file.",
        "attachments": [{"filename": "small.txt", "content_base64": b64(b"tiny")},
                        {"filename": "big.bin", "content_base64": b64(b"x" * 11)}],
    })
    assert_error(response, 400, "attachment_too_large")
    assert counts() == before
    assert Attachment.objects.count() == 0


def test_it_leaves_no_file_behind_when_an_attachment_is_refused(api_as, agent, ticket, settings):
    settings.FRONTDESK_MAX_ATTACHMENT_BYTES = 10
    response = api_as(agent).post(f"/tickets/{ticket.reference}/replies", {
        "body": "Big file.",
        "attachments": [{"filename": "small.txt", "content_base64": b64(b"tiny")},
                        {"filename": "big.bin", "content_base64": b64(b"x" * 11)}],
    })
    assert response.status_code == 400
    stored = Path(settings.FRONTDESK_ATTACHMENTS_DIR)
    assert [p for p in stored.rglob("*") if p.is_file()] == []


# ---- unsafe HTML ------------------------------------------------------------------------

HOSTILE_HTML = (
    '<p onclick="steal()">Hi <b>there</b></p><script>alert("x")</script>'
    '<img src="x" onerror="alert(1)"><a href="javascript:alert(2)">link</a>'
    '<iframe src="https://evil.example"></iframe><style>body{display:none}</style>'
)


def assert_safe(body_html: str) -> None:
    lowered = body_html.lower()
    for needle in ("<script", "onerror", "onclick", "javascript:", "<iframe", "<style", "alert("):
        assert needle not in lowered, body_html


@pytest.mark.parametrize("endpoint", ["replies", "notes", "customer-messages"])
def test_it_sanitizes_html_bodies(api_as, agent, ticket, endpoint):
    api = api_as(agent)
    response = api.post(f"/tickets/{ticket.reference}/{endpoint}",
                        {"body": "", "body_html": HOSTILE_HTML})
    assert response.status_code == 201, response.content
    message = response.json()
    assert_safe(message["body_html"])
    assert "<b>there</b>" in message["body_html"]  # harmless markup stays
    assert "Hi there" in message["body_text"]
    assert "alert" not in message["body_text"]  # script text is not content
    stored = api.get(f"/tickets/{ticket.reference}").json()["messages"][-1]
    assert stored["id"] == message["id"]
    assert_safe(stored["body_html"])


def test_it_sanitizes_html_when_creating_a_ticket(api_as, agent, customer):
    response = api_as(agent).post("/tickets", {"subject": "s", "body": "plain version",
                                               "body_html": HOSTILE_HTML,
                                               "requester_id": customer.pk})
    assert response.status_code == 201, response.content
    [message] = response.json()["messages"]
    assert_safe(message["body_html"])
    assert message["body_text"] == "plain version"  # a given text body is kept as is


def test_it_escapes_markup_in_a_plain_text_body(api_as, agent, ticket):
    response = api_as(agent).post(f"/tickets/{ticket.reference}/replies",
                                  {"body": '<script>alert(1)</script> & <img onerror=x>'})
    message = response.json()
    assert message["body_text"] == '<script>alert(1)</script> & <img onerror=x>'
    assert "<script" not in message["body_html"] and "<img" not in message["body_html"]
    assert "&lt;script&gt;" in message["body_html"]


def test_it_makes_links_inert_for_referrers(api_as, agent, ticket):
    response = api_as(agent).post(f"/tickets/{ticket.reference}/replies", {
        "body": "", "body_html": '<a href="https://example.com/help">help</a>'})
    assert 'rel="noopener noreferrer nofollow"' in response.json()["body_html"]


def test_it_keeps_a_customer_from_being_created_twice_by_email(api_as, agent):
    api = api_as(agent)
    for _ in range(2):
        assert api.post("/tickets", {"subject": "s", "body": "b",
                                     "requester_email": "twice@example.org"}).status_code == 201
    assert Customer.objects.filter(contact_points__value="twice@example.org").count() == 1


def test_it_opens_a_ticket_for_a_merged_customer_on_the_surviving_customer(api_as, agent,
                                                                          customer):
    old = customer_create(name="Maria (old)", emails=["maria.old@example.net"])
    api = api_as(agent)
    assert api.post(f"/customers/{old.pk}/merge", {"into": customer.pk}).status_code == 200
    response = api.post("/tickets", {"subject": "s", "body": "b", "requester_id": old.pk})
    assert response.status_code == 201, response.content
    assert response.json()["requester"]["id"] == customer.pk
    by_email = api.post("/tickets", {"subject": "s", "body": "b",
                                     "requester_email": "maria.old@example.net"})
    assert by_email.json()["requester"]["id"] == customer.pk
