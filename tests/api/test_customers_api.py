"""/api/v1/customers: create, read, patch, delete, merge, search and pages; contact points."""

from __future__ import annotations

import pytest

from frontdesk.customers.models import ContactPoint, Customer
from frontdesk.customers.services import customer_create, organization_create
from frontdesk.tickets.models import Ticket

from .helpers import assert_error, counts


def snapshot(customer_id: int) -> dict:
    customer = Customer.objects.get(pk=customer_id)
    points = sorted(customer.contact_points.values_list("kind", "value", "is_primary"))
    return {**Customer.objects.filter(pk=customer_id).values().get(), "points": points}


# ---- create and read --------------------------------------------------------------------

def test_it_creates_a_customer_with_every_field(api_as, agent):
    organization = organization_create(name="Acme")
    response = api_as(agent).post("/customers", {
        "name": "  Jo Doe ", "emails": ["Jo@Example.COM", "jo.doe@work.example"],
        "phones": ["+34 600 11-22-33"], "external_ids": ["crm-42"],
        "organization_id": organization.pk, "locale": "es-ES", "time_zone": "Europe/Madrid",
        "address": "Calle Mayor 1", "preferences": {"contact": "email", "newsletter": False},
        "plan": "pro", "notes": "Prefers mornings.",
    })
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["name"] == "Jo Doe"
    assert created["emails"] == ["jo@example.com", "jo.doe@work.example"]
    assert created["phones"] == ["+34600112233"]
    assert created["external_ids"] == ["crm-42"]
    primaries = {(p["kind"], p["value"]) for p in created["contact_points"] if p["is_primary"]}
    assert primaries == {("email", "jo@example.com"), ("phone", "+34600112233"),
                         ("external", "crm-42")}
    assert created["organization_id"] == organization.pk
    assert created["time_zone"] == "Europe/Madrid"
    assert created["preferences"] == {"contact": "email", "newsletter": False}
    assert created["merged_into_id"] is None
    assert api_as(agent).get(f"/customers/{created['id']}").json() == created


def test_it_creates_a_customer_with_nothing_but_defaults(api_as, agent):
    response = api_as(agent).post("/customers", {})
    assert response.status_code == 201, response.content
    assert response.json()["name"] == ""
    assert response.json()["contact_points"] == []


def test_it_keeps_one_contact_point_for_repeated_values(api_as, agent):
    response = api_as(agent).post("/customers", {"emails": ["a@x.example", "A@X.example"],
                                                 "phones": ["+1 555 0100", "+15550100"]})
    assert response.json()["emails"] == ["a@x.example"]
    assert response.json()["phones"] == ["+15550100"]


@pytest.mark.parametrize(("kind", "value"), [
    ("emails", "maria@example.net"),
    ("emails", "MARIA@example.NET"),
    ("phones", "+34 611 000 111"),
    ("external_ids", "crm-1"),
])
def test_it_refuses_a_contact_point_of_another_customer(api_as, agent, customer, kind, value):
    customer_create(name="Phone owner", phones=["+34611000111"], external_ids=["crm-1"])
    before = counts()
    response = api_as(agent).post("/customers", {"name": "Impostor", kind: [value]})
    body = assert_error(response, 409, "contact_point_taken")
    assert "already belongs" in body["detail"]
    assert counts() == before


@pytest.mark.parametrize(("field", "value"), [
    ("emails", ["not-an-email"]),
    ("emails", ["two@@example.net"]),
    ("emails", ["ok@example.net", "bad"]),
    ("phones", ["call me maybe"]),
    ("phones", ["12"]),
    ("external_ids", ["   "]),
])
def test_it_refuses_an_invalid_contact_point(api_as, agent, field, value):
    before = counts()
    assert_error(api_as(agent).post("/customers", {"name": "X", field: value}), 400, "invalid")
    assert counts() == before


