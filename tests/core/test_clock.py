from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from frontdesk.core.clock import clock_tick
from frontdesk.tickets.models import Status, Ticket
from frontdesk.tickets.services import ticket_receive_customer_message, ticket_set_status
from tests.conftest import run_tasks


def _solve_long_ago(ticket, agent, hours):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    past = timezone.now() - timedelta(hours=hours)
    Ticket.objects.filter(pk=ticket.pk).update(solved_at=past, auto_close_at=past)


@pytest.mark.django_db(transaction=True)
def test_it_closes_solved_tickets_once_their_time_has_come(ticket, agent, settings):
    settings.FRONTDESK_CLOSE_SOLVED_AFTER_HOURS = 24
    _solve_long_ago(ticket, agent, hours=25)

    assert clock_tick() == 1
    assert clock_tick() == 0  # claimed: a second scheduler finds nothing to do
    # The one auto-close job (subscribers of the ticket events, e.g. SLA, queue their own).
    assert DBTaskResult.objects.filter(task_path="frontdesk.tickets.tasks.ticket_auto_close").count() == 1
    run_tasks()

    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED and ticket.closed_at is not None
    close = ticket.events.filter(kind="status").last()
    assert (close.actor_system, close.before, close.after) == ("scheduler", "solved", "closed")


@pytest.mark.django_db(transaction=True)
def test_it_leaves_a_ticket_reopened_before_the_task_ran(ticket, agent, customer, settings):
    settings.FRONTDESK_CLOSE_SOLVED_AFTER_HOURS = 24
    _solve_long_ago(ticket, agent, hours=25)
    clock_tick()

    ticket_receive_customer_message(ticket=ticket, customer=customer, body="Wait, not fixed")
    run_tasks()

    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


@pytest.mark.django_db(transaction=True)
def test_it_ignores_rows_not_yet_due(ticket, agent):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)

    assert clock_tick() == 0
    ticket.refresh_from_db()
    assert ticket.auto_close_at is not None
