"""/api/v1/organizations: create, read, patch, delete, merge, search and pages."""

from __future__ import annotations

import pytest

from frontdesk.customers.models import Customer, Organization
from frontdesk.customers.services import customer_create, organization_create
from frontdesk.tickets.models import Ticket

from .helpers import assert_error, counts


def row(organization_id: int) -> dict:
    return Organization.objects.filter(pk=organization_id).values().get()


@pytest.fixture
def acme(db):
    return organization_create(name="Acme", external_id="crm-acme", domains=["acme.test"],
                               plan="pro", notes="Key account.")


def test_it_creates_an_organization(api_as, agent):
    response = api_as(agent).post("/organizations", {
        "name": "  Globex ", "external_id": "crm-7", "plan": "basic", "notes": "n",
        "domains": [" Globex.COM", "globex.com", "", "mail.globex.com"],
    })
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["name"] == "Globex"
    assert created["domains"] == ["globex.com", "mail.globex.com"]  # trimmed, lower, unique
    assert created["external_id"] == "crm-7"
    assert created["merged_into_id"] is None
    assert api_as(agent).get(f"/organizations/{created['id']}").json() == created


@pytest.mark.parametrize("payload", [{}, {"name": ""}, {"name": "   "}, {"name": "x" * 201}])
def test_it_needs_a_name(api_as, agent, payload):
    before = counts()
    assert_error(api_as(agent).post("/organizations", payload), 422, "validation_error")
    assert counts() == before


def test_it_patches_only_the_fields_sent(api_as, agent, acme):
    before = row(acme.pk)
    response = api_as(agent).patch(f"/organizations/{acme.pk}", {"plan": "enterprise"})
    assert response.status_code == 200, response.content
    assert response.json()["plan"] == "enterprise"
    after = row(acme.pk)
    for changed in ("plan", "updated_at"):
        after.pop(changed), before.pop(changed)
    assert after == before


def test_it_replaces_domains_on_patch(api_as, agent, acme):
    response = api_as(agent).patch(f"/organizations/{acme.pk}", {"domains": ["B.test", "a.test"]})
    assert response.json()["domains"] == ["a.test", "b.test"]
    assert response.json()["name"] == "Acme"


@pytest.mark.parametrize("name", ["", "   "])
def test_it_refuses_to_blank_the_name(api_as, agent, acme, name):
    before = row(acme.pk)
    assert_error(api_as(agent).patch(f"/organizations/{acme.pk}", {"name": name}),
                 422, "validation_error")
    assert row(acme.pk) == before


def test_it_refuses_an_unknown_field_on_patch(api_as, agent, acme):
    before = row(acme.pk)
    error = assert_error(api_as(agent).patch(f"/organizations/{acme.pk}", {"website": "x"}),
                         422, "validation_error")
    assert "website" in error["detail"]
    assert row(acme.pk) == before


def test_it_deletes_an_organization_and_keeps_its_customers(api_as, admin, acme, make_ticket):
    member = customer_create(name="Member", emails=["m@acme.test"], organization=acme)
    ticket = make_ticket(requester=member)
    api = api_as(admin)
    response = api.delete(f"/organizations/{acme.pk}")
    assert response.status_code == 204
    assert_error(api.get(f"/organizations/{acme.pk}"), 404, "not_found")
    customer = api.get(f"/customers/{member.pk}").json()
    assert customer["organization_id"] is None
    assert api.get(f"/tickets/{ticket.reference}").json()["organization_id"] is None


def test_it_merges_an_organization_into_another(api_as, agent, acme, make_ticket):
    old = organization_create(name="ACME Inc.", domains=["acme-inc.test", "acme.test"])
    member = customer_create(name="Member", emails=["m@acme-inc.test"], organization=old)
    ticket = make_ticket(requester=member)
    api = api_as(agent)

    response = api.post(f"/organizations/{old.pk}/merge", {"into": acme.pk})

    assert response.status_code == 200, response.content
    target = response.json()
    assert target["id"] == acme.pk
    assert target["domains"] == ["acme-inc.test", "acme.test"]
    assert api.get(f"/organizations/{old.pk}").json()["id"] == acme.pk  # old ids lead to the target
    assert Organization.objects.get(pk=old.pk).merged_into_id == acme.pk
    assert api.get(f"/customers/{member.pk}").json()["organization_id"] == acme.pk
    assert api.get(f"/tickets/{ticket.reference}").json()["organization_id"] == acme.pk
    listed = [o["id"] for o in api.get("/organizations", limit=50).json()["items"]]
    assert listed == [acme.pk]
    tickets = api.get("/tickets", organization_id=acme.pk).json()["items"]
    assert [t["reference"] for t in tickets] == [ticket.reference]


