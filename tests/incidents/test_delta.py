"""The Delta scenario, end to end: a flight is grounded; Maria, one of two travellers on booking
BK42, writes in; an agent opens an incident from her ticket; the back-office CSV adds the
booking's second traveller, Jon (and Maria again); one update and one gesture reach both,
exactly once each (as delivered mail in the outbox); the report shows both covered."""

from __future__ import annotations

import email
import email.policy
import re
from decimal import Decimal

import pytest

from frontdesk.accounts.services import agent_create
from frontdesk.goodwill.models import Gesture, Mandate, Voucher
from frontdesk.incidents.imports import import_confirm, import_upload
from frontdesk.incidents.models import AffectedCustomer, AffectedImport, Incident
from frontdesk.mail.models import OutboundMessage, OutboundStatus
from frontdesk.tickets.models import EventKind
from tests.conftest import run_tasks

CSV = "email,name,external id,booking\nmaria@example.net,Maria Lopez,P1,BK42\njon@example.net,Jon Lopez,P2,BK42\n"
CODE = re.compile(r"DL-\d{3}")


@pytest.fixture(autouse=True)
def _outbox(settings, tmp_path):
    settings.FRONTDESK_HOME = tmp_path
    settings.FRONTDESK_SMTP_URL = ""
    settings.FRONTDESK_BROADCAST_PER_MINUTE = 1_000_000


@pytest.fixture
def supervisor(support):
    person = agent_create(email="sue@example.com", name="Sue Supervisor", group_names=["Support"])
    Mandate.objects.create(agent=person, currency="EUR", max_per_gesture=Decimal("500"))
    return person


@pytest.fixture
def voucher(db):
    gesture = Gesture.objects.create(
        name="Travel voucher", kind="voucher", currency="EUR", value=Decimal("50"), fulfilment="voucher_pool",
        snippet="Your travel voucher {code} is worth {amount} {currency}.",
    )
    Voucher.objects.bulk_create([Voucher(gesture=gesture, code=f"DL-{n:03}") for n in range(5)])
    return gesture


def _mails(tmp_path) -> list[tuple[set[str], str]]:
    out = []
    for path in sorted((tmp_path / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        to = {a.addr_spec for field in ("To", "Cc") for a in (message[field].addresses if message[field] else ())}
        out.append((to, message.get_body(("plain",)).get_content()))
    return out


@pytest.mark.django_db(transaction=True)
def test_delta_both_travellers_are_informed_and_compensated_exactly_once(
        ticket, customer, agent, supervisor, voucher, api_as, tmp_path):
    api = api_as(agent)
    # 1. From Maria's ticket, an incident.
    response = api.post("/incidents", {"title": "DL 1234 grounded", "severity": "major", "ticket": ticket.reference,
                                       "public_description": "Flight DL 1234 is grounded."})
    assert response.status_code == 201, response.content
    incident = Incident.objects.get(pk=response.json()["id"])
    assert incident.source_ticket == ticket and incident.ticket_links.get().ticket == ticket

    # 2. The back-office CSV: both travellers on BK42 (Maria a second time).
    job = import_upload(incident=incident, actor=agent, filename="bk42.csv", chunks=[CSV.encode()])
    import_confirm(affected_import=job, actor=agent)
    run_tasks()
    assert AffectedImport.objects.get(pk=job.pk).status == "done"
    rows = {row.customer.name: row for row in AffectedCustomer.objects.filter(incident=incident)
            .select_related("customer")}
    assert set(rows) == {"Maria Lopez", "Jon Lopez"}
    assert rows["Maria Lopez"].ticket == ticket and rows["Jon Lopez"].ticket is None
    assert {row.group_key for row in rows.values()} == {"BK42"}

    # 3. One update and one gesture, through the API.
    response = api.post(f"/incidents/{incident.pk}/broadcasts",
                        {"body": "Hello {name}, DL 1234 leaves tomorrow at 9:00.", "status": "identified"})
    assert response.status_code == 201, response.content
    assert api.put(f"/incidents/{incident.pk}/gesture", {"gesture_id": voucher.pk, "value": "50",
                                                         "currency": "EUR"}).json()["state"] == "proposed"
    assert api.post(f"/incidents/{incident.pk}/gesture/approve").status_code == 403  # 2 × 50 > agent's mandate
    approved = api_as(supervisor).post(f"/incidents/{incident.pk}/gesture/approve")
    assert approved.status_code == 200 and approved.json()["approved_customers"] == 2
    run_tasks()
    run_tasks()  # anything sent twice would show now

    # 4. Exactly once each, as delivered mail.
    assert not OutboundMessage.objects.exclude(status=OutboundStatus.SENT).exists()
    mails = _mails(tmp_path)
    for name, address in (("Maria Lopez", "maria@example.net"), ("Jon Lopez", "jon@example.net")):
        theirs = [body for to, body in mails if address in to]
        updates = [body for body in theirs if "DL 1234 leaves tomorrow" in body]
        codes = [code for body in theirs for code in set(CODE.findall(body))]
        assert len(updates) == 1 and f"Hello {name}," in updates[0], (address, theirs)
        assert len(codes) == 1, (address, theirs)
    assert len({code for _, body in mails for code in CODE.findall(body)}) == 2  # two different vouchers

    # Maria's update went into her own thread; Jon's opened a conversation he can answer.
    jon = AffectedCustomer.objects.get(pk=rows["Jon Lopez"].pk)
    assert jon.ticket is not None and jon.ticket.requester.name == "Jon Lopez"
    assert ticket.events.filter(kind=EventKind.INCIDENT, after__action="update").count() == 1

    # 5. The report: both covered.
    report = api.get(f"/incidents/{incident.pk}/deliveries").json()
    assert report["total"] == 2
    assert {(c["name"], c["notified"], c["gesture"]) for c in report["customers"]} == {
        ("Maria Lopez", "sent", "received"), ("Jon Lopez", "sent", "received")}
    gesture = api.get(f"/incidents/{incident.pk}/gesture").json()
    assert (gesture["received"], gesture["pending"], gesture["failed"]) == (2, 0, 0)
    page = api.get(f"/incidents/{incident.pk}/broadcasts").json()
    assert [(b["sent"], b["pending"], b["failed"]) for b in page] == [(2, 0, 0)]
