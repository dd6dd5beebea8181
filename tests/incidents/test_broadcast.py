"""Broadcasts: one update, written once, reaches every affected customer once, in their own
conversation (or a new one), by email through the outbox, and in every linked ticket's timeline."""

from __future__ import annotations

import email
import email.policy

import pytest

from frontdesk.core.errors import Conflict, Forbidden, InvalidInput
from frontdesk.customers.services import customer_create
from frontdesk.incidents.affected import AffectedEntry, affected_customers_add
from frontdesk.incidents.broadcasts import broadcast_post
from frontdesk.incidents.models import AffectedCustomer, BroadcastDelivery, DeliveryStatus
from frontdesk.incidents.services import incident_link_ticket
from frontdesk.mail.models import OutboundMessage, OutboundStatus
from frontdesk.tickets.models import EventKind, Status, Ticket
from frontdesk.tickets.services import ticket_add_ccs, ticket_set_status
from tests.conftest import run_tasks


@pytest.fixture(autouse=True)
def _outbox(settings, tmp_path):
    settings.FRONTDESK_HOME = tmp_path
    settings.FRONTDESK_SMTP_URL = ""
    settings.FRONTDESK_BROADCAST_PER_MINUTE = 1_000_000  # every chunk is due at once in tests
    settings.FRONTDESK_BROADCAST_CHUNK = 2


def _mails(tmp_path) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted((tmp_path / "outbox").glob("*.eml"))]


def _to(message) -> set[str]:
    return {a.addr_spec for field in ("To", "Cc") for a in (message[field].addresses if message[field] else ())}


def _add(incident, *customers):
    return affected_customers_add(incident=incident, entries=[AffectedEntry(customer_id=c.pk) for c in customers],
                                  source="api", actor=None)


@pytest.mark.django_db(transaction=True)
def test_it_reaches_ticket_holders_in_their_thread_and_others_in_a_new_conversation(
        incident, agent, ticket, customer, tmp_path):
    incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
    stranger = customer_create(name="Tom Traveller", emails=["tom@example.org"])
    _add(incident, stranger)
    run_tasks()
    before = {p.name for p in (tmp_path / "outbox").glob("*.eml")}

    broadcast = broadcast_post(incident=incident, actor=agent, body="Hello {name}, payments work again for most.",
                               status="monitoring")
    run_tasks()

    incident.refresh_from_db()
    assert incident.status == "monitoring"
    assert set(BroadcastDelivery.objects.filter(broadcast=broadcast).values_list("status", flat=True)) == {"sent"}
    own = ticket.messages.filter(automatic="incident_update").get()
    assert own.body_text == "Hello Maria Lopez, payments work again for most."
    new_ticket = AffectedCustomer.objects.get(incident=incident, customer=stranger).ticket
    assert new_ticket.requester == stranger and new_ticket.status == Status.ON_HOLD
    assert new_ticket.incident_links.filter(incident=incident).exists()
    mails = [m for m in _mails(tmp_path) if f"{m['Message-ID']}" not in before]
    by_address = {frozenset(_to(m)): m for m in _mails(tmp_path) if "payments work again" in m.get_body(
        ("plain",)).get_content()}
    assert set(by_address) == {frozenset({"maria@example.net"}), frozenset({"tom@example.org"})}
    assert f"[#{ticket.reference}]" in by_address[frozenset({"maria@example.net"})]["Subject"]
    assert by_address[frozenset({"maria@example.net"})]["Auto-Submitted"] == "auto-generated"
    assert "Hello Tom Traveller" in by_address[frozenset({"tom@example.org"})].get_body(("plain",)).get_content()
    assert mails and OutboundMessage.objects.exclude(status=OutboundStatus.SENT).count() == 0
    event = ticket.events.filter(kind=EventKind.INCIDENT).order_by("-pk").first()
    assert event.after["action"] == "update" and event.after["broadcast"] == broadcast.pk
    assert event.after["status"] == "monitoring" and event.after["reference"] == incident.reference


