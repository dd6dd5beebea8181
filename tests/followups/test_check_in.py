"""Post-solve check-in: N days after a solve, "is everything still working?"."""

from __future__ import annotations

from datetime import timedelta

import pytest

from frontdesk.followups.config import followup_settings_update
from frontdesk.followups.models import CheckIn, CheckInState
from frontdesk.tickets.models import EventKind, Message, Status
from frontdesk.tickets.services import ticket_receive_customer_message, ticket_set_status, ticket_tag

from .conftest import MONDAY, settle

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_checks_in_after_n_days_and_an_answer_reopens(clock, ticket, agent, admin, customer):
    followup_settings_update(agent=admin, check_in_enabled=True, check_in_days=3, check_in_tags=["billing"],
                             close_solved_after_hours=24 * 10)
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    settle()
    check_in = CheckIn.objects.get(ticket=ticket)
    assert check_in.due_at == MONDAY + timedelta(days=3)

    clock.move_to(MONDAY + timedelta(days=3, minutes=1))
    settle()
    settle()
    check_in.refresh_from_db()
    assert check_in.state == CheckInState.SENT
    [sent] = Message.objects.filter(ticket=ticket, automatic="check_in")
    assert "still working" in sent.body_text

    ticket_receive_customer_message(ticket=ticket, customer=customer, body="It broke again.")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_it_skips_tickets_without_the_chosen_tags_and_reopened_ones(clock, ticket, agent, admin, customer):
    followup_settings_update(agent=admin, check_in_enabled=True, check_in_days=2, check_in_tags=["vip"])
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    settle()
    assert not CheckIn.objects.exists()

    ticket_tag(ticket=ticket, actor=agent, add=["vip"])
    ticket_set_status(ticket=ticket, actor=agent, status=Status.OPEN)
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    settle()
    check_in = CheckIn.objects.get()
    clock.move_to(MONDAY + timedelta(hours=1))
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="One more thing")
    clock.move_to(MONDAY + timedelta(days=3))
    settle()
    check_in.refresh_from_db()
    assert (check_in.state, check_in.reason) == (CheckInState.SKIPPED, "no longer solved")
    assert not Message.objects.filter(automatic="check_in").exists()
    assert ticket.events.filter(kind=EventKind.CHECK_IN).last().after["action"] == "skipped"


def test_it_closes_solved_tickets_after_the_configured_period(clock, ticket, agent, admin):
    followup_settings_update(agent=admin, close_solved_after_hours=5)
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    settle()
    ticket.refresh_from_db()
    assert ticket.auto_close_at == MONDAY + timedelta(hours=5)
    clock.move_to(MONDAY + timedelta(hours=5, minutes=1))
    settle()
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
