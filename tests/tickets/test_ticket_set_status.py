from datetime import timedelta

import pytest
from django.utils import timezone

from frontdesk.tickets.lifecycle import TRANSITIONS, InvalidTransition
from frontdesk.tickets.models import Status
from frontdesk.tickets.services import ticket_set_status

ALL_PAIRS = [(a, b) for a in Status.values for b in Status.values if a != b]


def _force(ticket, status):
    ticket.__class__.objects.filter(pk=ticket.pk).update(status=status)
    ticket.refresh_from_db()


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_it_enforces_the_transition_table(ticket, agent, current, target):
    _force(ticket, current)
    if target in TRANSITIONS[current]:
        ticket_set_status(ticket=ticket, actor=agent, status=target)
        ticket.refresh_from_db()
        assert ticket.status == target
    else:
        with pytest.raises(InvalidTransition):
            ticket_set_status(ticket=ticket, actor=agent, status=target)
        ticket.refresh_from_db()
        assert ticket.status == current
        assert not ticket.events.filter(kind="status").exists()


def test_it_records_who_changed_what(ticket, agent):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)

    event = ticket.events.get(kind="status")
    assert (event.actor_agent, event.before, event.after) == (agent, "new", "solved")


def test_it_schedules_the_auto_close_when_solved_and_cancels_it_on_reopen(ticket, agent, settings):
    settings.FRONTDESK_CLOSE_SOLVED_AFTER_HOURS = 48
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    ticket.refresh_from_db()
    assert ticket.auto_close_at - ticket.solved_at == timedelta(hours=48)
    assert ticket.solved_at <= timezone.now()

    ticket_set_status(ticket=ticket, actor=agent, status=Status.OPEN)
    ticket.refresh_from_db()
    assert ticket.auto_close_at is None and ticket.solved_at is None


def test_it_does_nothing_when_the_status_is_unchanged(ticket, agent):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.NEW)

    assert not ticket.events.filter(kind="status").exists()
