"""Expediting a ticket: policy switch, routing, the billing row and its exports, permissions."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client

from frontdesk.sla.models import ExpediteCharge, SlaTimer
from frontdesk.sla.policy_services import sla_policy_create
from frontdesk.sla.services import ticket_expedite
from frontdesk.tickets.models import Ticket

from .helpers import drain

pytestmark = pytest.mark.django_db


@pytest.fixture
def expedited(admin, calendar, tier2):
    return sla_policy_create(
        actor=admin, name="Expedited", is_expedited=True, calendar_id=calendar.pk,
        targets={"first_response": {"normal": 30, "high": 30}, "resolution": {"normal": 240}},
        expedite_group_id=tier2.pk, expedite_price="49.00", expedite_currency="eur",
    )


@pytest.fixture
def running(clock, standard, ticket):
    drain()
    return ticket


def test_it_switches_to_the_expedited_policy_keeping_used_minutes(clock, running, expedited, agent, tier2):
    clock.shift(timedelta(minutes=20))
    charge = ticket_expedite(ticket=running, agent=agent)
    drain()
    first = SlaTimer.objects.get(ticket=running, metric="first_response")
    assert (first.policy_name, first.target_minutes, first.consumed_minutes) == ("Expedited", 30, 0)
    assert first.due_at == first.started_at + timedelta(minutes=30)  # 20 of its 30 minutes are used
    ticket = Ticket.objects.get(pk=running.pk)
    assert ticket.group == tier2
    assert (charge.price, charge.currency, charge.customer_id, charge.policy_name) == (
        Decimal("49.00"), "EUR", running.requester_id, "Expedited")
    assert charge.requested_by_label == "Sam Support <sam@example.com>"
    assert ticket.events.filter(kind="sla", after__action="expedited").count() == 1
    # Routed to Tier 2: the group change re-applies the policy and keeps it expedited.
    assert SlaTimer.objects.get(ticket=running, metric="first_response").policy_name == "Expedited"


def test_it_expedites_a_ticket_once(clock, running, expedited, agent):
    from frontdesk.sla.services import AlreadyExpedited

    ticket_expedite(ticket=running, agent=agent)
    with pytest.raises(AlreadyExpedited):
        ticket_expedite(ticket=running, agent=agent)
    assert ExpediteCharge.objects.count() == 1


def test_it_refuses_without_an_expedited_policy(clock, running, agent):
    from frontdesk.sla.services import NoExpeditedPolicy

    with pytest.raises(NoExpeditedPolicy):
        ticket_expedite(ticket=running, agent=agent)


def test_it_expedites_over_the_api_for_agents_who_see_the_ticket(clock, running, expedited, api_as, light, outsider,
                                                                 agent, admin):
    path = f"/tickets/{running.reference}/expedite"
    assert api_as(outsider).post(path).status_code == 404
    assert api_as(light).post(path).status_code == 403
    response = api_as(agent).post(path)
    assert response.status_code == 201, response.content
    assert response.json()["price"] == "49.00" and response.json()["ticket"] == running.reference
    # Now routed to Tier 2, which Sam is not in: hidden from him like any other ticket.
    assert api_as(agent).post(path).status_code == 404
    assert api_as(admin).post(path).json()["error"] == "already_expedited"


def test_it_exports_billing_rows_to_admins_only(clock, running, expedited, agent, admin, api_as):
    ticket_expedite(ticket=running, agent=agent)
    assert api_as(agent).get("/sla/expedites").status_code == 403
    rows = api_as(admin).get("/sla/expedites", start="2026-03-01", end="2026-03-02").json()
    assert [(r["ticket"], r["price"], r["currency"]) for r in rows] == [(running.reference, "49.00", "EUR")]
    assert api_as(admin).get("/sla/expedites", start="2026-03-03").json() == []
    exported = api_as(admin).get("/sla/expedites", format="csv")
    assert exported["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(exported.content.decode())))
    assert table[0][:3] == ["created_at", "ticket", "customer_id"] and table[1][1] == running.reference


def test_it_downloads_the_csv_from_the_desk_for_admins(clock, running, expedited, agent, admin, customer):
    ticket_expedite(ticket=running, agent=agent)
    browser = Client()
    browser.force_login(agent)
    assert browser.get("/desk/reports/sla/expedited.csv").status_code == 404
    browser.force_login(admin)
    response = browser.get("/desk/reports/sla/expedited.csv?from=2026-03-01&to=2026-03-31")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert running.reference in response.content.decode()


def test_it_expedites_from_the_ticket_page(clock, running, expedited, agent, admin, tier2):
    from frontdesk.accounts.models import Agent

    Agent.objects.get(pk=agent.pk).groups.add(tier2)  # Sam still sees it once routed to Tier 2
    browser = Client()
    browser.force_login(agent)
    panel = browser.get(f"/desk/tickets/{running.reference}/sla/").content.decode()
    assert "Expedite (paid priority)" in panel and "First response" in panel
    response = browser.post(f"/desk/tickets/{running.reference}/sla/expedite/", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and "Expedited: the expedited policy now applies." in html
    assert "Expedite (paid priority)" not in html
    assert ExpediteCharge.objects.filter(ticket=running).exists()


def test_it_tells_an_agent_who_loses_sight_of_the_expedited_ticket(clock, running, expedited, agent):
    browser = Client()
    browser.force_login(agent)
    response = browser.post(f"/desk/tickets/{running.reference}/sla/expedite/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "no longer in your view" in response.content.decode()
