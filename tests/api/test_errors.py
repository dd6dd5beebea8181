"""The one error format: ``{"error": code, "detail": text}`` (plus ``fields`` on a 422),
for validation, unknown ids, bad bodies — and no partial write when a request fails."""

from __future__ import annotations

import pytest

from frontdesk.customers.models import Customer
from frontdesk.customers.services import customer_create, organization_create

from .helpers import assert_error, b64, counts, ticket_state


@pytest.fixture
def ids(ticket, customer, support, agent, admin):
    other = customer_create(name="Other", emails=["other@example.net"])
    organization = organization_create(name="Acme")
    return {"ref": ticket.reference, "customer": customer.pk, "other": other.pk,
            "org": organization.pk, "group": support.pk, "agent": agent.pk}


# (method, path, a valid body) for every endpoint that takes a body.
BODIES = {
    "create_ticket": ("post", "/tickets", lambda i: {
        "subject": "s", "body": "b", "requester_id": i["customer"]}),
    "reply": ("post", "/tickets/{ref}/replies", lambda i: {"body": "b"}),
    "note": ("post", "/tickets/{ref}/notes", lambda i: {"body": "b"}),
    "customer_message": ("post", "/tickets/{ref}/customer-messages", lambda i: {"body": "b"}),
    "assignment": ("put", "/tickets/{ref}/assignment", lambda i: {"assignee_id": i["agent"]}),
    "status": ("put", "/tickets/{ref}/status", lambda i: {"status": "open"}),
    "priority": ("put", "/tickets/{ref}/priority", lambda i: {"priority": "high"}),
    "tags": ("post", "/tickets/{ref}/tags", lambda i: {"add": ["x"]}),
    "merge": ("post", "/tickets/{ref}/merge", lambda i: {"into": "ZZZZZZZZ"}),
    "create_customer": ("post", "/customers", lambda i: {"name": "n"}),
    "patch_customer": ("patch", "/customers/{customer}", lambda i: {"name": "n"}),
    "merge_customer": ("post", "/customers/{other}/merge", lambda i: {"into": i["customer"]}),
    "create_organization": ("post", "/organizations", lambda i: {"name": "n"}),
    "patch_organization": ("patch", "/organizations/{org}", lambda i: {"name": "n"}),
    "merge_organization": ("post", "/organizations/{org}/merge", lambda i: {"into": i["org"]}),
}


def send(api, endpoint, ids, body):
    method, path, _ = BODIES[endpoint]
    return getattr(api, method)(path.format(**ids), body)


def snapshot():
    return [counts(), list(Customer.objects.order_by("pk").values())]


@pytest.mark.parametrize("endpoint", list(BODIES))
def test_it_refuses_an_unknown_field_and_names_it(api_as, admin, ids, endpoint):
    body = {**BODIES[endpoint][2](ids), "surprise_field": 1}
    before = snapshot()
    error = assert_error(send(api_as(admin), endpoint, ids, body), 422, "validation_error")
    assert "surprise_field" in error["detail"]
    assert [f["loc"][-1] for f in error["fields"]] == ["surprise_field"]
    assert error["fields"][0]["msg"]
    assert snapshot() == before


def test_it_refuses_an_unknown_field_inside_an_attachment(api_as, agent, ticket):
    response = api_as(agent).post(f"/tickets/{ticket.reference}/replies", {
        "body": "b", "attachments": [{"filename": "a", "content_base64": b64(b"a"), "url": "/x"}],
    })
    error = assert_error(response, 422, "validation_error")
    assert error["fields"][0]["loc"][-3:] == ["attachments", "0", "url"]
    assert "attachments.0.url" in error["detail"]


def test_it_names_an_unknown_field_called_path(api_as, agent, ticket):
    response = api_as(agent).post(f"/tickets/{ticket.reference}/replies", {
        "body": "b", "attachments": [{"filename": "a", "content_base64": b64(b"a"), "path": "/x"}],
    })
    error = assert_error(response, 422, "validation_error")
    assert "attachments.0.path" in error["detail"]