@pytest.mark.django_db(transaction=True)
def test_it_sends_one_message_per_conversation_to_requester_and_cc(incident, agent, ticket, customer, tmp_path):
    partner = customer_create(name="Pablo Lopez", emails=["pablo@example.net"])
    ticket_add_ccs(ticket=ticket, actor=agent, customers=[partner])
    incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
    assert AffectedCustomer.objects.filter(incident=incident, ticket=ticket).count() == 2

    broadcast_post(incident=incident, actor=agent, body="We found the cause.")
    run_tasks()

    assert ticket.messages.filter(automatic="incident_update").count() == 1
    [mail] = [m for m in _mails(tmp_path) if "We found the cause." in m.get_body(("plain",)).get_content()]
    assert _to(mail) == {"maria@example.net", "pablo@example.net"}
    assert set(BroadcastDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


@pytest.mark.django_db(transaction=True)
def test_it_is_not_held_back_by_the_auto_reply_ceiling(incident, agent, ticket, settings, tmp_path):
    settings.FRONTDESK_AUTOREPLY_PER_HOUR = 0  # an address that had "enough" automatic mail
    incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
    broadcast_post(incident=incident, actor=agent, body="Still investigating.")
    run_tasks()
    assert any("Still investigating." in m.get_body(("plain",)).get_content() for m in _mails(tmp_path))


@pytest.mark.django_db(transaction=True)
def test_it_never_sends_an_update_twice_and_late_customers_get_the_latest(incident, agent, customer, tmp_path):
    first = customer_create(name="Ann", emails=["ann@example.org"])
    _add(incident, first)
    broadcast_post(incident=incident, actor=agent, body="Update one.")
    second_update = broadcast_post(incident=incident, actor=agent, body="Update two.")
    run_tasks()
    run_tasks()  # a second pass (a task run twice) sends nothing more
    late = customer_create(name="Lena Late", emails=["lena@example.org"])
    _add(incident, late, first)  # the first customer again changes nothing
    run_tasks()

    bodies = [(frozenset(_to(m)), m.get_body(("plain",)).get_content().splitlines()[0]) for m in _mails(tmp_path)]
    ann = [b for to, b in bodies if "ann@example.org" in to]
    lena = [b for to, b in bodies if "lena@example.org" in to]
    assert sorted(ann) == ["Update one.", "Update two."]
    assert lena == ["Update two."]
    assert BroadcastDelivery.objects.filter(broadcast=second_update).count() == 2


@pytest.mark.django_db(transaction=True)
def test_it_opens_a_new_conversation_when_the_customers_ticket_is_closed(incident, agent, ticket, customer):
    incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    ticket_set_status(ticket=ticket, actor=agent, status=Status.CLOSED)
    broadcast_post(incident=incident, actor=agent, body="We are on it.")
    run_tasks()
    row = AffectedCustomer.objects.get(incident=incident, customer=customer)
    assert row.ticket != ticket and row.ticket.requester == customer
    assert row.ticket.messages.get().body_text == "We are on it."
    # the closed ticket still has the update in its timeline
    assert ticket.events.filter(kind=EventKind.INCIDENT, after__action="update").exists()


@pytest.mark.django_db
def test_it_refuses_bad_input_and_light_agents(incident, agent, light):
    with pytest.raises(InvalidInput):
        broadcast_post(incident=incident, actor=agent, body="   ")
    with pytest.raises(InvalidInput):
        broadcast_post(incident=incident, actor=agent, body="x", status="sleeping")
    with pytest.raises(InvalidInput):
        broadcast_post(incident=incident, actor=agent, body="x", status="resolved")
    with pytest.raises(Forbidden):
        broadcast_post(incident=incident, actor=light, body="Hello")
    incident.status = "resolved"
    incident.save()
    with pytest.raises(Conflict):
        broadcast_post(incident=incident, actor=agent, body="Hello")
    assert not Ticket.objects.filter(subject__contains=incident.reference).exists()



@pytest.mark.django_db(transaction=True)
def test_it_paces_big_audiences_in_chunks_under_the_rate_limit(incident, agent, settings):
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    settings.FRONTDESK_BROADCAST_CHUNK = 2
    settings.FRONTDESK_BROADCAST_PER_MINUTE = 2  # one chunk of two a minute
    _add(incident, *[customer_create(name=f"P{i}", emails=[f"p{i}@example.org"]) for i in range(5)])
    broadcast = broadcast_post(incident=incident, actor=agent, body="Update.")
    run_tasks()  # the fan-out and the first chunk: the others are not due yet

    assert BroadcastDelivery.objects.filter(broadcast=broadcast, status="sent").count() == 2
    assert BroadcastDelivery.objects.filter(broadcast=broadcast, status="pending").count() == 3
    later = sorted(DBTaskResult.objects.filter(task_path__endswith="broadcast_send_chunk", status="READY")
                   .values_list("run_after", flat=True))
    now = timezone.now()
    assert len(later) == 2
    assert 50 <= (later[0] - now).total_seconds() <= 61 and 110 <= (later[1] - now).total_seconds() <= 121