@pytest.mark.parametrize("tz", ["Mars/Olympus", "Europe/Atlantis", "../../etc/passwd", "UTC+25"])
def test_it_refuses_an_unknown_time_zone(api_as, agent, tz):
    before = counts()
    body = assert_error(api_as(agent).post("/customers", {"name": "X", "time_zone": tz}),
                        400, "invalid_time_zone")
    assert tz in body["detail"]
    assert counts() == before


def test_it_follows_a_merge_when_reading_an_old_id(api_as, agent, customer):
    old = customer_create(name="Old Maria", emails=["maria.old@example.net"])
    api = api_as(agent)
    assert api.post(f"/customers/{old.pk}/merge", {"into": customer.pk}).status_code == 200
    response = api.get(f"/customers/{old.pk}")
    assert response.status_code == 200
    assert response.json()["id"] == customer.pk


def test_it_answers_404_for_an_unknown_customer(api_as, agent):
    assert_error(api_as(agent).get("/customers/424242"), 404, "not_found")


# ---- patch ------------------------------------------------------------------------------

@pytest.fixture
def detailed(customer):
    Customer.objects.filter(pk=customer.pk).update(
        locale="es", plan="pro", notes="VIP since 2020", address="Madrid",
        preferences={"lang": "es"},
    )
    return customer


def test_it_changes_only_the_fields_sent(api_as, agent, detailed):
    before = snapshot(detailed.pk)
    response = api_as(agent).patch(f"/customers/{detailed.pk}", {"plan": "enterprise"})
    assert response.status_code == 200, response.content
    assert response.json()["plan"] == "enterprise"
    after = snapshot(detailed.pk)
    assert after.pop("plan") == "enterprise" and before.pop("plan") == "pro"
    after.pop("updated_at"), before.pop("updated_at")
    assert after == before


def test_it_clears_a_field_sent_empty(api_as, agent, detailed):
    response = api_as(agent).patch(f"/customers/{detailed.pk}", {"notes": "", "time_zone": ""})
    assert response.json()["notes"] == ""
    assert response.json()["time_zone"] == ""
    assert response.json()["plan"] == "pro"


def test_it_sets_and_clears_the_organization(api_as, agent, customer):
    organization = organization_create(name="Acme")
    api = api_as(agent)
    assert api.patch(f"/customers/{customer.pk}",
                     {"organization_id": organization.pk}).json()["organization_id"] == organization.pk
    assert api.patch(f"/customers/{customer.pk}",
                     {"name": "Maria L."}).json()["organization_id"] == organization.pk
    assert api.patch(f"/customers/{customer.pk}",
                     {"organization_id": None}).json()["organization_id"] is None


def test_it_adds_contact_points_and_keeps_the_primary(api_as, agent, customer):
    response = api_as(agent).patch(f"/customers/{customer.pk}", {
        "add_emails": ["maria@work.example", "MARIA@example.net"], "add_phones": ["+34 600 000 000"],
    })
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["emails"] == ["maria@example.net", "maria@work.example"]
    assert body["phones"] == ["+34600000000"]
    primary_email = [p["value"] for p in body["contact_points"]
                     if p["kind"] == "email" and p["is_primary"]]
    assert primary_email == ["maria@example.net"]
    assert body["time_zone"] == "Europe/Madrid"


def test_it_refuses_a_patch_with_a_taken_email_and_changes_nothing(api_as, agent, customer):
    customer_create(name="Other", emails=["other@example.net"])
    before = snapshot(customer.pk)
    response = api_as(agent).patch(f"/customers/{customer.pk}",
                                   {"name": "Changed", "add_emails": ["other@example.net"]})
    assert_error(response, 409, "contact_point_taken")
    assert snapshot(customer.pk) == before


