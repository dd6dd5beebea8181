"""The workspace pages: list, new (from scratch and from a ticket), detail actions, the ticket
banner (query count flat), inbox and search bulk links, the CSV upload flow."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from frontdesk.incidents.imports import import_run
from frontdesk.incidents.models import AffectedCustomer, AffectedImport, Incident, IncidentTicket
from frontdesk.incidents.services import incident_link_ticket
from frontdesk.tickets.services import ticket_create
from tests.desk.conftest import client_for

pytestmark = pytest.mark.django_db


def test_it_lists_incidents_with_status_severity_and_counts(agent, incident, ticket):
    incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
    page = client_for(agent).get("/desk/incidents/").content.decode()
    assert f"INC-{incident.pk} Card payments failing" in page and "Critical" in page and "Investigating" in page
    assert '<td>1</td>' in page and 'aria-current="page">Incidents' in page
    assert client_for(agent).get("/desk/incidents/999999/").status_code == 404


def test_it_creates_an_incident_from_the_form_keeping_input_on_refusal(agent):
    client = client_for(agent)
    refused = client.post("/desk/incidents/new/", {"title": "  ", "public_description": "kept text"})
    assert refused.status_code == 400 and "kept text" in refused.content.decode()
    response = client.post("/desk/incidents/new/", {"title": "Login outage", "severity": "minor",
                                                    "started_at": "2026-01-05T09:30"})
    incident = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/desk/incidents/{incident.pk}/"
    assert incident.severity == "minor" and incident.started_at.isoformat().startswith("2026-01-05")


def test_it_opens_an_incident_from_a_ticket(agent, ticket, outsider):
    page = client_for(agent).get(f"/desk/incidents/new/?ticket={ticket.reference}").content.decode()
    assert 'value="Charged twice"' in page
    client_for(agent).post("/desk/incidents/new/", {"title": "Charged twice", "ticket": ticket.reference})
    assert IncidentTicket.objects.get().ticket == ticket
    assert client_for(outsider).get(f"/desk/incidents/new/?ticket={ticket.reference}").status_code == 404


def test_light_agents_read_but_do_not_change(light, incident, ticket):
    client = client_for(light)
    page = client.get(f"/desk/incidents/{incident.pk}/").content.decode()
    assert "Set status" not in page and "Link tickets" not in page
    client.post(f"/desk/incidents/{incident.pk}/status/", {"status": "resolved"})
    client.post(f"/desk/incidents/{incident.pk}/link/", {"references": ticket.reference})
    incident.refresh_from_db()
    assert incident.status == "investigating" and not IncidentTicket.objects.exists()


def test_the_detail_page_links_unlinks_and_changes_status(agent, incident, ticket):
    client = client_for(agent)
    client.post(f"/desk/incidents/{incident.pk}/link/", {"references": f"{ticket.reference} NOPE"})
    page = client.get(f"/desk/incidents/{incident.pk}/").content.decode()
    assert f'data-linked="{ticket.reference}"' in page and "#NOPE: No such ticket." in page
    client.post(f"/desk/incidents/{incident.pk}/status/", {"status": "monitoring"})
    client.post(f"/desk/incidents/{incident.pk}/exclude/{ticket.reference}/", {"exclude": "1"})
    assert IncidentTicket.objects.get().exclude_from_solve
    client.post(f"/desk/incidents/{incident.pk}/unlink/{ticket.reference}/")
    incident.refresh_from_db()
    assert incident.status == "monitoring" and not IncidentTicket.objects.exists()


def test_suggestions_link_with_one_click(agent, incident, customer, support):
    related = ticket_create(subject="Card payments declined", requester=customer, body="x", group=support)
    panel = client_for(agent).get(f"/desk/incidents/{incident.pk}/suggestions/").content.decode()
    assert f'data-suggested="{related.reference}"' in panel and "words: " in panel
    client_for(agent).post(f"/desk/incidents/{incident.pk}/link/", {"t": related.reference})
    assert IncidentTicket.objects.get().ticket == related


def test_the_ticket_page_shows_the_banner_to_agents(agent, incident, ticket):
    incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
    page = client_for(agent).get(f"/desk/tickets/{ticket.reference}/").content.decode()
    assert f'data-incident-banner="{incident.pk}"' in page and "Some card payments are declined." in page
    assert 'data-incident-status="investigating"' in page
    assert "Linked to incident" in page  # the timeline line


def test_the_ticket_banner_keeps_the_page_queries_flat(agent, admin, ticket, customer, support):
    plain = ticket_create(subject="Plain", requester=customer, body="x", group=support)
    client = client_for(agent)

    def count(t) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/desk/tickets/{t.reference}/").status_code == 200
        return len(captured)

    from frontdesk.incidents.services import incident_create

    for number in range(3):
        incident_link_ticket(incident=incident_create(actor=admin, title=f"I{number}"), ticket=ticket, actor=admin)
    count(plain)
    assert count(plain) == count(ticket)


def test_it_links_a_ticket_from_its_page(agent, incident, ticket):
    client = client_for(agent)
    assert f'value="{incident.pk}"' in client.get(f"/desk/tickets/{ticket.reference}/").content.decode()
    client.post(f"/desk/tickets/{ticket.reference}/incident/", {"incident": incident.pk})
    assert IncidentTicket.objects.get().ticket == ticket


def test_the_inbox_links_a_selection(agent, incident, ticket, customer, support, billing):
    other = ticket_create(subject="Another", requester=customer, body="x", group=support)
    hidden = ticket_create(subject="Hidden", requester=customer, body="x", group=billing)
    choices = client_for(agent).get("/desk/incidents/choices/").content.decode()
    assert f'<option value="{incident.pk}">' in choices and 'value="incident"' in choices
    response = client_for(agent).post("/desk/bulk/", {
        "action": "incident", "incident": incident.pk, "t": [ticket.reference, other.reference, hidden.reference],
    }, follow=True)
    assert set(IncidentTicket.objects.values_list("ticket_id", flat=True)) == {ticket.pk, other.pk}
    assert f"{hidden.reference}: No such ticket." in response.content.decode()


def test_the_csv_flow_previews_confirms_and_shows_progress(agent, incident):
    client = client_for(agent)
    upload = SimpleUploadedFile("people.csv", "email,name,booking\nana@example.org,Ana,BK1\nbob@example.org,Bob,BK1\n"
                                "nope,x,\n".encode("cp1252"))
    response = client.post(f"/desk/incidents/{incident.pk}/imports/", {"file": upload})
    job = AffectedImport.objects.get()
    assert response["Location"] == f"/desk/incidents/{incident.pk}/imports/{job.public_id}/"
    page = client.get(response["Location"]).content.decode()
    assert "Row 4: &#x27;nope&#x27; is not a valid email address." in page and "Import 2 customers" in page
    assert not AffectedCustomer.objects.exists()
    client.post(f"/desk/incidents/{incident.pk}/imports/{job.public_id}/decide/", {"decision": "confirm"})
    progress = client.get(f"/desk/incidents/{incident.pk}/imports/{job.public_id}/?partial=1").content.decode()
    assert 'hx-trigger="every 1s"' in progress and "Importing… 0 of 2" in progress
    import_run(import_id=job.pk)
    progress = client.get(f"/desk/incidents/{incident.pk}/imports/{job.public_id}/?partial=1").content.decode()
    assert "every 1s" not in progress and "Done: 2 customers added" in progress
    listing = client.get(f"/desk/incidents/{incident.pk}/affected/").content.decode()
    assert "Group BK1" in listing and listing.count("no ticket") == 2 and listing.count("not yet") == 2


def test_the_affected_list_shows_companions_together(agent, incident, ticket, customer):
    client = client_for(agent)
    client.post(f"/desk/incidents/{incident.pk}/affected/add/", {"email": "zed@example.org", "group_key": "BK9"})
    incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
    client.post(f"/desk/incidents/{incident.pk}/affected/add/", {"email": "amy@example.org", "group_key": "BK9"})
    listing = client.get(f"/desk/incidents/{incident.pk}/affected/").content.decode()
    order = [listing.index(x) for x in ("Group BK9", "zed@example.org", "amy@example.org", "maria@example.net")]
    assert order == sorted(order)
    assert f'href="/desk/tickets/{ticket.reference}/"' in listing
    found = client.get(f"/desk/incidents/{incident.pk}/affected/?q=BK9").content.decode()
    assert "maria@example.net" not in found and "amy@example.org" in found


def test_the_admin_lists_incidents_read_only(admin, incident):
    client = client_for(admin)
    for path in ("incident", "incidentticket", "affectedcustomer", "incidentactivity", "affectedimport"):
        assert client.get(f"/admin/incidents/{path}/").status_code == 200, path
    page = client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    assert "Card payments failing" in page and 'name="_save"' not in page
