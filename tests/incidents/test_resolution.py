"""Resolving: a final personal update to everyone, linked tickets with nothing else open solved
(except those kept open), a check-in scheduled, ended_at set."""

from __future__ import annotations

import pytest

from frontdesk.core.errors import Conflict, InvalidInput
from frontdesk.customers.services import customer_create
from frontdesk.followups.models import CheckIn
from frontdesk.incidents.affected import AffectedEntry, affected_customers_add
from frontdesk.incidents.models import AffectedCustomer, BroadcastDelivery, DeliveryStatus
from frontdesk.incidents.resolution import incident_resolve
from frontdesk.incidents.services import incident_create, incident_link_ticket, incident_set_exclude_from_solve
from frontdesk.tickets.models import EventKind, Status
from frontdesk.tickets.services import ticket_create
from tests.conftest import run_tasks


@pytest.fixture(autouse=True)
def _fast(settings, tmp_path):
    settings.FRONTDESK_HOME = tmp_path
    settings.FRONTDESK_SMTP_URL = ""
    settings.FRONTDESK_BROADCAST_PER_MINUTE = 1_000_000


def _ticket(name: str, email: str, support):
    person = customer_create(name=name, emails=[email])
    return ticket_create(subject="Card declined", requester=person, body="My card is declined.", group=support)


@pytest.mark.django_db(transaction=True)
def test_it_sends_a_personal_final_update_and_solves_what_is_done(incident, agent, support):
    done = _ticket("Ana Done", "ana@example.org", support)
    kept = _ticket("Kim Kept", "kim@example.org", support)
    busy = _ticket("Bo Busy", "bo@example.org", support)
    for t in (done, kept, busy):
        incident_link_ticket(incident=incident, ticket=t, actor=agent)
    incident_set_exclude_from_solve(incident=incident, ticket=kept, actor=agent, exclude=True)
    other = incident_create(actor=agent, title="Login slow")
    incident_link_ticket(incident=other, ticket=busy, actor=agent)  # still running: busy stays open
    no_ticket = customer_create(name="Nia Newcomer", emails=["nia@example.org"])
    affected_customers_add(incident=incident, entries=[AffectedEntry(customer_id=no_ticket.pk)], source="api",
                           actor=None)
    run_tasks()

    incident_resolve(incident=incident, actor=agent, what_happened="A certificate expired at our card processor.",
                     what_changed="We now renew certificates automatically and alert a week ahead.")
    run_tasks()

    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.ended_at is not None
    assert set(BroadcastDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    final = done.messages.get(automatic="incident_resolution").body_text
    assert final.startswith("Hello Ana Done,") and "certificate expired" in final and "renew certificates" in final
    for t, status in ((done, Status.SOLVED), (kept, Status.NEW), (busy, Status.NEW)):
        t.refresh_from_db()
        assert t.status == status, t.requester.name
        assert t.messages.filter(automatic="incident_resolution").count() == 1
        assert t.events.filter(kind=EventKind.INCIDENT, after__action="resolved").count() == 1
    assert CheckIn.objects.filter(ticket=done).count() == 1
    assert not CheckIn.objects.filter(ticket__in=[kept, busy]).exists()
    nia = AffectedCustomer.objects.get(incident=incident, customer=no_ticket).ticket
    assert nia.messages.get().body_text.startswith("Hello Nia Newcomer,")
    assert nia.status == Status.SOLVED  # the outbound conversation was only about the incident


@pytest.mark.django_db
def test_it_refuses_an_empty_resolution_and_resolving_twice(incident, agent):
    with pytest.raises(InvalidInput):
        incident_resolve(incident=incident, actor=agent, what_happened=" ", what_changed="x")
    incident.refresh_from_db()
    assert incident.status != "resolved"
    incident_resolve(incident=incident, actor=agent, what_happened="x", what_changed="y")
    with pytest.raises(Conflict):
        incident_resolve(incident=incident, actor=agent, what_happened="x", what_changed="y")