@pytest.mark.parametrize(("change", "code"), [
    ({"time_zone": "Nowhere/City"}, "invalid_time_zone"),
    ({"add_emails": ["broken"]}, "invalid"),
    ({"add_phones": ["abc"]}, "invalid"),
])
def test_it_refuses_an_invalid_patch_and_changes_nothing(api_as, agent, customer, change, code):
    before = snapshot(customer.pk)
    response = api_as(agent).patch(f"/customers/{customer.pk}", {"name": "Changed", **change})
    assert_error(response, 400, code)
    assert snapshot(customer.pk) == before


def test_it_refuses_to_patch_fields_that_belong_elsewhere(api_as, agent, customer):
    before = snapshot(customer.pk)
    for field in ({"emails": ["x@y.example"]}, {"id": 5}, {"merged_into_id": 1}):
        assert_error(api_as(agent).patch(f"/customers/{customer.pk}", field),
                     422, "validation_error")
    assert snapshot(customer.pk) == before


# ---- delete -----------------------------------------------------------------------------

def test_it_deletes_a_customer_without_tickets(api_as, admin):
    lonely = customer_create(name="Lonely", emails=["lonely@example.net"])
    api = api_as(admin)
    response = api.delete(f"/customers/{lonely.pk}")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(api.get(f"/customers/{lonely.pk}"), 404, "not_found")
    assert not ContactPoint.objects.filter(value="lonely@example.net").exists()
    assert_error(api.delete(f"/customers/{lonely.pk}"), 404, "not_found")


def test_it_refuses_to_delete_a_customer_with_tickets(api_as, admin, customer, ticket):
    before = counts()
    body = assert_error(api_as(admin).delete(f"/customers/{customer.pk}"),
                        409, "customer_has_tickets")
    assert "merge" in body["detail"]
    assert counts() == before
    assert api_as(admin).get(f"/customers/{customer.pk}").status_code == 200


# ---- merge ------------------------------------------------------------------------------

@pytest.fixture
def duplicate(make_ticket, support):
    dup = customer_create(name="M. Lopez", emails=["m.lopez@example.net"], phones=["+34699000000"],
                          plan="gold", notes="Called twice.")
    make_ticket("From the other address", requester=dup, group=support)
    return dup


def test_it_merges_a_customer_into_another(api_as, agent, customer, ticket, duplicate):
    api = api_as(agent)
    response = api.post(f"/customers/{duplicate.pk}/merge", {"into": customer.pk})
    assert response.status_code == 200, response.content
    target = response.json()
    assert target["id"] == customer.pk
    assert target["emails"] == ["maria@example.net", "m.lopez@example.net"]
    assert target["phones"] == ["+34699000000"]
    assert target["plan"] == "gold"  # the target had none
    assert target["notes"] == "Called twice."
    assert target["time_zone"] == "Europe/Madrid"  # the target's own value wins

    assert Customer.objects.get(pk=duplicate.pk).merged_into_id == customer.pk
    assert not Ticket.objects.filter(requester=duplicate).exists()
    tickets = api.get("/tickets", requester_id=customer.pk).json()["items"]
    assert {t["subject"] for t in tickets} == {"Charged twice", "From the other address"}
    assert api.get(f"/customers/{duplicate.pk}").json()["id"] == customer.pk
    listed = {c["id"] for c in api.get("/customers", limit=100).json()["items"]}
    assert duplicate.pk not in listed and customer.pk in listed


def test_it_routes_mail_from_a_merged_address_to_the_surviving_customer(api_as, agent, customer,
                                                                       duplicate):
    api = api_as(agent)
    api.post(f"/customers/{duplicate.pk}/merge", {"into": customer.pk})
    response = api.post("/tickets", {"subject": "s", "body": "b",
                                     "requester_email": "m.lopez@example.net"})
    assert response.json()["requester"]["id"] == customer.pk


def test_it_refuses_to_merge_a_customer_into_itself(api_as, agent, customer):
    before = snapshot(customer.pk)
    assert_error(api_as(agent).post(f"/customers/{customer.pk}/merge", {"into": customer.pk}),
                 400, "invalid")
    assert snapshot(customer.pk) == before


