"""When a survey is due, and that it goes out once: services with frozen time."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from frontdesk.core.clock import clock_tick
from frontdesk.csat.models import Survey
from frontdesk.csat.services import csat_settings_update, rating_record, survey_send_if_due
from frontdesk.tickets.models import EventKind, Status
from frontdesk.tickets.services import (
    ticket_receive_customer_message,
    ticket_set_status,
    ticket_solve_by_customer,
)

from .helpers import T0, solve

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def test_it_makes_a_survey_due_an_hour_after_an_agent_solves(ticket, agent):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.OPEN)
    solve(ticket, agent)

    survey = Survey.objects.get(ticket=ticket)
    assert survey.send_at == T0 + timedelta(minutes=60)
    assert survey.sent_at is None
    assert survey.customer_id == ticket.requester_id
    assert survey.agent_id == agent.pk  # unassigned: the agent who solved it


def test_it_remembers_the_assignee_at_solve_time(ticket, agent, admin):
    ticket.assignee = agent
    ticket.save()
    solve(ticket, admin)

    assert Survey.objects.get(ticket=ticket).agent_id == agent.pk


def test_it_makes_a_survey_due_after_the_customer_confirms(ticket, customer):
    ticket_solve_by_customer(ticket=ticket, customer=customer)
    from frontdesk.csat.services import survey_schedule

    survey_schedule(event_id=ticket.events.filter(kind=EventKind.STATUS).latest("id").pk)

    assert Survey.objects.get(ticket=ticket).send_at == T0 + timedelta(minutes=60)


def test_it_sends_no_survey_after_an_automatic_solve_unless_configured(ticket, admin):
    solve(ticket, "followups")
    assert not Survey.objects.filter(ticket=ticket).exists()

    ticket_set_status(ticket=ticket, actor=admin, status=Status.OPEN)
    csat_settings_update(agent=admin, after_automatic_solve=True)
    solve(ticket, "followups")
    assert Survey.objects.get(ticket=ticket).send_at == T0 + timedelta(minutes=60)


def test_it_sends_no_survey_when_surveys_are_off_or_the_channel_is_excluded(ticket, agent, admin):
    csat_settings_update(agent=admin, enabled=False)
    solve(ticket, agent)
    assert not Survey.objects.filter(ticket=ticket).exists()

    ticket_set_status(ticket=ticket, actor=agent, status=Status.OPEN)
    csat_settings_update(agent=admin, enabled=True, excluded_channels=[ticket.channel])
    solve(ticket, agent)
    assert not Survey.objects.filter(ticket=ticket).exists()


def test_it_waits_the_configured_delay(ticket, agent, admin):
    csat_settings_update(agent=admin, delay_minutes=0)
    solve(ticket, agent)
    assert Survey.objects.get(ticket=ticket).send_at == T0


def test_it_is_claimed_by_the_clock_when_due_and_sent_once(ticket, agent, frozen):
    solve(ticket, agent)
    survey = Survey.objects.get(ticket=ticket)

    assert clock_tick(now=T0 + timedelta(minutes=59)) == 0
    assert clock_tick(now=T0 + timedelta(minutes=60)) == 1
    assert clock_tick(now=T0 + timedelta(minutes=60)) == 0  # claimed: nobody else gets it

    frozen.move_to(T0 + timedelta(minutes=60))
    assert survey_send_if_due(survey_id=survey.pk) == "sent"
    assert survey_send_if_due(survey_id=survey.pk) == "skipped: already sent"
    survey.refresh_from_db()
    assert survey.sent_at == T0 + timedelta(minutes=60) and survey.send_at is None
    [event] = ticket.events.filter(kind=EventKind.SURVEY)
    assert (event.actor_system, event.after) == ("scheduler", {"survey": survey.pk})


def test_it_sends_nothing_when_the_ticket_was_reopened_before_the_survey_was_due(ticket, agent, customer, frozen):
    solve(ticket, agent)
    survey = Survey.objects.get(ticket=ticket)
    frozen.move_to(T0 + timedelta(minutes=10))
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="Not fixed after all")

    frozen.move_to(T0 + timedelta(minutes=60))
    assert clock_tick() == 1
    assert survey_send_if_due(survey_id=survey.pk) == "skipped: not solved"
    assert not ticket.events.filter(kind=EventKind.SURVEY).exists()

    # Solved again: due an hour after this solve, and sent then, once.
    frozen.move_to(T0 + timedelta(hours=3))
    solve(ticket, agent)
    survey.refresh_from_db()
    assert survey.send_at == T0 + timedelta(hours=4)
    frozen.move_to(T0 + timedelta(hours=4))
    assert clock_tick() == 1
    assert survey_send_if_due(survey_id=survey.pk) == "sent"
    assert ticket.events.filter(kind=EventKind.SURVEY).count() == 1


def test_it_waits_for_the_latest_solve_when_claimed_early(ticket, agent, customer, frozen):
    solve(ticket, agent)
    survey = Survey.objects.get(ticket=ticket)
    frozen.move_to(T0 + timedelta(minutes=50))
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="One more thing")
    solve(ticket, agent)  # due again at 10:50

    frozen.move_to(T0 + timedelta(minutes=60))
    assert survey_send_if_due(survey_id=survey.pk) == "skipped: not yet due"
    survey.refresh_from_db()
    assert survey.send_at == T0 + timedelta(minutes=110)


def test_it_never_sends_a_second_survey_after_reopen_and_resolve(ticket, agent, customer, frozen):
    solve(ticket, agent)
    frozen.move_to(T0 + timedelta(minutes=60))
    survey = Survey.objects.get(ticket=ticket)
    assert survey_send_if_due(survey_id=survey.pk) == "sent"

    frozen.move_to(T0 + timedelta(days=1))
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="It broke again")
    solve(ticket, agent)
    survey.refresh_from_db()
    assert survey.send_at is None  # nothing due: one survey email per ticket
    assert ticket.events.filter(kind=EventKind.SURVEY).count() == 1


def test_it_sends_no_email_for_a_ticket_already_rated(ticket, agent, customer, frozen):
    solve(ticket, agent)
    rating_record(ticket=ticket, customer=customer, score="good")  # on the conversation page

    frozen.move_to(T0 + timedelta(minutes=60))
    survey = Survey.objects.get(ticket=ticket)
    assert survey_send_if_due(survey_id=survey.pk) == "skipped: already rated"


def test_it_still_sends_when_the_ticket_was_closed_meanwhile(ticket, agent, frozen):
    solve(ticket, agent)
    ticket_set_status(ticket=ticket, actor=agent, status=Status.CLOSED)

    frozen.move_to(T0 + timedelta(minutes=60))
    assert survey_send_if_due(survey_id=Survey.objects.get(ticket=ticket).pk) == "sent"


def test_it_refuses_settings_changes_by_agents_and_bad_values(agent, admin):
    from frontdesk.core.errors import Forbidden, InvalidInput

    with pytest.raises(Forbidden):
        csat_settings_update(agent=agent, enabled=False)
    with pytest.raises(InvalidInput):
        csat_settings_update(agent=admin, delay_minutes=-1)
    with pytest.raises(InvalidInput):
        csat_settings_update(agent=admin, excluded_channels=["carrier-pigeon"])
