"""incident_link_ticket / incident_link_tickets / incident_unlink_ticket."""

from __future__ import annotations

import pytest

from frontdesk.core.errors import Forbidden, NotFound
from frontdesk.customers.services import customer_create
from frontdesk.incidents.affected import AffectedEntry, affected_customers_add
from frontdesk.incidents.models import AffectedCustomer, IncidentActivity, IncidentTicket
from frontdesk.incidents.services import (
    incident_link_ticket,
    incident_link_tickets,
    incident_set_exclude_from_solve,
    incident_unlink_ticket,
)
from frontdesk.tickets.models import TicketEvent
from frontdesk.tickets.services import ticket_create

pytestmark = pytest.mark.django_db


def test_it_links_a_ticket_and_its_requester_becomes_affected_with_that_conversation(agent, incident, ticket,
                                                                                      customer):
    link = incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
    assert link.linked_by == agent
    row = AffectedCustomer.objects.get(incident=incident)
    assert (row.customer_id, row.ticket_id, row.source, row.added_by_id) == (customer.pk, ticket.pk, "ticket", agent.pk)
    event = TicketEvent.objects.get(ticket=ticket, kind="incident")
    assert event.after["action"] == "linked" and event.after["reference"] == incident.reference
    assert event.after["severity"] == "critical" and event.after["status"] == "investigating"


def test_it_links_once(agent, incident, ticket):
    incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
    assert incident_link_ticket(incident=incident, ticket=ticket, actor=agent) is None
    assert TicketEvent.objects.filter(ticket=ticket, kind="incident").count() == 1
    assert AffectedCustomer.objects.filter(incident=incident).count() == 1


def test_it_gives_a_customer_added_by_csv_their_ticket_when_it_is_linked(agent, incident, ticket, customer):
    affected_customers_add(incident=incident, entries=[AffectedEntry(customer_id=customer.pk, group_key="BK1")],
                           source="csv", actor=agent)
    incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
    row = AffectedCustomer.objects.get(incident=incident)
    assert (row.source, row.group_key, row.ticket_id) == ("csv", "BK1", ticket.pk)


def test_an_agent_cannot_link_a_ticket_they_cannot_see(outsider, incident, ticket, light):
    with pytest.raises(NotFound):
        incident_link_ticket(incident=incident, ticket=ticket, actor=outsider)
    with pytest.raises(Forbidden):
        incident_link_ticket(incident=incident, ticket=ticket, actor=light)
    assert not IncidentTicket.objects.exists() and not TicketEvent.objects.filter(kind="incident").exists()


def test_it_links_in_bulk_reporting_each_ticket(agent, incident, ticket, customer, billing, support):
    other = ticket_create(subject="Declined", requester=customer, body="declined again", group=support)
    hidden = ticket_create(subject="Billing only", requester=customer, body="x", group=billing)
    incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
    result = incident_link_tickets(incident=incident, actor=agent, references=[
        ticket.reference, other.reference.lower(), hidden.reference, "NOPE1234", other.reference])
    assert result.linked == [other.reference] and result.already == [ticket.reference]
    assert dict(result.failed) == {hidden.reference: "No such ticket.", "NOPE1234": "No such ticket."}
    assert set(IncidentTicket.objects.values_list("ticket_id", flat=True)) == {ticket.pk, other.pk}
    # one customer, two tickets: affected once, with the first ticket as the conversation
    assert AffectedCustomer.objects.get(incident=incident).ticket_id == ticket.pk
    assert IncidentActivity.objects.filter(kind="linked").count() == 2


def test_unlinking_removes_who_came_only_through_that_ticket(agent, incident, ticket, customer):
    stranger = customer_create(name="Ana", emails=["ana@example.org"])
    other = ticket_create(subject="Also declined", requester=stranger, body="x", group=ticket.group)
    incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
    incident_link_ticket(incident=incident, ticket=other, actor=agent)
    affected_customers_add(incident=incident, entries=[AffectedEntry(customer_id=stranger.pk)], source="csv",
                           actor=agent)  # already there through her ticket: nothing changes
    assert incident_unlink_ticket(incident=incident, ticket=ticket, actor=agent)
    assert not incident_unlink_ticket(incident=incident, ticket=ticket, actor=agent)
    assert list(AffectedCustomer.objects.values_list("customer_id", flat=True)) == [stranger.pk]
    event = TicketEvent.objects.filter(ticket=ticket, kind="incident").latest("id")
    assert event.after["action"] == "unlinked"


def test_unlinking_keeps_a_customer_who_also_came_by_csv(agent, incident, ticket, customer):
    affected_customers_add(incident=incident, entries=[AffectedEntry(customer_id=customer.pk)], source="csv",
                           actor=agent)
    incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
    incident_unlink_ticket(incident=incident, ticket=ticket, actor=agent)
    row = AffectedCustomer.objects.get(incident=incident)
    assert row.customer_id == customer.pk and row.ticket_id is None


def test_it_marks_a_linked_ticket_to_stay_open(agent, incident, ticket):
    incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
    incident_set_exclude_from_solve(incident=incident, ticket=ticket, actor=agent, exclude=True)
    assert IncidentTicket.objects.get().exclude_from_solve