def test_it_refuses_to_merge_into_an_unknown_customer(api_as, agent, customer, ticket):
    before = snapshot(customer.pk)
    assert_error(api_as(agent).post(f"/customers/{customer.pk}/merge", {"into": 999_999}),
                 404, "not_found")
    assert snapshot(customer.pk) == before
    assert Ticket.objects.get(pk=ticket.pk).requester_id == customer.pk


# ---- list, search, pages ------------------------------------------------------------------

@pytest.fixture
def people(db):
    acme = organization_create(name="Acme")
    return {
        "ana": customer_create(name="Ana Alvarez", emails=["ana@acme.test"], organization=acme),
        "ben": customer_create(name="Ben Brown", emails=["ben@other.test", "b.brown@acme.test"],
                               phones=["+441234567"]),
        "cy": customer_create(name="Cy Acmeson", emails=["cy@acme.test"], organization=acme),
        "dee": customer_create(name="Dee Dixon", external_ids=["ZD-9001"]),
        "acme": acme,
    }


def listed(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [c["id"] for c in response.json()["items"]]


@pytest.mark.parametrize(("q", "expected"), [
    ("ana", ["ana"]),
    ("BROWN", ["ben"]),
    ("acme", ["ana", "ben", "cy"]),        # names and addresses, each customer once
    ("acme.test", ["ana", "ben", "cy"]),
    ("+4412", ["ben"]),
    ("zd-9001", ["dee"]),
    ("nobody", []),
])
def test_it_searches_names_and_contact_points(api_as, light, people, q, expected):
    response = api_as(light).get("/customers", q=q, limit=50)
    assert listed(response) == [people[name].pk for name in expected]


def test_it_filters_customers_by_organization(api_as, agent, people):
    response = api_as(agent).get("/customers", organization_id=people["acme"].pk, limit=50)
    assert listed(response) == [people["ana"].pk, people["cy"].pk]


def test_it_walks_customer_pages(api_as, agent, people, customer):
    api = api_as(agent)
    seen, cursor, pages = [], None, 0
    while True:
        page = api.get("/customers", limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen += [c["id"] for c in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 3
    assert seen == sorted(Customer.objects.values_list("pk", flat=True))


def test_it_refuses_an_invalid_customer_cursor(api_as, agent, people):
    assert_error(api_as(agent).get("/customers", limit=2, cursor="%%%"), 400, "invalid_cursor")
    assert_error(api_as(agent).get("/customers", limit=2, cursor="bm90LWFuLWlk"),  # "not-an-id"
                 400, "invalid_cursor")


def test_it_lists_customers_without_a_limit(api_as, agent, people):
    response = api_as(agent).get("/customers")
    assert response.status_code == 200, response.content
    assert len(response.json()["items"]) == 4


@pytest.mark.parametrize("limit", [0, 101])
def test_it_refuses_a_customer_limit_outside_1_to_100(api_as, agent, people, limit):
    assert_error(api_as(agent).get("/customers", limit=limit), 422, "validation_error")


def test_it_lists_customers_in_a_constant_number_of_queries(api_as, agent, db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    organization = organization_create(name="Acme")

    def add(start, n):
        for i in range(start, start + n):
            customer_create(name=f"P{i}", emails=[f"p{i}@acme.test"], phones=[f"+3460000{i:04d}"],
                            organization=organization)

    def queries():
        api.get("/customers", limit=25)  # warm-up: the token's first use is recorded
        with CaptureQueriesContext(connection) as ctx:
            response = api.get("/customers", limit=25)
        return len(ctx.captured_queries), len(response.json()["items"])

    api = api_as(agent)
    add(0, 5)
    small, rows = queries()
    assert rows == 5
    add(5, 25)
    large, rows = queries()
    assert rows == 25
    assert large == small
