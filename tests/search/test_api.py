"""GET /api/v1/search: the same search as JSON, permission-filtered, with clear errors."""

from __future__ import annotations

import pytest

from frontdesk.customers.services import customer_create
from frontdesk.tickets.services import ticket_add_note, ticket_create
from tests.api.helpers import assert_error


@pytest.fixture
def corpus(customer, support, billing, agent):
    omar = customer_create(name="Omar Haddad", emails=["omar@acme.example"])
    mine = ticket_create(subject="Router offline", requester=customer, group=support,
                         body="The router blinks red since Monday.")
    ticket_add_note(ticket=mine, author=agent, body="Router model XR-500, firmware bug.")
    other = ticket_create(subject="Router invoice", requester=omar, group=billing, body="Invoice for the router.")
    return {"mine": mine, "other": other}


def test_it_returns_tickets_with_snippets_and_customers(api_as, agent, corpus):
    body = api_as(agent).get("/search?q=blinks").json()
    assert [t["reference"] for t in body["tickets"]] == [corpus["mine"].reference]
    assert "<mark>blinks</mark>" in body["tickets"][0]["snippet"]
    assert body["tickets"][0]["requester"] == "maria@example.net"
    body = api_as(agent).get("/search?q=oma").json()
    assert [c["name"] for c in body["customers"]] == ["Omar Haddad"]
    assert body["customers"][0]["emails"] == ["omar@acme.example"]


def test_it_shows_an_outsider_nothing_of_other_groups_not_even_counts(api_as, outsider, corpus):
    body = api_as(outsider).get("/search?q=router").json()
    assert [t["reference"] for t in body["tickets"]] == [corpus["other"].reference]
    assert set(body) == {"tickets", "customers", "ranked", "next_cursor"}  # no totals to leak
    for text in ("blinks", "firmware", corpus["mine"].reference, "from:maria@example.net", "status:new"):
        refs = [t["reference"] for t in api_as(outsider).get(f"/search?q={text}").json()["tickets"]]
        assert corpus["mine"].reference not in refs, text


def test_it_lets_an_admin_and_a_light_agent_see_what_they_may(api_as, admin, light, corpus):
    refs = lambda who: sorted(t["reference"] for t in api_as(who).get("/search?q=router").json()["tickets"])  # noqa: E731
    assert refs(admin) == sorted([corpus["mine"].reference, corpus["other"].reference])
    assert refs(light) == [corpus["mine"].reference]


def test_it_explains_bad_dates_and_cursors(api_as, agent, corpus):
    body = assert_error(api_as(agent).get("/search?q=router+after:01/02/2026"), 400, "invalid_query")
    assert "YYYY-MM-DD" in body["detail"]
    assert_error(api_as(agent).get("/search?q=router&cursor=garbage"), 400, "invalid_cursor")


def test_it_needs_authentication(api_as, corpus):
    assert api_as(None).get("/search?q=router").status_code == 401


@pytest.mark.parametrize("text", ['"', "NEAR(", "AND", '"open', "🙂", "x" * 10_000, "*", "a:b"])
def test_it_never_fails_on_hostile_input(api_as, agent, corpus, text):
    response = api_as(agent).get("/search", q=text)
    assert response.status_code == 200, response.content
