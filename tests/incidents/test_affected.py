"""incident_add_organization / incident_add_people: every way in ends in one row per customer."""

from __future__ import annotations

import pytest

from frontdesk.core.errors import Forbidden
from frontdesk.customers.models import Customer
from frontdesk.customers.services import customer_create, customer_merge, organization_create
from frontdesk.incidents.models import AffectedCustomer, IncidentActivity
from frontdesk.incidents.roster import RosterRow
from frontdesk.incidents.services import incident_add_organization, incident_add_people, incident_link_ticket

pytestmark = pytest.mark.django_db


def test_it_adds_every_current_customer_of_an_organization(agent, incident):
    org = organization_create(name="Lopez Travel")
    ana = customer_create(name="Ana", emails=["ana@lopez.example"], organization=org)
    bea = customer_create(name="Bea", emails=["bea@lopez.example"], organization=org)
    gone = customer_create(name="Old Bea", emails=["old@lopez.example"], organization=org)
    customer_merge(source=gone, target=bea)
    assert len(incident_add_organization(incident=incident, organization=org, actor=agent)) == 2
    assert incident_add_organization(incident=incident, organization=org, actor=agent) == []
    assert set(AffectedCustomer.objects.values_list("customer_id", "source")) == {
        (ana.pk, "organization"), (bea.pk, "organization")}
    assert IncidentActivity.objects.filter(kind="affected").count() == 2


def test_people_are_merged_by_email_and_unknown_ones_created(agent, incident, customer, ticket):
    incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
    result = incident_add_people(incident=incident, actor=agent, source="api", rows=[
        RosterRow(email="maria@example.net", group_key="BK1", external_id="P1"),
        RosterRow(email="jon@example.net", name="Jon"), RosterRow(email="jon@example.net", group_key="BK1"),
    ])
    assert (len(result.added), result.customers_created) == (1, 1)
    maria = AffectedCustomer.objects.get(customer=customer)
    assert (maria.source, maria.ticket_id, maria.group_key, maria.external_id) == ("ticket", ticket.pk, "BK1", "P1")
    jon = AffectedCustomer.objects.get(customer=Customer.objects.get(name="Jon"))
    assert (jon.source, jon.group_key, jon.ticket_id) == ("api", "BK1", None)


def test_light_agents_add_nobody(light, incident):
    with pytest.raises(Forbidden):
        incident_add_people(incident=incident, actor=light, source="manual", rows=[RosterRow(email="a@b.example")])
    assert not AffectedCustomer.objects.exists()
