"""incident_create / incident_create_from_ticket / incident_update / incident_set_status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from frontdesk.core.errors import Forbidden, InvalidInput, NotFound
from frontdesk.customers.services import customer_create
from frontdesk.incidents.models import AffectedCustomer, IncidentActivity, IncidentTicket
from frontdesk.incidents.services import (
    incident_create,
    incident_create_from_ticket,
    incident_set_status,
    incident_update,
)
from frontdesk.tickets.models import TicketEvent
from frontdesk.tickets.services import ticket_add_ccs

pytestmark = pytest.mark.django_db


def test_it_creates_an_incident_investigating_with_its_history(agent):
    incident = incident_create(actor=agent, title="  Login   outage ", severity="minor")
    assert incident.title == "Login outage" and incident.status == "investigating"
    assert incident.reference == f"INC-{incident.pk}" and incident.created_by == agent
    assert IncidentActivity.objects.get(incident=incident).kind == "created"


def test_it_refuses_light_agents_and_bad_fields(light, agent):
    with pytest.raises(Forbidden):
        incident_create(actor=light, title="x")
    with pytest.raises(InvalidInput, match="needs a title"):
        incident_create(actor=agent, title="   ")
    with pytest.raises(InvalidInput, match="Severity"):
        incident_create(actor=agent, title="x", severity="apocalyptic")
    with pytest.raises(InvalidInput, match="end before"):
        incident = incident_create(actor=agent, title="x")
        incident_update(incident=incident, actor=agent, ended_at=incident.started_at - timedelta(hours=1))


def test_it_creates_from_a_ticket_linking_it_and_adding_requester_and_ccs(agent, ticket, customer):
    companion = customer_create(name="Jon Lopez", emails=["jon@example.net"])
    ticket_add_ccs(ticket=ticket, actor=agent, customers=[companion])
    incident = incident_create_from_ticket(actor=agent, ticket=ticket)
    assert incident.title == "Charged twice" and incident.source_ticket == ticket
    assert incident.started_at == ticket.created_at
    assert IncidentTicket.objects.filter(incident=incident, ticket=ticket).exists()
    rows = {row.customer_id: row for row in AffectedCustomer.objects.filter(incident=incident)}
    assert set(rows) == {customer.pk, companion.pk}
    assert all(row.ticket_id == ticket.pk and row.source == "ticket" for row in rows.values())
    event = TicketEvent.objects.get(ticket=ticket, kind="incident")
    assert event.after == {
        "incident": incident.pk, "reference": incident.reference, "title": "Charged twice", "severity": "major",
        "status": "investigating", "action": "linked",
        "summary": f"Linked to incident {incident.reference}: Charged twice",
    }
    assert event.actor_agent == agent


def test_it_does_not_create_from_a_ticket_the_agent_cannot_see(outsider, ticket):
    with pytest.raises(NotFound):
        incident_create_from_ticket(actor=outsider, ticket=ticket)


def test_it_edits_and_records_what_changed(agent, admin, incident):
    incident_update(incident=incident, actor=agent, title="Card payments declined", owner=admin,
                    on_status_page=True)
    incident.refresh_from_db()
    assert incident.title == "Card payments declined" and incident.owner == admin and incident.on_status_page
    edit = IncidentActivity.objects.filter(incident=incident, kind="edited").get()
    assert edit.data["changes"]["title"] == ["Card payments failing", "Card payments declined"]
    assert edit.data["changes"]["owner"] == [None, admin.pk]


def test_it_refuses_unknown_fields(agent, incident):
    with pytest.raises(InvalidInput, match="Unknown"):
        incident_update(incident=incident, actor=agent, created_by=agent)


def test_it_moves_status_and_resolving_sets_the_end(agent, incident):
    incident_set_status(incident=incident, actor=agent, status="identified")
    incident = incident_set_status(incident=incident, actor=agent, status="resolved")
    assert incident.status == "resolved" and incident.ended_at is not None
    assert incident.ended_at <= timezone.now()
    incident = incident_set_status(incident=incident, actor=agent, status="monitoring")
    assert incident.ended_at is None
    summaries = list(IncidentActivity.objects.filter(incident=incident, kind="status")
                     .order_by("id").values_list("summary", flat=True))
    assert summaries == ["Status Investigating → Identified", "Status Identified → Resolved",
                         "Status Resolved → Monitoring"]
    with pytest.raises(InvalidInput):
        incident_set_status(incident=incident, actor=agent, status="exploded")
