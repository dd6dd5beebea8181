"""CCs over HTTP: shown in the ticket detail, replaced with PUT /tickets/{ref}/ccs."""

from __future__ import annotations

from frontdesk.customers.services import customer_create
from frontdesk.tickets.services import MAX_CCS, ticket_set_status

from .helpers import assert_error, counts, ticket_state


def test_it_sets_the_ccs_by_email_and_shows_them_on_the_ticket(api_as, agent, ticket):
    jo = customer_create(name="Jo Colleague", emails=["jo@example.org"])
    api = api_as(agent)

    response = api.put(f"/tickets/{ticket.reference}/ccs", {"emails": ["JO@example.org", "new@example.org"]})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["reference"] == ticket.reference
    assert [(c["name"], c["email"]) for c in body["ccs"]] == [
        ("", "new@example.org"), ("Jo Colleague", "jo@example.org")]
    detail = api.get(f"/tickets/{ticket.reference}").json()
    ids = {c["id"] for c in body["ccs"]}
    assert {c["id"] for c in detail["ccs"]} == ids and jo.pk in ids
    [event] = [e for e in detail["timeline"] if e["kind"] == "ccs"]
    assert (event["before"], event["after"], event["actor_type"]) == (
        [], ["jo@example.org", "new@example.org"], "agent")

    cleared = api.put(f"/tickets/{ticket.reference}/ccs", {"emails": []})
    assert cleared.json()["ccs"] == [] and api.get(f"/tickets/{ticket.reference}").json()["ccs"] == []


def test_it_answers_404_for_a_hidden_or_missing_ticket(api_as, outsider, ticket):
    api = api_as(outsider)
    before = counts()

    hidden = api.put(f"/tickets/{ticket.reference}/ccs", {"emails": ["jo@example.org"]})
    missing = api.put("/tickets/ZZZZZZZZ/ccs", {"emails": ["jo@example.org"]})

    assert_error(hidden, 404, "not_found")
    assert hidden.json() == missing.json()
    assert counts() == before


def test_it_refuses_a_light_agent(api_as, light, ticket):
    before, state = counts(), ticket_state(ticket)
    response = api_as(light).put(f"/tickets/{ticket.reference}/ccs", {"emails": ["jo@example.org"]})

    assert_error(response, 403, "forbidden")

    assert counts() == before and ticket_state(ticket) == state


def test_it_validates_the_payload(api_as, agent, ticket):
    api = api_as(agent)
    path = f"/tickets/{ticket.reference}/ccs"
    before = counts()

    assert_error(api.put(path, {"emails": ["a@example.org"], "add": ["b@example.org"]}), 422, "validation_error")
    assert_error(api.put(path, {}), 422, "validation_error")
    assert_error(api.put(path, {"emails": [f"p{n}@example.org" for n in range(MAX_CCS + 1)]}), 422, "validation_error")
    assert_error(api.put(path, {"emails": ["x" * 250 + "@example.org"]}), 422, "validation_error")
    assert_error(api.put(path, {"emails": ["not an address"]}), 400, "invalid")
    refused = assert_error(api.put(path, {"emails": ["maria@example.net"]}), 400, "requester_not_cc")
    assert "requester" in refused["detail"]

    assert counts() == before


def test_it_refuses_a_closed_ticket(api_as, agent, ticket):
    ticket_set_status(ticket=ticket, actor=agent, status="solved")
    ticket_set_status(ticket=ticket, actor=agent, status="closed")

    response = api_as(agent).put(f"/tickets/{ticket.reference}/ccs", {"emails": ["jo@example.org"]})

    assert_error(response, 409, "ticket_closed")
