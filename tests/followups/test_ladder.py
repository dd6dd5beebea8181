"""The waiting-on-customer ladder walked with frozen time: reminders on business days (a
holiday does not count), then a silent solve; a reply stops it; resolutions are recorded."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from frontdesk.calendars.selectors import calendar_default
from frontdesk.calendars.services import calendar_add_closed_day, calendar_create
from frontdesk.followups.config import ladder_policy_save
from frontdesk.followups.ladder import ticket_solve_as_confirmed
from frontdesk.followups.models import Ladder, LadderScope, LadderState, Resolution, ResolutionKind
from frontdesk.tickets.models import EventKind, Message, Status
from frontdesk.tickets.services import (
    ticket_receive_customer_message,
    ticket_reply,
    ticket_set_status,
    ticket_solve_by_customer,
)

from .conftest import MONDAY, settle

pytestmark = pytest.mark.django_db(transaction=True)


def _automatic(ticket, purpose):
    return list(Message.objects.filter(ticket=ticket, automatic=purpose).order_by("pk"))


def _at(day: int, hour: int = 10, minute: int = 0):
    """A time in the frozen test month (November/December 2026, UTC)."""
    return MONDAY.replace(day=1, hour=hour, minute=minute) + timedelta(days=day - 1) if day <= 30 else \
        MONDAY.replace(month=12, day=day - 30, hour=hour, minute=minute)


def test_it_walks_the_whole_ladder_on_business_days_skipping_a_holiday(clock, ticket, agent):
    calendar_add_closed_day(calendar=calendar_default(), date=date(2026, 11, 25), label="Company holiday")
    ticket_reply(ticket=ticket, author=agent, body="Could you send us the order number?", status=Status.PENDING)
    settle()
    ladder = Ladder.objects.get(ticket=ticket)
    # Mon 23 10:00 + 2 business days, Wed 25 closed → Thu 26; + 4 → Mon 30; + 7 → Thu 3 Dec.
    assert [s["due"] for s in ladder.steps] == [
        "2026-11-26T10:00:00+00:00", "2026-11-30T10:00:00+00:00", "2026-12-03T10:00:00+00:00"]

    clock.move_to(_at(26, 9, 59))
    settle()
    assert _automatic(ticket, "reminder") == []

    clock.move_to(_at(26, 10, 0))
    settle()
    [first] = _automatic(ticket, "reminder")
    assert "waiting for your answer" in first.body_text and ticket.reference in first.body_text

    clock.move_to(_at(30, 10, 1))
    settle()
    assert len(_automatic(ticket, "reminder")) == 2
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING  # reminders change nothing but the conversation

    clock.move_to(_at(33, 10, 0))
    settle()
    settle()  # a second scheduler pass and worker run do nothing more
    ticket.refresh_from_db()
    [note] = _automatic(ticket, "auto_solve")
    assert "reply" in note.body_text and "reopens" in note.body_text
    assert ticket.status == Status.SOLVED
    assert len(_automatic(ticket, "reminder")) == 2
    ladder.refresh_from_db()
    assert (ladder.state, ladder.step, ladder.next_step_at) == (LadderState.FINISHED, 3, None)
    steps = [e.after["action"] for e in ticket.events.filter(kind=EventKind.LADDER).order_by("pk")]
    assert steps == ["started", "reminder", "reminder", "solved"]
    resolution = Resolution.objects.get(ticket=ticket)
    assert resolution.kind == ResolutionKind.SILENT
    assert ticket.events.filter(kind=EventKind.RESOLUTION).get().after["kind"] == "silent"


def test_it_stops_the_ladder_when_the_customer_replies(clock, ticket, agent, customer):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.PENDING)
    settle()
    clock.move_to(_at(24, 15))
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="Here it is: 1042")
    settle()
    ladder = Ladder.objects.get(ticket=ticket)
    assert ladder.state == LadderState.STOPPED and "customer" in ladder.end_reason
    clock.move_to(_at(33, 12))
    settle()
    assert _automatic(ticket, "reminder") == []
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.events.filter(kind=EventKind.LADDER).last().after["action"] == "stopped"


def test_it_uses_the_ladder_of_the_customers_plan_with_its_calendar(clock, ticket, agent, admin, customer):
    always = calendar_create(name="24/7", time_zone="UTC", always_open=True)
    customer.plan = "enterprise"
    customer.save()
    ladder_policy_save(agent=admin, scope=LadderScope.PLAN, plan="enterprise", first_reminder_days=1,
                       second_reminder_days=0, solve_after_days=3, calendar_id=always.pk)
    ticket_set_status(ticket=ticket, actor=agent, status=Status.PENDING)
    settle()
    ladder = Ladder.objects.get(ticket=ticket)
    assert [(s["action"], s["due"]) for s in ladder.steps] == [
        ("reminder", "2026-11-24T10:00:00+00:00"), ("auto_solve", "2026-11-26T10:00:00+00:00")]


def test_it_records_how_tickets_were_solved(clock, ticket, agent, customer):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    settle()
    ticket_set_status(ticket=ticket, actor=agent, status=Status.OPEN)
    ticket_solve_by_customer(ticket=ticket, customer=customer)
    settle()
    ticket_set_status(ticket=ticket, actor=agent, status=Status.OPEN)
    ticket_solve_as_confirmed(ticket=ticket, agent=agent)
    settle()
    kinds = list(Resolution.objects.filter(ticket=ticket).order_by("pk").values_list("kind", flat=True))
    assert kinds == [ResolutionKind.AGENT, ResolutionKind.CONFIRMED, ResolutionKind.CONFIRMED]
    assert Resolution.objects.order_by("pk").last().solved_by == agent


def test_it_starts_counting_again_when_the_agent_replies_while_pending(clock, ticket, agent):
    ticket_reply(ticket=ticket, author=agent, body="Which model is it?", status=Status.PENDING)
    settle()
    first = Ladder.objects.get(ticket=ticket)
    clock.move_to(_at(24, 12))
    ticket_reply(ticket=ticket, author=agent, body="Also: since when does it happen?")
    settle()
    first.refresh_from_db()
    assert first.state == LadderState.STOPPED and first.end_reason.startswith("the agent replied again")
    second = Ladder.objects.get(ticket=ticket, state=LadderState.ACTIVE)
    assert second.steps[0]["due"] == "2026-11-26T12:00:00+00:00"  # Tue 24 12:00 + 2 business days
    clock.move_to(_at(25, 10, 30))
    settle()
    assert _automatic(ticket, "reminder") == []  # the first ladder's reminder (Wed 25 10:00) never comes