def test_it_refuses_to_merge_an_organization_twice(api_as, agent, acme):
    old = organization_create(name="Old")
    other = organization_create(name="Other")
    api = api_as(agent)
    api.post(f"/organizations/{old.pk}/merge", {"into": acme.pk})
    before = row(old.pk)
    assert_error(api.post(f"/organizations/{old.pk}/merge", {"into": other.pk}),
                 409, "already_merged")
    assert row(old.pk) == before


def test_it_refuses_to_merge_an_organization_into_itself(api_as, agent, acme):
    before = row(acme.pk)
    assert_error(api_as(agent).post(f"/organizations/{acme.pk}/merge", {"into": acme.pk}),
                 400, "invalid")
    assert row(acme.pk) == before


def test_it_refuses_to_merge_into_an_unknown_organization(api_as, agent, acme):
    member = customer_create(name="Member", organization=acme)
    assert_error(api_as(agent).post(f"/organizations/{acme.pk}/merge", {"into": 999_999}),
                 404, "not_found")
    assert Customer.objects.get(pk=member.pk).organization_id == acme.pk
    assert Organization.objects.get(pk=acme.pk).merged_into_id is None


# ---- list, search, pages ------------------------------------------------------------------

@pytest.fixture
def several(db):
    return [organization_create(name=name) for name in
            ["Acme", "Globex", "Initech", "Acme Europe", "Umbrella"]]


def ids_of(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [o["id"] for o in response.json()["items"]]


def test_it_searches_organizations_by_name(api_as, light, several):
    api = api_as(light)
    assert ids_of(api.get("/organizations", q="acme", limit=50)) == [several[0].pk, several[3].pk]
    assert ids_of(api.get("/organizations", q="TECH", limit=50)) == [several[2].pk]
    assert ids_of(api.get("/organizations", q="nothing", limit=50)) == []


def test_it_walks_organization_pages(api_as, agent, several):
    api = api_as(agent)
    seen, cursor, pages = [], None, 0
    while True:
        page = api.get("/organizations", limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen += [o["id"] for o in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 3
    assert seen == [o.pk for o in several]


def test_it_refuses_an_invalid_organization_cursor(api_as, agent, several):
    assert_error(api_as(agent).get("/organizations", limit=2, cursor="***"), 400, "invalid_cursor")


def test_it_lists_organizations_without_a_limit(api_as, agent, several):
    assert ids_of(api_as(agent).get("/organizations")) == [o.pk for o in several]


@pytest.mark.parametrize("limit", [0, 101])
def test_it_refuses_an_organization_limit_outside_1_to_100(api_as, agent, several, limit):
    assert_error(api_as(agent).get("/organizations", limit=limit), 422, "validation_error")


def test_it_answers_404_for_an_unknown_organization(api_as, agent):
    assert_error(api_as(agent).get("/organizations/777777"), 404, "not_found")


def test_it_keeps_tickets_of_a_deleted_organizations_customers(api_as, admin, acme, make_ticket):
    member = customer_create(name="Member", organization=acme)
    make_ticket(requester=member)
    tickets = Ticket.objects.count()
    assert api_as(admin).delete(f"/organizations/{acme.pk}").status_code == 204
    assert Ticket.objects.count() == tickets


def test_it_never_moves_customers_onto_a_merged_organization(api_as, agent, acme):
    old = organization_create(name="Old Acme")
    stray = organization_create(name="Stray")
    member = customer_create(name="Member", organization=stray)
    api = api_as(agent)
    api.post(f"/organizations/{old.pk}/merge", {"into": acme.pk})

    response = api.post(f"/organizations/{stray.pk}/merge", {"into": old.pk})

    # Either refused, or followed to the live organization: never onto a merged one.
    assert response.status_code in (200, 409), response.content
    organization = Organization.objects.get(pk=Customer.objects.get(pk=member.pk).organization_id)
    assert organization.merged_into_id is None
