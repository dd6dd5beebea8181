"""Snooze: out of the inbox until a time or until the customer writes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from frontdesk.core.errors import InvalidInput
from frontdesk.desk.selectors import inbox_tickets
from frontdesk.followups.models import Snooze
from frontdesk.followups.services import ticket_snooze, ticket_unsnooze
from frontdesk.notifications.models import Notification
from frontdesk.tickets.models import EventKind
from frontdesk.tickets.services import ticket_assign, ticket_receive_customer_message

from .conftest import MONDAY, settle

pytestmark = pytest.mark.django_db(transaction=True)

UNSOLVED = {"status": ["new", "open", "pending", "on_hold"]}


def _in_inbox(agent, ticket, params=UNSOLVED) -> bool:
    return inbox_tickets(agent=agent, params=params).filter(pk=ticket.pk).exists()


def test_it_hides_a_snoozed_ticket_until_its_time_then_wakes_it(clock, ticket, agent):
    ticket_assign(ticket=ticket, actor=agent, assignee=agent)
    ticket_snooze(ticket=ticket, agent=agent, until=MONDAY + timedelta(days=2), note="waiting for the courier")
    assert not _in_inbox(agent, ticket)
    assert _in_inbox(agent, ticket, {**UNSOLVED, "snoozed": ["only"]})

    clock.move_to(MONDAY + timedelta(days=1))
    settle()
    assert Snooze.objects.filter(ticket=ticket).exists()

    clock.move_to(MONDAY + timedelta(days=2, seconds=1))
    settle()
    assert not Snooze.objects.exists()
    assert _in_inbox(agent, ticket)
    assert [e.after["action"] for e in ticket.events.filter(kind=EventKind.SNOOZE)] == ["snoozed", "woken"]
    assert ticket.events.filter(kind=EventKind.SNOOZE).last().after["by"] == "time"
    assert Notification.objects.get(agent=agent).kind == "snooze"


def test_it_wakes_a_snoozed_ticket_when_the_customer_writes(clock, ticket, agent, customer):
    ticket_snooze(ticket=ticket, agent=agent, until=MONDAY + timedelta(days=5))
    clock.move_to(MONDAY + timedelta(hours=1))
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="Any update?")
    settle()
    assert not Snooze.objects.exists()
    assert _in_inbox(agent, ticket)
    woken = ticket.events.filter(kind=EventKind.SNOOZE).last()
    assert woken.after == {"action": "woken", "by": "customer"} and woken.actor_customer == customer
    clock.move_to(MONDAY + timedelta(days=6))
    settle()  # the old wake time finds nothing to do
    assert ticket.events.filter(kind=EventKind.SNOOZE).count() == 2


def test_it_moves_the_wake_time_when_snoozed_again_and_can_be_ended(clock, ticket, agent):
    ticket_snooze(ticket=ticket, agent=agent, until=MONDAY + timedelta(hours=1))
    ticket_snooze(ticket=ticket, agent=agent, until=MONDAY + timedelta(hours=5))
    clock.move_to(MONDAY + timedelta(hours=2))
    settle()
    assert Snooze.objects.get(ticket=ticket).until == MONDAY + timedelta(hours=5)
    ticket_unsnooze(ticket=ticket, agent=agent)
    assert not Snooze.objects.exists()


def test_it_refuses_a_snooze_in_the_past(clock, ticket, agent):
    with pytest.raises(InvalidInput):
        ticket_snooze(ticket=ticket, agent=agent, until=MONDAY - timedelta(hours=1))
