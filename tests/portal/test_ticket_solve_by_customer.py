"""tickets.services.ticket_solve_by_customer and ticket_reopen_by_customer."""

from __future__ import annotations

import pytest

from frontdesk.core.errors import Conflict, Forbidden
from frontdesk.customers.services import customer_create
from frontdesk.tickets.models import EventKind, Status
from frontdesk.tickets.services import (
    ticket_create,
    ticket_merge,
    ticket_reopen_by_customer,
    ticket_set_status,
    ticket_solve_by_customer,
)


def test_it_solves_with_the_customer_as_the_actor(ticket, customer):
    ticket_solve_by_customer(ticket=ticket, customer=customer)

    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED and ticket.solved_at is not None
    event = ticket.events.get(kind=EventKind.STATUS)
    assert (event.actor_customer, event.actor_agent, event.after) == (customer, None, Status.SOLVED)


def test_it_does_nothing_when_already_solved(ticket, customer, agent):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)

    ticket_solve_by_customer(ticket=ticket, customer=customer)

    assert ticket.events.filter(kind=EventKind.STATUS).count() == 1


def test_it_refuses_anyone_but_the_requester(ticket):
    stranger = customer_create(name="Eve", emails=["eve@evil.example"])

    with pytest.raises(Forbidden):
        ticket_solve_by_customer(ticket=ticket, customer=stranger)
    with pytest.raises(Forbidden):
        ticket_reopen_by_customer(ticket=ticket, customer=stranger)


def test_it_refuses_closed_tickets(ticket, customer, agent):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    ticket_set_status(ticket=ticket, actor=agent, status=Status.CLOSED)

    with pytest.raises(Conflict):
        ticket_solve_by_customer(ticket=ticket, customer=customer)
    with pytest.raises(Conflict):
        ticket_reopen_by_customer(ticket=ticket, customer=customer)


@pytest.mark.parametrize(("current", "expected"), [
    (Status.SOLVED, Status.OPEN), (Status.PENDING, Status.OPEN), (Status.NEW, Status.NEW),
    (Status.OPEN, Status.OPEN), (Status.ON_HOLD, Status.ON_HOLD),
])
def test_it_reopens_only_what_a_customer_message_would_reopen(ticket, customer, current, expected):
    ticket.__class__.objects.filter(pk=ticket.pk).update(status=current)

    ticket_reopen_by_customer(ticket=ticket, customer=customer)

    ticket.refresh_from_db()
    assert ticket.status == expected


def test_it_acts_on_the_ticket_a_merged_one_continues_in(ticket, customer, agent):
    target = ticket_create(subject="Duplicate", requester=customer, body="Same")
    ticket_merge(source=ticket, target=target, actor=agent)

    ticket_solve_by_customer(ticket=ticket, customer=customer)

    target.refresh_from_db()
    assert target.status == Status.SOLVED
