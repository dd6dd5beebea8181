"""incident_suggestions: time window, words, tags, ranked, explained, visible, not linked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from frontdesk.incidents.services import incident_create, incident_link_ticket
from frontdesk.incidents.suggestions import incident_suggestions, key_words
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.services import ticket_create

pytestmark = pytest.mark.django_db


def make(subject, body, customer, group, *, tags=(), hours_ago=0):
    ticket = ticket_create(subject=subject, requester=customer, body=body, group=group, tags=list(tags))
    if hours_ago:
        Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - timedelta(hours=hours_ago))
        ticket.refresh_from_db()
    return ticket


def test_it_suggests_tickets_sharing_words_or_tags_best_first_with_reasons(agent, customer, support, billing):
    incident = incident_create(actor=agent, title="Card payments declined at checkout",
                               started_at=timezone.now() - timedelta(hours=2))
    first = make("Payment declined", "my card", customer, support, tags=["billing"])
    incident_link_ticket(incident=incident, ticket=first, actor=agent)
    both = make("Card declined twice", "checkout says payment declined", customer, support, tags=["billing"])
    words = make("Checkout broken", "the card form fails", customer, support)
    tag_only = make("Refund question", "hello", customer, support, tags=["billing"])
    make("Password reset", "cannot log in", customer, support)  # nothing in common
    make("Card declined", "payment declined", customer, support, hours_ago=5)  # before the window
    make("Card declined", "payment declined", customer, billing)  # not visible to Support's agent

    found = incident_suggestions(incident=incident, agent=agent)
    assert [s.ticket for s in found] == [both, words, tag_only]
    assert set(found[0].words) == {"card", "payments", "declined", "checkout", "payment"} - {"payments"}
    assert found[0].tags == ["billing"]
    assert found[0].explanation.startswith("words: ") and "tag: billing" in found[0].explanation
    assert found[2].explanation == "tag: billing · opened 2 h after the start"


def test_it_takes_words_from_title_description_and_linked_subjects(agent):
    incident = incident_create(actor=agent, title="The app is down", public_description="Login fails for the app")
    assert key_words(incident, ["App login error"])[:2] == ["app", "login"]
