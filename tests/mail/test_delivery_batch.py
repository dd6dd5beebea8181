"""Acknowledgements of a burst are delivered together (``outbound_deliver_many``): one task,
one relay connection, each outcome recorded on its own message; an agent's reply goes out
before the burst's bulk work."""

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from frontdesk.core.tasks import PRIORITY_DEFAULT, PRIORITY_INGEST, PRIORITY_INTERACTIVE
from frontdesk.mail.batch import inbound_process_many
from frontdesk.mail.models import OutboundKind, OutboundMessage, OutboundStatus
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.services import ticket_reply
from tests.conftest import run_tasks

from .helpers import mail
from .test_batch import store_many


@pytest.fixture
def home(settings, tmp_path):
    settings.FRONTDESK_HOME = tmp_path


def burst(count: int, *, first: int = 0) -> None:
    rows = store_many(*(mail(message_id=f"<n{first + i}@example.net>", sender=f"P{i} <p{i}@example.net>")
                        for i in range(count)))
    inbound_process_many(inbound_ids=[row.pk for row in rows])


@pytest.mark.django_db(transaction=True)
def test_it_delivers_a_burst_of_acknowledgements_over_one_connection(home, relay, inbox):
    burst(2)
    burst(2, first=2)  # queued while the first delivery task still waits: it joins that task

    (delivery,) = DBTaskResult.objects.filter(task_path__endswith=".deliver_outbound_many")
    assert len(delivery.args_kwargs["kwargs"]["outbound_ids"]) == 4
    run_tasks()

    assert relay.sessions == 1 and len(relay.received) == 4
    assert sorted(to[0] for _, to, _ in relay.received) == ["p0@example.net", "p0@example.net", "p1@example.net",
                                                           "p1@example.net"]
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {OutboundStatus.SENT}
    for ticket in Ticket.objects.all():
        (event,) = ticket.events.filter(kind="delivery")
        assert (event.after["status"], event.after["kind"]) == ("sent", "ack")


@pytest.mark.django_db(transaction=True)
def test_it_records_each_refusal_on_its_own_message(home, relay, inbox):
    relay.refuse_for = {"p0@example.net": "550 5.1.1 no such user", "p1@example.net": "451 4.3.0 try later"}

    burst(3)
    run_tasks()

    status = dict(OutboundMessage.objects.values_list("recipient", "status"))
    assert status == {"p0@example.net": OutboundStatus.FAILED, "p1@example.net": OutboundStatus.RETRYING,
                      "p2@example.net": OutboundStatus.SENT}
    assert "550" in OutboundMessage.objects.get(recipient="p0@example.net").last_error
    # The transient one goes on as a task of its own, with backoff.
    retry = DBTaskResult.objects.get(status="READY")
    assert retry.task_path.endswith(".deliver_outbound") and retry.run_after > timezone.now()
    assert retry.args_kwargs["kwargs"]["outbound_id"] == OutboundMessage.objects.get(recipient="p1@example.net").pk

    relay.refuse_for = {}
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
    run_tasks()
    assert OutboundMessage.objects.get(recipient="p1@example.net").status == OutboundStatus.SENT


@pytest.mark.django_db
def test_it_puts_an_agent_reply_before_inbound_mail_and_bulk_mail(home, inbox, sam):
    burst(2)
    ticket = Ticket.objects.first()
    ticket_reply(ticket=ticket, author=sam, body="On it")
    run_now = {row.task_path.rsplit(".", 1)[1]: row.priority for row in DBTaskResult.objects.all()}
    assert run_now["email_reply"] == PRIORITY_INTERACTIVE
    assert run_now["deliver_outbound_many"] == PRIORITY_DEFAULT  # the acknowledgements
    assert PRIORITY_INTERACTIVE > PRIORITY_INGEST > PRIORITY_DEFAULT

    from frontdesk.mail.outbound import outbound_queue_reply

    event = ticket.events.get(kind="reply")
    DBTaskResult.objects.all().delete()
    outbound = outbound_queue_reply(event_id=event.pk)
    assert outbound.kind == OutboundKind.REPLY
    assert DBTaskResult.objects.get().priority == PRIORITY_INTERACTIVE
