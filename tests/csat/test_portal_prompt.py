"""The conversation page's "How did we do? Good / Bad" (the page session authenticates)."""

from __future__ import annotations

import pytest
from django.test import Client

from frontdesk.csat.models import RatedVia, Rating
from frontdesk.customers.services import customer_create
from frontdesk.tickets.models import EventKind, Status
from frontdesk.tickets.services import ticket_create, ticket_set_status
from tests.portal.conftest import open_conversation

pytestmark = pytest.mark.django_db


def test_it_asks_only_once_the_ticket_is_solved(client, ticket, agent):
    url = open_conversation(client, ticket)
    assert b"How did we do?" not in client.get(url).content

    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    page = client.get(url).content.decode()
    assert "How did we do?" in page
    assert f'action="{url}rating/"' in page


def test_it_records_and_changes_the_rating_from_the_page(client, ticket, agent, customer):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    url = open_conversation(client, ticket)

    response = client.post(f"{url}rating/", {"rating": "good", "comment": "Quick and kind"})
    assert response.status_code == 302 and response["Location"] == f"{url}#rating"
    page = client.get(url).content.decode()
    assert "Thank you for your rating!" in page
    assert "Your rating: <strong>Good</strong> — “Quick and kind”" in page

    client.post(f"{url}rating/", {"rating": "bad", "comment": "Quick and kind"})
    rating = Rating.objects.get(ticket=ticket)
    assert (rating.score, rating.via, rating.customer_id) == ("bad", RatedVia.CONVERSATION, customer.pk)
    assert [e.after["rating"] for e in ticket.events.filter(kind=EventKind.SATISFACTION)] == ["good", "bad"]


def test_it_refuses_a_rating_that_is_neither_good_nor_bad(client, ticket, agent):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    url = open_conversation(client, ticket)

    client.post(f"{url}rating/", {"rating": "excellent"})

    assert not Rating.objects.exists()
    assert "Please choose Good or Bad" in client.get(url).content.decode()


def test_it_refuses_a_rating_while_the_ticket_is_open(client, ticket):
    url = open_conversation(client, ticket)

    client.post(f"{url}rating/", {"rating": "good"})

    assert not Rating.objects.exists()
    assert "you can rate it once it is solved" in client.get(url).content.decode()


def test_it_lets_nobody_rate_without_the_conversation_link(ticket, agent):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    stranger = Client()

    response = stranger.post(f"/c/t/{ticket.reference}/rating/", {"rating": "bad"})

    assert response.status_code == 404 and not Rating.objects.exists()


def test_it_does_not_let_one_conversation_rate_another(client, ticket, agent, support):
    other = ticket_create(subject="Other", body="Other", group=support,
                          requester=customer_create(name="Bob", emails=["bob@example.org"]))
    for t in (ticket, other):
        ticket_set_status(ticket=t, actor=agent, status=Status.SOLVED)
    open_conversation(client, ticket)

    response = client.post(f"/c/t/{other.reference}/rating/", {"rating": "bad"})

    assert response.status_code == 404 and not Rating.objects.exists()
