"""Suggestions that come from other apps' events: a missed SLA target, a Bad rating."""

from __future__ import annotations

from datetime import timedelta

import pytest

from frontdesk.csat.services import rating_record
from frontdesk.customers.services import customer_create
from frontdesk.goodwill.suggestions import suggestions_for
from frontdesk.tickets.models import Status
from frontdesk.tickets.services import ticket_create, ticket_reply, ticket_set_status
from tests.sla.conftest import calendar, clock, premium  # noqa: F401 — fixtures
from tests.sla.helpers import drain, tick

pytestmark = pytest.mark.django_db


def test_it_suggests_a_gesture_when_the_first_response_was_late_and_says_how_late(
    clock, premium, support, agent, settings  # noqa: F811
):
    settings.FRONTDESK_GOODWILL_HIGH_VALUE_PLANS = []
    vip = customer_create(name="Vera", emails=["vera@example.org"], plan="premium")
    ticket = ticket_create(subject="Down", requester=vip, body="Everything is down", group=support)
    drain()
    assert suggestions_for(ticket) == []

    clock.shift(timedelta(hours=2, minutes=1))  # Premium: first response within 2 business hours
    tick()
    clock.shift(timedelta(hours=3))
    ticket_reply(ticket=ticket, author=agent, body="Sorry, looking now.")
    drain()
    clock.shift(timedelta(hours=5))

    assert suggestions_for(ticket) == ["suggested because the first response was 3 h late"]


def test_it_suggests_a_gesture_after_a_bad_rating_quoting_the_comment(ticket, customer, agent, settings):
    settings.FRONTDESK_GOODWILL_HIGH_VALUE_PLANS = []
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    rating_record(ticket=ticket, customer=customer, score="bad", comment="Nobody  answered for days")
    assert suggestions_for(ticket) == [
        "suggested because the customer rated this conversation Bad: “Nobody answered for days”"]

    rating_record(ticket=ticket, customer=customer, score="good", comment="Sorted in the end")
    assert suggestions_for(ticket) == []
