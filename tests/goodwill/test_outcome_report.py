"""The outcome report: customers who got a gesture next to similar ones who did not."""

from __future__ import annotations

import pytest

from frontdesk.csat.services import rating_record
from frontdesk.customers.services import customer_create
from frontdesk.goodwill.reports import outcome_report
from frontdesk.goodwill.services import gesture_grant
from frontdesk.tickets.models import Status
from frontdesk.tickets.services import ticket_create, ticket_set_status
from tests.desk.conftest import client_for

pytestmark = pytest.mark.django_db


def _solved_and_rated(ticket, customer, agent, score):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    rating_record(ticket=ticket, customer=customer, score=score)


def test_it_compares_customers_with_a_gesture_to_similar_ones_without(
    ticket, customer, agent, admin, support, agent_mandate, voucher
):
    customer.plan = "pro"
    customer.save()
    gesture_grant(ticket=ticket, agent=agent, gesture=voucher, value="10", currency="EUR", reason="delay")
    _solved_and_rated(ticket, customer, agent, "good")
    ticket_create(subject="Another thing", requester=customer, body="Hi again", group=support)  # came back

    for n, score in enumerate(["bad", "good"]):
        other = customer_create(name=f"Other {n}", emails=[f"o{n}@example.net"], plan="pro")
        their = ticket_create(subject="Same trouble", requester=other, body="Broken", group=support)
        _solved_and_rated(their, other, agent, score)
    stranger = customer_create(name="Other plan", emails=["x@example.net"], plan="free")
    ticket_create(subject="Not comparable", requester=stranger, body="x", group=support)

    report = outcome_report()
    assert report["with_gesture"] == {"tickets": 1, "customers": 1, "rated": 1, "good_share": 1.0,
                                      "came_back_share": 1.0}
    assert report["without_gesture"]["customers"] == 2  # same plan, never given a gesture
    assert report["without_gesture"]["rated"] == 2 and report["without_gesture"]["good_share"] == 0.5

    page = client_for(admin).get("/desk/goodwill/reports/").content.decode()
    assert "data-goodwill-outcome" in page and "With a gesture" in page
