"""SLA for a batch of tickets (``sla_apply_events_many``, the ``sla_on_ticket_events`` task a
mail batch queues): the same state as one ticket at a time, in bulk while no policy is active."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from frontdesk.sla.models import SlaPolicy, SlaTimer, TicketSla, TimerState
from frontdesk.sla.policy_services import sla_policy_update
from frontdesk.sla.services import sla_apply_events, sla_apply_events_many
from frontdesk.subscriptions import batched
from frontdesk.tickets.bulk import NewCustomerTicket, ticket_create_many
from frontdesk.tickets.models import Channel, Status, Ticket
from frontdesk.tickets.services import ticket_create, ticket_set_priority, ticket_set_status

from .helpers import drain

pytestmark = pytest.mark.django_db


def open_many(customer, support, count=3) -> list[Ticket]:
    drafts = [NewCustomerTicket(subject=f"Question {n}", requester=customer, body="Hello", channel=Channel.EMAIL,
                                group=support) for n in range(count)]
    with transaction.atomic(), batched():
        return ticket_create_many(drafts=drafts)


def state(ticket) -> tuple:
    row = TicketSla.objects.get(ticket=ticket)
    return row.status, row.last_event_id, row.policy_id, row.next_cycle


def test_it_queues_one_batch_task_for_a_batch(customer, support):
    DBTaskResult.objects.all().delete()
    tickets = open_many(customer, support)

    (task,) = DBTaskResult.objects.all()
    assert task.task_path == "frontdesk.sla.tasks.sla_on_ticket_events"
    assert task.args_kwargs["kwargs"] == {"event_ids": [t.events.order_by("pk").last().pk for t in tickets]}


def test_it_records_every_event_without_policies_in_bulk(customer, support, agent, django_assert_max_num_queries):
    tickets = open_many(customer, support)

    with django_assert_max_num_queries(9):  # whatever the number of tickets (savepoint included)
        applied, failed = sla_apply_events_many(ticket_ids=[t.pk for t in tickets])

    assert (applied, failed) == (6, [])  # created + customer_message each
    for ticket in tickets:
        assert state(ticket) == (Status.NEW, ticket.events.order_by("pk").last().pk, None, 1)
    assert not SlaTimer.objects.exists()

    ticket_set_status(ticket=tickets[0], actor=agent, status=Status.PENDING)
    ticket_set_priority(ticket=tickets[1], actor=agent, priority="high")
    assert sla_apply_events_many(ticket_ids=[t.pk for t in tickets]) == (2, [])
    assert state(tickets[0])[:2] == (Status.PENDING, tickets[0].events.order_by("pk").last().pk)
    assert state(tickets[1])[:2] == (Status.NEW, tickets[1].events.order_by("pk").last().pk)
    assert sla_apply_events_many(ticket_ids=[t.pk for t in tickets]) == (0, [])  # safe to run twice


def test_it_leaves_the_same_state_as_one_ticket_at_a_time(customer, support, agent):
    one_by_one, together = open_many(customer, support, 2), open_many(customer, support, 2)
    for ticket in (*one_by_one, *together):
        ticket_set_status(ticket=ticket, actor=agent, status=Status.OPEN)
        ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)

    for ticket in one_by_one:
        sla_apply_events(ticket_id=ticket.pk)
    sla_apply_events_many(ticket_ids=[t.pk for t in together])

    assert [state(t)[0] for t in one_by_one] == [state(t)[0] for t in together] == [Status.SOLVED] * 2
    for ticket in together:
        assert state(ticket)[1] == ticket.events.order_by("pk").last().pk
        assert Ticket.objects.get(pk=ticket.pk).sla_due_at is None


def test_it_starts_timers_as_usual_while_a_policy_is_active(clock, standard, customer, support):
    tickets = open_many(customer, support, 2)

    drain()

    for ticket in tickets:
        assert set(SlaTimer.objects.filter(ticket=ticket).values_list("metric", flat=True)) == {
            "first_response", "resolution"}
        assert TicketSla.objects.get(ticket=ticket).policy_id == standard.pk
        assert Ticket.objects.get(pk=ticket.pk).sla_due_at is not None


def test_it_keeps_the_timers_of_a_policy_switched_off_meanwhile(clock, standard, admin, customer, support, agent):
    ticket = ticket_create(subject="Printer on fire", requester=customer, body="Help", group=support)
    drain()
    sla_policy_update(actor=admin, policy_id=standard.pk, active=False)
    assert not SlaPolicy.objects.filter(active=True).exists()
    clock.shift(timedelta(minutes=30))
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    plain = open_many(customer, support, 1)[0]

    applied, failed = sla_apply_events_many(ticket_ids=[ticket.pk, plain.pk])

    assert (applied, failed) == (3, [])
    resolution = SlaTimer.objects.get(ticket=ticket, metric="resolution")
    assert (resolution.state, resolution.elapsed_minutes) == (TimerState.SATISFIED, 30)
    assert state(plain)[2] is None and not SlaTimer.objects.filter(ticket=plain).exists()


@pytest.mark.django_db(transaction=True)
def test_it_leaves_a_ticket_another_transaction_holds_to_the_general_path(customer, support):
    import threading

    from django.db import connection, connections

    tickets = open_many(customer, support, 2)
    held, release = threading.Event(), threading.Event()

    def hold_first_ticket():
        try:
            with transaction.atomic():
                list(Ticket.objects.select_for_update().filter(pk=tickets[0].pk))
                held.set()
                release.wait(5)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_first_ticket)
    holder.start()
    assert held.wait(5)
    if connection.vendor == "postgresql":
        # The other ticket is applied at once, without waiting for the held one ...
        from frontdesk.sla.services import _apply_without_policies

        applied, rest = _apply_without_policies([t.pk for t in tickets])
        assert (applied, rest) == (2, [tickets[0].pk])
        assert TicketSla.objects.filter(ticket=tickets[1]).exists()
    release.set()
    holder.join()

    # ... and the held one by the general path once it is free.
    assert sla_apply_events_many(ticket_ids=[t.pk for t in tickets])[1] == []
    for ticket in tickets:
        assert state(ticket)[1] == ticket.events.order_by("pk").last().pk
