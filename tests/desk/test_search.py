"""Global search at /desk/search/: references, subjects, customers; only visible tickets."""

from __future__ import annotations

import pytest

from frontdesk.customers.services import customer_create
from frontdesk.tickets.services import ticket_create


@pytest.fixture
def found(customer, support, billing):
    omar = customer_create(name="Omar Haddad", emails=["omar.haddad@example.org"])
    return {
        "refund": ticket_create(subject="Refund for order 1234", requester=customer, body="Hi.", group=support),
        "login": ticket_create(subject="Cannot log in", requester=omar, body="Hi.", group=support),
        "billing": ticket_create(subject="Invoice refund question", requester=omar, body="Hi.", group=billing),
    }


def results(client, query):
    response = client.get("/desk/search/", {"q": query})
    assert response.status_code == 200
    r = response.context["results"]
    return [t.subject for t in r.tickets], [c.name for c in r.customers]


def test_it_finds_a_ticket_by_its_reference_in_any_case(client, agent, found):
    client.force_login(agent)
    reference = found["login"].reference
    assert results(client, reference.lower())[0] == ["Cannot log in"]
    assert results(client, f" {reference} ") == (["Cannot log in"], [])


def test_it_finds_tickets_by_subject_words(client, agent, found):
    client.force_login(agent)
    assert results(client, "refund")[0] == ["Refund for order 1234"]  # the Billing one is hidden


def test_it_finds_customers_and_their_tickets_by_name_and_email_prefix(client, agent, found):
    client.force_login(agent)
    tickets, customers = results(client, "omar")
    assert customers == ["Omar Haddad"] and tickets == ["Cannot log in"]
    tickets, customers = results(client, "OMAR.HADDAD@exa")
    assert customers == ["Omar Haddad"] and tickets == ["Cannot log in"]
    tickets, customers = results(client, "haddad")
    assert customers == ["Omar Haddad"]


def test_it_shows_an_outsider_none_of_supports_tickets(client, outsider, found):
    client.force_login(outsider)
    assert results(client, found["refund"].reference)[0] == []
    assert results(client, "refund")[0] == ["Invoice refund question"]
    tickets, customers = results(client, "omar")
    assert tickets == ["Invoice refund question"]
    assert customers == ["Omar Haddad"]  # every agent may look customers up


def test_it_needs_two_characters(client, agent, found):
    client.force_login(agent)
    assert results(client, "r") == ([], [])
    assert b"at least two characters" in client.get("/desk/search/?q=r").content


def test_it_escapes_what_it_shows(client, agent, customer, support):
    ticket_create(subject="<img src=x onerror=alert(1)>", requester=customer, body="Hi.", group=support)
    client.force_login(agent)
    response = client.get("/desk/search/", {"q": "<img src=x"})
    assert b"<img src=x onerror" not in response.content
    assert b"&lt;img src=x onerror=alert(1)&gt;" in response.content


def test_it_keeps_the_query_in_the_search_box(client, agent, found):
    client.force_login(agent)
    response = client.get("/desk/search/", {"q": '"quoted"'})
    assert b'value="&quot;quoted&quot;"' in response.content
