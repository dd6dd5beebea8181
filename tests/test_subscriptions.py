"""Which ticket events queue which tasks (frontdesk/subscriptions.py): a subscriber's test on
the event spares a task for events it ignores, and a batch queues one task per subscriber."""

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from frontdesk.sla.models import TicketSla
from frontdesk.subscriptions import batched
from frontdesk.tickets.bulk import NewCustomerTicket, ticket_create_many
from frontdesk.tickets.models import Channel, Status
from frontdesk.tickets.services import ticket_set_status
from tests.conftest import run_tasks


def queued() -> list[str]:
    return sorted(path.rsplit(".", 1)[1] for path in DBTaskResult.objects.values_list("task_path", flat=True))


def test_it_queues_the_survey_and_the_solved_follow_ups_only_for_a_solve(ticket, agent):
    DBTaskResult.objects.all().delete()
    ticket_set_status(ticket=ticket, actor=agent, status=Status.ON_HOLD)
    assert queued() == ["sla_on_ticket_event"]

    DBTaskResult.objects.all().delete()
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    assert queued() == ["on_status_event", "sla_on_ticket_event", "survey_schedule_after_solve"]


def test_it_queues_one_task_per_subscriber_for_the_events_of_a_batch(customer, support):
    DBTaskResult.objects.all().delete()
    drafts = [NewCustomerTicket(subject=f"Question {n}", requester=customer, body="Hello", channel=Channel.EMAIL,
                                group=support) for n in range(2)]
    with transaction.atomic(), batched():
        tickets = ticket_create_many(drafts=drafts)

    (task,) = DBTaskResult.objects.all()
    # SLA has a batch task of its own, and applies all of a ticket's events whichever it is
    # given: the last event of each ticket.
    assert task.task_path == "frontdesk.sla.tasks.sla_on_ticket_events"
    assert task.args_kwargs["kwargs"] == {"event_ids": [t.events.order_by("pk").last().pk for t in tickets]}


@pytest.mark.django_db(transaction=True)
def test_it_runs_a_batch_subscriber_for_every_event(customer, support):
    drafts = [NewCustomerTicket(subject=f"Question {n}", requester=customer, body="Hello", channel=Channel.EMAIL,
                                group=support) for n in range(2)]
    with transaction.atomic(), batched():
        tickets = ticket_create_many(drafts=drafts)

    run_tasks()

    for ticket in tickets:  # every event applied to the ticket's SLA state
        state = TicketSla.objects.get(ticket=ticket)
        assert state.last_event_id == ticket.events.order_by("pk").last().pk
    assert not DBTaskResult.objects.exclude(status="SUCCESSFUL").exists()