def test_it_refuses_a_misspelt_field_rather_than_ignoring_it(api_as, agent, ticket):
    before = ticket_state(ticket)
    response = api_as(agent).put(f"/tickets/{ticket.reference}/status", {"state": "open"})
    error = assert_error(response, 422, "validation_error")
    assert {tuple(f["loc"][-1:]) for f in error["fields"]} == {("state",), ("status",)}
    assert ticket_state(ticket) == before


@pytest.mark.parametrize(("endpoint", "change", "field"), [
    ("create_ticket", {"subject": 123}, "subject"),
    ("create_ticket", {"requester_id": "maria"}, "requester_id"),
    ("create_ticket", {"tags": "billing"}, "tags"),
    ("create_ticket", {"tags": [1, 2]}, "tags"),
    ("create_ticket", {"priority": "whenever"}, "priority"),
    ("create_ticket", {"channel": "carrier-pigeon"}, "channel"),
    ("create_ticket", {"from_agent": "sometimes"}, "from_agent"),
    ("create_ticket", {"attachments": {"filename": "a"}}, "attachments"),
    ("create_ticket", {"body": None}, "body"),
    ("reply", {"status": "done"}, "status"),
    ("reply", {"body": ["a", "b"]}, "body"),
    ("assignment", {"assignee_id": "sam"}, "assignee_id"),
    ("assignment", {"group_id": 1.5}, "group_id"),
    ("status", {"status": 1}, "status"),
    ("priority", {"priority": None}, "priority"),
    ("tags", {"add": "x"}, "add"),
    ("merge", {"into": 42}, "into"),
    ("merge", {"into": ""}, "into"),
    ("create_customer", {"emails": "a@b.example"}, "emails"),
    ("create_customer", {"preferences": ["not", "a", "dict"]}, "preferences"),
    ("merge_customer", {"into": "someone"}, "into"),
    ("create_organization", {"domains": "acme.com"}, "domains"),
])
def test_it_refuses_a_wrong_type_with_the_field_named(api_as, admin, ids, endpoint, change, field):
    body = {**BODIES[endpoint][2](ids), **change}
    before = snapshot()
    error = assert_error(send(api_as(admin), endpoint, ids, body), 422, "validation_error")
    assert field in error["detail"]
    assert any(field in f["loc"] for f in error["fields"])
    assert snapshot() == before


@pytest.mark.parametrize(("raw", "status", "code"), [
    ("{not json", 400, "http_error"),
    ("", 422, "validation_error"),
    ("null", 422, "validation_error"),
    ("[1, 2]", 422, "validation_error"),
    ('"a string"', 422, "validation_error"),
])
def test_it_answers_a_body_that_is_not_a_json_object_in_the_error_format(
    api_as, agent, ticket, raw, status, code
):
    api = api_as(agent)
    before = ticket_state(ticket)
    response = api.client.post(f"/api/v1/tickets/{ticket.reference}/notes", data=raw,
                               content_type="application/json", headers=api.headers)
    assert_error(response, status, code)
    assert ticket_state(ticket) == before


def test_it_accepts_a_subject_of_250_characters_and_refuses_251(api_as, agent, customer):
    api = api_as(agent)
    before = counts()
    error = assert_error(api.post("/tickets", {"subject": "x" * 251, "body": "b",
                                               "requester_id": customer.pk}),
                         422, "validation_error")
    assert "subject" in error["detail"]
    assert counts() == before
    response = api.post("/tickets", {"subject": "x" * 250, "body": "b", "requester_id": customer.pk})
    assert response.status_code == 201
    assert len(response.json()["subject"]) == 250


