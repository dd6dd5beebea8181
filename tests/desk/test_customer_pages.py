"""Customer and organization pages: lists with search, profiles with the tickets the agent may
see, edit, notes from the ticket page's customer panel, and merge with a confirmation step."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from frontdesk.customers.models import ContactPoint, Customer, Organization
from frontdesk.customers.services import customer_create, organization_create
from frontdesk.tickets.services import ticket_create
from tests.desk.conftest import client_for

HTMX = {"HX-Request": "true"}


@pytest.fixture
def acme(db):
    return organization_create(name="Acme Corp", domains=["acme.test"], plan="Enterprise")


def test_it_lists_and_searches_customers(customer, agent, acme):
    customer_create(name="John Doe", emails=["john@acme.test"], organization=acme)
    client = client_for(agent)

    page = client.get("/desk/customers/").content.decode()
    assert "Maria Lopez" in page and "John Doe" in page and "Acme Corp" in page

    found = client.get("/desk/customers/", {"q": "john@acme"}).content.decode()
    assert "John Doe" in found and "Maria Lopez" not in found
    assert "No customer matches" in client.get("/desk/customers/", {"q": "nobody"}).content.decode()
    assert client.get("/desk/customers/", {"cursor": "!!bad"}).status_code == 200


def test_the_customer_list_costs_the_same_queries_for_more_customers(agent, acme):
    client = client_for(agent)
    customer_create(name="One", emails=["one@x.test"], organization=acme)
    client.get("/desk/customers/")
    with CaptureQueriesContext(connection) as few:
        client.get("/desk/customers/")
    for i in range(10):
        customer_create(name=f"C{i}", emails=[f"c{i}@x.test"], organization=acme)
    with CaptureQueriesContext(connection) as many:
        client.get("/desk/customers/")
    assert len(few) == len(many)


def test_it_shows_a_profile_with_only_the_tickets_the_agent_may_see(customer, agent, outsider, ticket, billing):
    hidden = ticket_create(subject="Invoice copy", requester=customer, body="?", group=billing)

    page = client_for(agent).get(f"/desk/customers/{customer.pk}/").content.decode()
    assert "Maria Lopez" in page and "maria@example.net" in page and "Europe/Madrid" in page
    assert ticket.reference in page and hidden.reference not in page
    assert "Edit customer" in page and "Merge into another customer" in page

    outsider_page = client_for(outsider).get(f"/desk/customers/{customer.pk}/").content.decode()
    assert hidden.reference in outsider_page and ticket.reference not in outsider_page

    assert client_for(agent).get("/desk/customers/999999/").status_code == 404


def test_it_edits_a_customer(customer, agent, acme):
    response = client_for(agent).post(f"/desk/customers/{customer.pk}/edit/", {
        "name": "María López", "organization": acme.pk, "locale": "es", "time_zone": "America/Bogota",
        "plan": "Pro", "address": "Calle 1", "notes": "VIP", "preferences": '{"channel": "email"}',
        "add_email": "maria@work.test", "add_phone": "+34 600 000 000",
    })
    assert response.status_code == 302

    customer.refresh_from_db()
    assert (customer.name, customer.organization, customer.time_zone, customer.plan) == (
        "María López", acme, "America/Bogota", "Pro")
    assert customer.preferences == {"channel": "email"} and customer.notes == "VIP"
    assert set(customer.contact_points.values_list("value", flat=True)) == {
        "maria@example.net", "maria@work.test", "+34600000000"}


@pytest.mark.parametrize("field, value, message", [
    ("time_zone", "Mars/Olympus", "Unknown time zone"),
    ("preferences", "[1, 2]", "JSON object"),
    ("add_email", "not-an-email", "not a valid email"),
])
def test_it_shows_what_is_wrong_with_an_edit(customer, agent, field, value, message):
    data = {"name": "Maria Lopez", field: value}
    response = client_for(agent).post(f"/desk/customers/{customer.pk}/edit/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    customer.refresh_from_db()
    assert customer.time_zone == "Europe/Madrid"


def test_it_refuses_an_address_that_belongs_to_another_customer(customer, agent):
    customer_create(name="Other", emails=["taken@x.test"])
    response = client_for(agent).post(f"/desk/customers/{customer.pk}/edit/", {"add_email": "taken@x.test"})
    assert response.status_code == 400 and "already belongs to customer" in response.content.decode()


def test_light_agents_read_customers_but_cannot_edit_or_merge(customer, light):
    client = client_for(light)
    page = client.get(f"/desk/customers/{customer.pk}/").content.decode()
    assert "Maria Lopez" in page and "Edit customer" not in page

    assert client.post(f"/desk/customers/{customer.pk}/edit/", {"name": "X"}).status_code == 403
    assert client.post(f"/desk/customers/{customer.pk}/notes/", {"notes": "X"}).status_code == 403
    assert client.get(f"/desk/customers/{customer.pk}/merge/").status_code == 403
    customer.refresh_from_db()
    assert customer.name == "Maria Lopez" and customer.notes == ""


def test_it_saves_notes_from_the_ticket_pages_customer_panel(customer, agent, ticket):
    response = client_for(agent).post(
        f"/desk/customers/{customer.pk}/notes/", {"notes": "Calls before 9am."}, headers=HTMX
    )
    assert response.status_code == 200
    assert 'id="customer-notes"' in response.content.decode() and "Saved." in response.content.decode()
    customer.refresh_from_db()
    assert customer.notes == "Calls before 9am."
    assert "Calls before 9am." in client_for(agent).get(f"/desk/tickets/{ticket.reference}/").content.decode()


def test_it_merges_a_customer_after_a_confirmation_step(customer, agent, ticket):
    duplicate = customer_create(name="M. Lopez", emails=["mlopez@old.test"])
    dup_ticket = ticket_create(subject="Old account", requester=duplicate, body="?", group=ticket.group)
    client = client_for(agent)
    path = f"/desk/customers/{duplicate.pk}/merge/"

    search = client.get(path, {"q": "maria@"}).content.decode()
    assert f"{path}?into={customer.pk}" in search and "Maria Lopez" in search

    confirm = client.get(path, {"into": customer.pk}).content.decode()
    assert "Confirm the merge" in confirm and "mlopez@old.test" in confirm
    assert Customer.objects.get(pk=duplicate.pk).merged_into is None  # nothing happened yet

    merged = client.post(path, {"into": customer.pk})
    assert merged.status_code == 302 and merged["Location"] == f"/desk/customers/{customer.pk}/"
    duplicate.refresh_from_db()
    dup_ticket.refresh_from_db()
    assert duplicate.merged_into == customer and dup_ticket.requester == customer
    assert ContactPoint.objects.get(value="mlopez@old.test").customer == customer

    # The old id leads to the customer it lives on now; merging it again is refused politely.
    assert client.get(f"/desk/customers/{duplicate.pk}/")["Location"] == f"/desk/customers/{customer.pk}/"
    assert client.post(path, {"into": customer.pk}).status_code == 302


def test_it_refuses_merging_a_customer_into_itself(customer, agent):
    response = client_for(agent).post(f"/desk/customers/{customer.pk}/merge/", {"into": customer.pk})
    assert response.status_code == 400 and "cannot be merged into itself" in response.content.decode()


def test_it_lists_shows_edits_and_merges_organizations(acme, agent, customer, ticket):
    other = organization_create(name="Acme Inc (dup)", domains=["acme-inc.test"])
    customer.organization = other
    customer.save()
    client = client_for(agent)

    listing = client.get("/desk/organizations/", {"q": "acme"}).content.decode()
    assert "Acme Corp" in listing and "Acme Inc (dup)" in listing

    page = client.get(f"/desk/organizations/{other.pk}/").content.decode()
    assert "Maria Lopez" in page and "acme-inc.test" in page

    saved = client.post(f"/desk/organizations/{acme.pk}/edit/", {
        "name": "Acme Corporation", "domains": "acme.test, acme.example", "plan": "Enterprise", "notes": "Key account",
    })
    assert saved.status_code == 302
    acme.refresh_from_db()
    assert acme.name == "Acme Corporation" and acme.domains == ["acme.example", "acme.test"]
    assert client.post(f"/desk/organizations/{acme.pk}/edit/", {"name": ""}).status_code == 400

    confirm = client.get(f"/desk/organizations/{other.pk}/merge/", {"into": acme.pk}).content.decode()
    assert "Confirm the merge" in confirm
    merged = client.post(f"/desk/organizations/{other.pk}/merge/", {"into": acme.pk})
    assert merged.status_code == 302
    customer.refresh_from_db()
    assert customer.organization == acme
    assert Organization.objects.get(pk=other.pk).merged_into == acme
    assert client.get(f"/desk/organizations/{other.pk}/")["Location"] == f"/desk/organizations/{acme.pk}/"


def test_organization_pages_answer_404_for_missing_ones(agent, light, acme):
    assert client_for(agent).get("/desk/organizations/424242/").status_code == 404
    assert client_for(agent).get(f"/desk/organizations/{acme.pk}/merge/", {"into": "x"}).status_code == 404
    assert client_for(light).post(f"/desk/organizations/{acme.pk}/edit/", {"name": "X"}).status_code == 403
