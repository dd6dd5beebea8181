"""A customer reply racing a due reminder, with real row locks (SQLite and PostgreSQL):
the reminder is not sent if the reply commits first; if the reminder commits first, the
reply still reopens the ticket and the ladder stops."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from frontdesk.followups.ladder import ladder_advance
from frontdesk.followups.models import Ladder, LadderState
from frontdesk.tickets.models import Message, Status
from frontdesk.tickets.services import ticket_receive_customer_message, ticket_set_status

from .conftest import settle
from .shared_db import in_memory_sqlite, needs_shared_database, rerun_on_sqlite_file

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_runs_these_races_on_a_sqlite_file(tmp_path):
    if not in_memory_sqlite():
        pytest.skip("this run's database is shared already: the races ran directly")
    rerun_on_sqlite_file(__file__, tmp_path)


@pytest.fixture
def due_ladder(clock, ticket, agent):
    needs_shared_database()
    ticket_set_status(ticket=ticket, actor=agent, status=Status.PENDING)
    settle()
    ladder = Ladder.objects.get(ticket=ticket)
    clock.move_to(ladder.next_step_at)
    return ladder


def _in_thread(target):
    failures = []

    def run():
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            failures.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, failures


def test_it_does_not_send_the_reminder_when_the_reply_holds_the_lock_first(due_ladder, ticket, customer):
    holding = threading.Event()

    def reply():
        with transaction.atomic():
            ticket_receive_customer_message(ticket=ticket, customer=customer, body="Here is the number: 1042")
            holding.set()
            time.sleep(0.5)  # the reminder task arrives now and must wait for this commit

    thread, failures = _in_thread(reply)
    assert holding.wait(10)
    assert ladder_advance(ladder_id=due_ladder.pk) == "stopped: ticket is open"
    thread.join(10)
    assert failures == []
    assert not Message.objects.filter(ticket=ticket, automatic="reminder").exists()
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    due_ladder.refresh_from_db()
    assert due_ladder.state == LadderState.STOPPED


def test_it_reopens_when_the_reply_arrives_while_the_reminder_is_being_sent(due_ladder, ticket, customer):
    finished = threading.Event()

    def reply():
        ticket_receive_customer_message(ticket=ticket, customer=customer, body="Sorry, here it is: 1042")
        finished.set()

    with transaction.atomic():
        assert ladder_advance(ladder_id=due_ladder.pk) == "reminder 1 sent"
        thread, failures = _in_thread(reply)
        assert not finished.wait(0.5), "the reply must wait for the reminder's transaction"
    thread.join(10)
    assert failures == [] and finished.is_set()
    [reminder] = Message.objects.filter(ticket=ticket, automatic="reminder")
    answer = Message.objects.filter(ticket=ticket, author_customer=customer).latest("pk")
    assert reminder.pk < answer.pk
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    settle()
    due_ladder.refresh_from_db()
    assert due_ladder.state == LadderState.STOPPED
    assert Message.objects.filter(ticket=ticket, automatic="reminder").count() == 1


def test_it_sends_at_most_one_reminder_whatever_the_interleaving(due_ladder, ticket, customer):
    start = threading.Barrier(2)

    def reminder():
        start.wait(5)
        ladder_advance(ladder_id=due_ladder.pk)

    def reply():
        start.wait(5)
        ticket_receive_customer_message(ticket=ticket, customer=customer, body="1042")

    threads = [_in_thread(reminder), _in_thread(reply)]
    for thread, failures in threads:
        thread.join(20)
        assert failures == []
    reminders = list(Message.objects.filter(ticket=ticket, automatic="reminder"))
    answer = Message.objects.filter(ticket=ticket, author_customer=customer).latest("pk")
    assert len(reminders) <= 1 and all(r.pk < answer.pk for r in reminders)
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
