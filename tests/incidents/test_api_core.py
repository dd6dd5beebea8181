"""/api/v1/incidents: the permission matrix, create/patch, links, affected, CSV, suggestions."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from frontdesk.accounts.services import agent_create
from frontdesk.customers.services import customer_create, organization_create
from frontdesk.incidents.models import AffectedCustomer, IncidentTicket
from frontdesk.incidents.services import incident_create, incident_link_ticket
from frontdesk.tickets.services import ticket_create

pytestmark = pytest.mark.django_db


def test_it_creates_from_a_ticket_and_reads_it_back(api_as, agent, ticket, customer):
    response = api_as(agent).post("/incidents", {"title": "Double charges", "severity": "critical",
                                                  "ticket": ticket.reference.lower()})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["reference"] == f"INC-{body['id']}" and body["source_ticket"] == ticket.reference
    assert (body["tickets"], body["affected"], body["status"]) == (1, 1, "investigating")
    assert api_as(agent).get(f"/incidents/{body['id']}").json()["title"] == "Double charges"


def test_the_permission_matrix(api_as, agent, light, outsider, admin, incident, ticket):
    assert api_as(None).get("/incidents").status_code == 401
    for reader in (agent, light, outsider, admin):
        assert api_as(reader).get(f"/incidents/{incident.pk}").status_code == 200
    assert api_as(light).post("/incidents", {"title": "x"}).status_code == 403
    assert api_as(light).patch(f"/incidents/{incident.pk}", {"status": "identified"}).status_code == 403
    assert api_as(light).post(f"/incidents/{incident.pk}/tickets", {"references": [ticket.reference]}).json() == {
        "error": "forbidden", "detail": "Light agents can read and add internal notes only."}
    assert api_as(light).post(f"/incidents/{incident.pk}/affected",
                              {"customers": [{"email": "a@example.org"}]}).status_code == 403
    # the outsider (Billing) may not link Support's ticket: reported as not found
    result = api_as(outsider).post(f"/incidents/{incident.pk}/tickets", {"references": [ticket.reference]}).json()
    assert result == {"linked": [], "already": [], "failed": [{"reference": ticket.reference,
                                                               "error": "No such ticket."}]}
    assert api_as(outsider).post("/incidents", {"title": "x", "ticket": ticket.reference}).status_code == 404
    assert api_as(outsider).delete(f"/incidents/{incident.pk}/tickets/{ticket.reference}").status_code == 404
    deactivated = agent_create(email="gone@example.com", name="Gone", group_names=["Support"])
    client = api_as(deactivated)
    deactivated.is_active = False
    deactivated.save()
    assert client.get(f"/incidents/{incident.pk}").status_code == 401
    assert api_as(agent).get("/incidents/999999").status_code == 404


def test_it_hides_linked_tickets_the_caller_cannot_see(api_as, agent, outsider, incident, ticket):
    incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
    assert [t["reference"] for t in api_as(agent).get(f"/incidents/{incident.pk}/tickets").json()] == [ticket.reference]
    assert api_as(outsider).get(f"/incidents/{incident.pk}/tickets").json() == []
    row = api_as(outsider).get(f"/incidents/{incident.pk}/affected").json()["items"][0]
    assert row["has_ticket"] is True and row["ticket"] is None
    assert api_as(agent).get(f"/incidents/{incident.pk}/affected").json()["items"][0]["ticket"] == ticket.reference


def test_it_patches_fields_and_status(api_as, agent, admin, incident):
    response = api_as(agent).patch(f"/incidents/{incident.pk}", {
        "status": "resolved", "public_description": "Fixed.", "owner_id": admin.pk})
    body = response.json()
    assert (body["status"], body["public_description"], body["owner_id"]) == ("resolved", "Fixed.", admin.pk)
    assert body["ended_at"] is not None
    assert api_as(agent).patch(f"/incidents/{incident.pk}", {"severity": "huge"}).status_code == 422
    assert api_as(agent).patch(f"/incidents/{incident.pk}", {"title": None}).status_code == 400
    assert api_as(agent).patch(f"/incidents/{incident.pk}", {"colour": "red"}).status_code == 422
    assert api_as(agent).patch(f"/incidents/{incident.pk}", {"owner_id": 999999}).json()["error"] == "invalid_owner"


def test_it_links_and_unlinks(api_as, agent, incident, ticket):
    result = api_as(agent).post(f"/incidents/{incident.pk}/tickets", {"references": [ticket.reference, "NOPE"]})
    assert result.json()["linked"] == [ticket.reference]
    assert api_as(agent).delete(f"/incidents/{incident.pk}/tickets/{ticket.reference}").status_code == 204
    assert api_as(agent).delete(f"/incidents/{incident.pk}/tickets/{ticket.reference}").status_code == 404
    assert not IncidentTicket.objects.exists()


def test_the_back_office_pushes_a_list(api_as, agent, incident, customer):
    org = organization_create(name="Acme")
    customer_create(name="Ola", emails=["ola@acme.example"], organization=org)
    response = api_as(agent).post(f"/incidents/{incident.pk}/affected", {"organization_id": org.pk, "customers": [
        {"email": "MARIA@example.net", "group_key": "BK1"},
        {"email": "new@example.org", "name": "New Person", "external_id": "P9", "group_key": "BK1"},
        {"email": "new@example.org"},
    ]})
    assert response.status_code == 201, response.json()
    assert response.json() == {"added": 3, "customers_created": 1, "affected": 3}
    rows = api_as(agent).get(f"/incidents/{incident.pk}/affected").json()["items"]
    assert {(r["email"], r["group_key"], r["source"]) for r in rows} == {
        ("ola@acme.example", "", "organization"), ("maria@example.net", "BK1", "api"),
        ("new@example.org", "BK1", "api")}
    again = api_as(agent).post(f"/incidents/{incident.pk}/affected", {"customers": [{"email": "maria@example.net"}]})
    assert again.json() == {"added": 0, "customers_created": 0, "affected": 3}


def test_a_list_with_a_bad_row_adds_nothing_and_names_the_row(api_as, agent, incident):
    response = api_as(agent).post(f"/incidents/{incident.pk}/affected", {"customers": [
        {"email": "ok@example.org"}, {"email": "broken"}]})
    assert response.status_code == 400
    assert response.json()["rows"] == [{"index": 1, "error": "'broken' is not a valid email address."}]
    assert not AffectedCustomer.objects.exists()


def test_csv_preview_and_confirm(api_as, agent, incident):
    client = api_as(agent)
    response = client.client.post(f"/api/v1/incidents/{incident.pk}/imports", headers=client.headers,
                                  data={"file": _file("email,name\nzoe@example.org,Zoë\nbad,x\n")})
    assert response.status_code == 201, response.json()
    job = response.json()
    assert (job["status"], job["valid_rows"], job["error_rows"]) == ("preview", 1, 1)
    assert job["errors"] == [{"row": 3, "error": "'bad' is not a valid email address."}]
    assert client.get(f"/incidents/{incident.pk}/imports/{job['id']}").json()["status"] == "preview"
    confirmed = client.post(f"/incidents/{incident.pk}/imports/{job['id']}/confirm").json()
    assert confirmed["status"] == "queued"
    assert client.post(f"/incidents/{incident.pk}/imports/{job['id']}/confirm").status_code == 409


def _file(text: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("people.csv", text.encode(), content_type="text/csv")


def test_suggestions(api_as, agent, customer, support, incident):
    ticket_create(subject="Card payments declined", requester=customer, body="x", group=support)
    found = api_as(agent).get(f"/incidents/{incident.pk}/suggestions").json()
    assert found[0]["subject"] == "Card payments declined" and "declined" in found[0]["words"]


def test_the_list_is_a_fixed_number_of_queries(api_as, agent, customer, support):
    client = api_as(agent)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/incidents").status_code == 200
        return len(captured)

    incident_create(actor=agent, title="one")
    count()  # the token's first use of the minute is recorded once
    few = count()
    for number in range(10):
        incident = incident_create(actor=agent, title=f"many {number}")
        ticket = ticket_create(subject=f"t{number}", requester=customer, body="x", group=support)
        incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
    assert count() == few
