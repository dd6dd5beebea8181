"""Timers through the ticket services: start, pause/resume, cycles, satisfaction."""

from __future__ import annotations

from datetime import timedelta

import pytest

from frontdesk.customers.services import customer_create
from frontdesk.sla.models import SlaTimer, TimerState
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.services import (
    ticket_add_note,
    ticket_create,
    ticket_receive_customer_message,
    ticket_reply,
    ticket_send_automatic_message,
    ticket_set_status,
)

from .helpers import drain

pytestmark = pytest.mark.django_db


def timers(ticket, **filters):
    return {f"{t.metric}:{t.cycle}": t for t in SlaTimer.objects.filter(ticket=ticket, **filters)}


def open_ticket(customer, support):
    ticket = ticket_create(subject="Printer on fire", requester=customer, body="Help", group=support)
    drain()
    return ticket


def test_it_starts_first_response_and_resolution_with_frozen_targets(clock, standard, customer, support):
    ticket = open_ticket(customer, support)
    found = timers(ticket)
    assert set(found) == {"first_response:1", "resolution:1"}
    first = found["first_response:1"]
    assert (first.target_minutes, first.policy_name, first.state) == (240, "Standard", TimerState.RUNNING)
    assert first.due_at.hour == 14
    assert first.warn_at.hour == 13  # 75 % of 240 minutes = 180 minutes after 10:00
    ticket.refresh_from_db()
    assert ticket.sla_due_at == first.due_at
    started = ticket.events.filter(kind="sla", after__action="started")
    assert started.count() == 2
    assert {e.after["policy"] for e in started} == {"Standard"}


def test_it_satisfies_on_a_public_reply_not_a_note_or_automatic_message(clock, standard, customer, support, agent):
    ticket = open_ticket(customer, support)
    clock.shift(timedelta(minutes=30))
    ticket_add_note(ticket=ticket, author=agent, body="looking")
    ticket_send_automatic_message(ticket=ticket, body="We got it", purpose="sla_update", actor="test")
    drain()
    assert timers(ticket)["first_response:1"].state == TimerState.RUNNING
    clock.shift(timedelta(minutes=30))
    ticket_reply(ticket=ticket, author=agent, body="On it")
    drain()
    first = timers(ticket)["first_response:1"]
    assert (first.state, first.elapsed_minutes) == (TimerState.SATISFIED, 60)
    assert timers(ticket)["resolution:1"].state == TimerState.RUNNING


def test_it_pauses_while_pending_and_keeps_used_minutes_on_resume(clock, standard, customer, support, agent):
    ticket = open_ticket(customer, support)
    clock.shift(timedelta(minutes=60))
    ticket_reply(ticket=ticket, author=agent, body="Which model?", status="pending")
    drain()
    resolution = timers(ticket)["resolution:1"]
    assert (resolution.state, resolution.consumed_minutes, resolution.next_check_at) == (TimerState.PAUSED, 60, None)
    assert Ticket.objects.get(pk=ticket.pk).sla_due_at is None
    clock.shift(timedelta(days=1))  # Tuesday 11:00: a day waiting on the customer costs nothing
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="The X200")
    drain()
    found = timers(ticket)
    resolution = found["resolution:1"]
    assert resolution.state == TimerState.RUNNING and resolution.consumed_minutes == 60
    # 1380 business minutes left from Tuesday 11:00 on 8-hour days: Friday 10:00.
    assert (resolution.due_at.day, resolution.due_at.hour) == (6, 10)
    assert found["next_response:2"].state == TimerState.RUNNING
    assert [e.after["action"] for e in ticket.events.filter(kind="sla").order_by("pk")][-3:] in (
        ["paused", "started", "resumed"], ["paused", "resumed", "started"])


def test_it_starts_one_next_response_cycle_per_wait(clock, standard, customer, support, agent):
    ticket = open_ticket(customer, support)
    ticket_reply(ticket=ticket, author=agent, body="Hi")
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="one")
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="two")
    drain()
    assert set(timers(ticket, metric="next_response")) == {"next_response:2"}
    clock.shift(timedelta(minutes=5))
    ticket_reply(ticket=ticket, author=agent, body="Answer")
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="three")
    drain()
    found = timers(ticket, metric="next_response")
    assert found["next_response:2"].state == TimerState.SATISFIED
    assert found["next_response:3"].state == TimerState.RUNNING


def test_it_stops_resolution_when_solved_and_resumes_on_reopen(clock, standard, customer, support, agent):
    ticket = open_ticket(customer, support)
    clock.shift(timedelta(minutes=90))
    ticket_reply(ticket=ticket, author=agent, body="Fixed", status="solved")
    drain()
    resolution = timers(ticket)["resolution:1"]
    assert (resolution.state, resolution.elapsed_minutes) == (TimerState.SATISFIED, 90)
    clock.shift(timedelta(minutes=30))
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="Still broken")
    drain()
    resolution = timers(ticket)["resolution:1"]
    assert (resolution.state, resolution.consumed_minutes) == (TimerState.RUNNING, 90)


def test_it_keeps_running_timers_when_the_policy_is_edited(clock, standard, customer, support, admin):
    from frontdesk.sla.policy_services import sla_policy_update

    ticket = open_ticket(customer, support)
    sla_policy_update(actor=admin, policy_id=standard.pk, targets={"first_response": {"normal": 30}})
    later = ticket_create(subject="Later", requester=customer, body="x", group=support)
    drain()
    assert timers(ticket)["first_response:1"].target_minutes == 240
    assert timers(later)["first_response:1"].target_minutes == 30
    assert "resolution:1" not in timers(later)


def test_it_retargets_on_priority_change_keeping_elapsed_time(clock, standard, customer, support, agent):
    from frontdesk.tickets.services import ticket_set_priority

    ticket = open_ticket(customer, support)
    clock.shift(timedelta(minutes=50))
    ticket_set_priority(ticket=ticket, actor=agent, priority="urgent")
    drain()
    first = timers(ticket)["first_response:1"]
    assert first.target_minutes == 60
    assert first.due_at == first.started_at + timedelta(minutes=60)
    event = ticket.events.filter(kind="sla", after__action="retargeted").get()
    assert event.after["priority"] == "urgent"


def test_it_applies_the_first_matching_policy(clock, standard, premium, support):
    vip = customer_create(name="Vera", emails=["vera@example.org"], plan="Premium")
    ticket = open_ticket(vip, support)
    assert timers(ticket)["first_response:1"].policy_name == "Premium"


def test_it_applies_events_once_whatever_order_the_tasks_run_in(clock, standard, customer, support):
    from frontdesk.sla.services import sla_apply_events

    ticket = ticket_create(subject="x", requester=customer, body="y", group=support)
    assert sla_apply_events(ticket_id=ticket.pk) == 2
    assert sla_apply_events(ticket_id=ticket.pk) == 0
    drain()
    assert SlaTimer.objects.filter(ticket=ticket).count() == 2


def test_it_stops_everything_on_close(clock, standard, customer, support, agent):
    ticket = open_ticket(customer, support)
    ticket_set_status(ticket=ticket, actor=agent, status="solved")
    ticket_set_status(ticket=ticket, actor=agent, status="closed")
    drain()
    assert not SlaTimer.objects.filter(ticket=ticket, state__in=["running", "paused"]).exists()
    assert Ticket.objects.get(pk=ticket.pk).sla_due_at is None
