"""The Good / Bad links of the survey email, through HTTP: opening one changes nothing, the
button records, a later link or comment changes it; bad links get a neutral page."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.test import Client

from frontdesk.csat.models import RatedVia, Rating, Survey
from frontdesk.csat.services import TOKEN_SALT, survey_revoke
from frontdesk.tickets.models import EventKind, Status
from frontdesk.tickets.services import ticket_receive_customer_message

from .helpers import T0, send_survey, solve, tokens

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def links(ticket, agent, frozen) -> dict[str, str]:
    solve(ticket, agent)
    frozen.move_to(T0 + timedelta(hours=1))
    return tokens(send_survey(ticket))


def url(token: str) -> str:
    return f"/c/rate/{token}/"


def satisfaction_events(ticket):
    return list(ticket.events.filter(kind=EventKind.SATISFACTION).order_by("id"))


def test_it_records_nothing_when_a_link_is_only_opened(client, ticket, links):
    # A mail scanner fetching both links must not rate anything.
    for token in links.values():
        response = client.get(url(token))
        assert response.status_code == 200
    assert b"Send my rating: Bad" in response.content
    assert response["Referrer-Policy"] == "no-referrer" and "no-store" in response["Cache-Control"]
    assert not Rating.objects.exists() and not satisfaction_events(ticket)


def test_it_records_a_good_rating_with_one_click(client, ticket, links, customer, agent):
    response = client.post(url(links["good"]), {"comment": ""})

    assert response.status_code == 302 and response["Location"] == url(links["good"])
    rating = Rating.objects.get(ticket=ticket)
    assert (rating.score, rating.comment, rating.via) == ("good", "", RatedVia.EMAIL)
    assert (rating.customer_id, rating.agent_id, rating.group_id, rating.channel) == (
        customer.pk, agent.pk, ticket.group_id, ticket.channel)
    [event] = satisfaction_events(ticket)
    assert event.actor_customer_id == customer.pk
    assert (event.before, event.after) == (None, {"rating": "good", "comment": ""})
    page = client.get(response["Location"])
    assert b"Thank you! Your rating was saved." in page.content
    assert b"Your rating: <strong>Good</strong>" in page.content


def test_it_records_a_bad_rating_with_its_comment(client, ticket, links):
    client.post(url(links["bad"]), {"comment": "Took <b>three</b> days"})

    rating = Rating.objects.get(ticket=ticket)
    assert (rating.score, rating.comment) == ("bad", "Took <b>three</b> days")
    assert satisfaction_events(ticket)[0].after == {"rating": "bad", "comment": "Took <b>three</b> days"}
    page = client.get(url(links["bad"]))
    assert b"Took &lt;b&gt;three&lt;/b&gt; days" in page.content and b"<b>three</b>" not in page.content


def test_it_changes_the_rating_with_the_other_link(client, ticket, links, frozen):
    client.post(url(links["good"]), {"comment": "Fast"})
    frozen.move_to(T0 + timedelta(hours=2))
    page = client.get(url(links["bad"]))
    assert b"Change my rating to Bad" in page.content

    client.post(url(links["bad"]), {"comment": "Fast, but it broke again"})

    rating = Rating.objects.get(ticket=ticket)
    assert (rating.score, rating.comment) == ("bad", "Fast, but it broke again")
    assert rating.rated_at == T0 + timedelta(hours=2)
    first, second = satisfaction_events(ticket)
    assert second.before == {"rating": "good", "comment": "Fast"}
    assert second.after == {"rating": "bad", "comment": "Fast, but it broke again"}


def test_it_changes_nothing_when_the_same_link_is_used_twice(client, ticket, links):
    client.post(url(links["good"]), {"comment": "Great"})
    client.post(url(links["good"]), {"comment": "Great"})

    assert len(satisfaction_events(ticket)) == 1
    assert Rating.objects.get(ticket=ticket).comment == "Great"


def test_it_adds_a_comment_later_as_a_change(client, ticket, links, frozen):
    client.post(url(links["good"]), {"comment": ""})
    frozen.move_to(T0 + timedelta(hours=3))
    client.post(url(links["good"]), {"comment": "  Thanks, Sam!\r\n  "})

    rating = Rating.objects.get(ticket=ticket)
    assert rating.comment == "Thanks, Sam!" and rating.rated_at == T0 + timedelta(hours=1)  # same score
    assert satisfaction_events(ticket)[-1].after == {"rating": "good", "comment": "Thanks, Sam!"}


def test_it_refuses_a_comment_too_long(client, ticket, links):
    response = client.post(url(links["good"]), {"comment": "x" * 2001})
    assert response.status_code == 200 and not Rating.objects.exists()


@pytest.mark.parametrize("mangle", [
    lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature broken
    lambda token: token.replace(token.split(":")[0], token.split(":")[0][:-1] + "x"),  # payload changed
    lambda token: "not-a-token",
    lambda token: "x" * 400,
])
def test_it_answers_a_tampered_link_with_a_neutral_page(client, ticket, links, mangle):
    for method in ("get", "post"):
        response = getattr(client, method)(url(mangle(links["good"])), {"comment": "hi"} if method == "post" else {})
        assert response.status_code == 404
        assert b"This link cannot be used" in response.content
    assert not Rating.objects.exists() and not satisfaction_events(ticket)


def test_it_refuses_a_forged_link_with_another_rating_or_survey(client, ticket, links):
    survey = Survey.objects.get(ticket=ticket)
    forged = signing.dumps({"s": survey.pk, "r": "bad", "n": "guessed-nonce"}, salt=TOKEN_SALT)
    other_salt = signing.dumps({"s": survey.pk, "r": "bad", "n": "x"}, salt="frontdesk.portal.conversation-link")

    for token in (forged, other_salt):
        assert client.post(url(token), {"comment": ""}).status_code == 404
    assert not Rating.objects.exists()


def test_it_answers_an_expired_link_with_a_neutral_page(client, ticket, links, frozen):
    frozen.move_to(T0 + timedelta(hours=1, days=30, seconds=1))

    response = client.post(url(links["good"]), {"comment": ""})

    assert response.status_code == 404 and b"This link cannot be used" in response.content
    assert not Rating.objects.exists()


def test_it_answers_a_revoked_link_with_a_neutral_page(client, ticket, links):
    survey_revoke(survey=Survey.objects.get(ticket=ticket))

    assert client.get(url(links["bad"])).status_code == 404
    assert client.post(url(links["bad"]), {"comment": ""}).status_code == 404
    assert not Rating.objects.exists()


def test_it_does_not_rate_a_ticket_reopened_since(client, ticket, links, customer):
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="Broken again")

    page = client.get(url(links["good"]))
    assert page.status_code == 200 and b"This conversation is open again" in page.content
    client.post(url(links["good"]), {"comment": ""})
    assert not Rating.objects.exists()
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_it_rate_limits_comment_posts(ticket, links):
    client = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(10):
        assert client.post(url(links["good"]), {"comment": f"comment {n}"}).status_code == 302
    response = client.post(url(links["good"]), {"comment": "one too many"})

    assert response.status_code == 429
    assert Rating.objects.get(ticket=ticket).comment == "comment 9"