@pytest.mark.parametrize(("endpoint", "change", "field"), [
    ("create_ticket", {"subject": ""}, "subject"),
    ("create_ticket", {"subject": "   "}, "subject"),
    ("create_ticket", {"requester_email": "a" * 250 + "@x.io"}, "requester_email"),
    ("create_ticket", {"tags": [f"t{i}" for i in range(51)]}, "tags"),
    ("create_customer", {"name": "n" * 201}, "name"),
    ("create_customer", {"emails": [f"e{i}@x.io" for i in range(21)]}, "emails"),
    ("create_organization", {"name": ""}, "name"),
    ("patch_organization", {"name": "  "}, "name"),
])
def test_it_refuses_values_outside_their_limits(api_as, admin, ids, endpoint, change, field):
    body = {**BODIES[endpoint][2](ids), **change}
    before = snapshot()
    error = assert_error(send(api_as(admin), endpoint, ids, body), 422, "validation_error")
    assert field in error["detail"]
    assert snapshot() == before


def test_it_refuses_an_attachment_list_over_20(api_as, agent, ticket):
    before = counts()
    many = [{"filename": f"{i}.txt", "content_base64": b64(b"x")} for i in range(21)]
    response = api_as(agent).post(f"/tickets/{ticket.reference}/notes",
                                  {"body": "b", "attachments": many})
    assert_error(response, 422, "validation_error")
    assert counts() == before


# ---- unknown ids ----------------------------------------------------------------------

UNKNOWN = 987_654


@pytest.mark.parametrize(("method", "path", "body"), [
    ("get", "/tickets/ZZZZZZZZ", None),
    ("get", "/tickets/" + "Q" * 300, None),
    ("post", "/tickets/ZZZZZZZZ/replies", {"body": "b"}),
    ("post", "/tickets/ZZZZZZZZ/notes", {"body": "b"}),
    ("post", "/tickets/ZZZZZZZZ/customer-messages", {"body": "b"}),
    ("put", "/tickets/ZZZZZZZZ/status", {"status": "open"}),
    ("put", "/tickets/ZZZZZZZZ/priority", {"priority": "low"}),
    ("put", "/tickets/ZZZZZZZZ/assignment", {"group_id": None}),
    ("post", "/tickets/ZZZZZZZZ/tags", {"add": ["x"]}),
    ("post", "/tickets/ZZZZZZZZ/merge", {"into": "{ref}"}),
    ("post", "/tickets", {"subject": "s", "body": "b", "requester_id": UNKNOWN}),
    ("post", "/tickets", {"subject": "s", "body": "b", "requester_id": "{customer}",
                          "group_id": UNKNOWN}),
    ("post", "/tickets", {"subject": "s", "body": "b", "requester_id": "{customer}",
                          "assignee_id": UNKNOWN}),
    ("put", "/tickets/{ref}/assignment", {"group_id": UNKNOWN}),
    ("put", "/tickets/{ref}/assignment", {"assignee_id": UNKNOWN}),
    ("get", f"/customers/{UNKNOWN}", None),
    ("patch", f"/customers/{UNKNOWN}", {"name": "x"}),
    ("delete", f"/customers/{UNKNOWN}", None),
    ("post", f"/customers/{UNKNOWN}/merge", {"into": "{customer}"}),
    ("post", "/customers/{customer}/merge", {"into": UNKNOWN}),
    ("post", "/customers", {"name": "x", "organization_id": UNKNOWN}),
    ("patch", "/customers/{customer}", {"organization_id": UNKNOWN}),
    ("get", f"/organizations/{UNKNOWN}", None),
    ("patch", f"/organizations/{UNKNOWN}", {"plan": "x"}),
    ("delete", f"/organizations/{UNKNOWN}", None),
    ("post", f"/organizations/{UNKNOWN}/merge", {"into": "{org}"}),
    ("post", "/organizations/{org}/merge", {"into": UNKNOWN}),
    ("get", f"/agents/{UNKNOWN}", None),
    ("get", f"/groups/{UNKNOWN}", None),
])
def test_it_answers_404_not_found_for_an_unknown_id(api_as, admin, ids, method, path, body):
    def fill(value):  # "{customer}" → the id of that fixture
        return ids[value[1:-1]] if isinstance(value, str) and value.startswith("{") else value

    path = path.format(**ids)
    if body is not None:
        body = {key: fill(value) for key, value in body.items()}
    before, state = snapshot(), ticket_state_of(ids)
    api = api_as(admin)
    response = api.get(path) if body is None and method == "get" else (
        getattr(api, method)(path) if body is None else getattr(api, method)(path, body))
    assert_error(response, 404, "not_found")
    assert snapshot() == before
    assert ticket_state_of(ids) == state


def ticket_state_of(ids):
    from frontdesk.tickets.models import Ticket

    return ticket_state(Ticket.objects.get(reference=ids["ref"]))


# ---- no partial writes ------------------------------------------------------------------

@pytest.mark.parametrize("change", [
    {"assignee_id": UNKNOWN},
    {"group_id": UNKNOWN},
    {"tags": ["not a valid tag!"]},
    {"attachments": [{"filename": "a.txt", "content_base64": "%%%"}]},
    {"body": "   "},
    {"priority": "urgent", "assignee_id": "{outsider}", "group_id": "{support}"},
])
def test_it_creates_no_customer_when_ticket_creation_by_email_fails(
    api_as, agent, outsider, support, change
):
    placeholders = {"{outsider}": outsider.pk, "{support}": support.pk}
    change = {k: placeholders.get(v, v) if isinstance(v, str) else v for k, v in change.items()}
    before = counts()
    response = api_as(agent).post("/tickets", {
        "subject": "s", "body": "b", "requester_email": "brand.new@example.org", **change,
    })
    assert 400 <= response.status_code < 500, response.content
    assert set(response.json()) == {"error", "detail"}
    assert counts() == before
    assert not Customer.objects.filter(contact_points__value="brand.new@example.org").exists()


def test_it_creates_no_ticket_when_the_assignee_is_unknown(api_as, agent, customer):
    before = counts()
    response = api_as(agent).post("/tickets", {"subject": "s", "body": "b",
                                               "requester_id": customer.pk, "assignee_id": UNKNOWN})
    assert_error(response, 404, "not_found")
    assert counts() == before


def test_it_keeps_the_customer_unchanged_when_a_patch_fails_halfway(api_as, agent, customer):
    customer_create(name="Taken", emails=["taken@example.net"])
    before = snapshot()
    response = api_as(agent).patch(f"/customers/{customer.pk}",
                                   {"name": "Renamed", "add_emails": ["taken@example.net"]})
    assert_error(response, 409, "contact_point_taken")
    assert snapshot() == before


# ---- the format of other errors ---------------------------------------------------------

def test_it_answers_401_in_the_error_format(api_as, ticket):
    body = assert_error(api_as(None).get(f"/tickets/{ticket.reference}"), 401, "unauthorized")
    assert "Bearer" in body["detail"]


def test_it_answers_403_in_the_error_format(api_as, light, ticket):
    body = assert_error(api_as(light).put(f"/tickets/{ticket.reference}/status",
                                          {"status": "open"}), 403, "forbidden")
    assert "Light agents" in body["detail"]


def test_it_answers_an_unknown_path_parameter_type_with_422(api_as, agent):
    error = assert_error(api_as(agent).get("/customers/not-a-number"), 422, "validation_error")
    assert "customer_id" in error["detail"]


def test_it_answers_a_wrong_method_in_the_error_format(api_as, agent, ticket):
    response = api_as(agent).delete(f"/tickets/{ticket.reference}")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json"), response.content
    assert set(response.json()) == {"error", "detail"}


def test_it_answers_an_unknown_api_path_in_the_error_format(api_as, agent):
    assert_error(api_as(agent).get("/no-such-endpoint"), 404, "not_found")
