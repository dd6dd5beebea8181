"""Agent follow-ups (the tickle file) and scheduled sends, through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest

from frontdesk.core.errors import Forbidden, InvalidInput
from frontdesk.followups.models import FollowUp, FollowUpKind, FollowUpState
from frontdesk.followups.services import (
    followup_after_bad_rating,
    followup_cancel,
    followup_create,
    followup_mark_done,
    followup_reschedule,
)
from frontdesk.notifications.models import Notification
from frontdesk.tickets.models import EventKind, Message, Status
from frontdesk.tickets.services import ticket_receive_customer_message
from frontdesk.tickets.timeline import record_event

from .conftest import MONDAY, settle

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_refuses_a_due_time_in_the_past_with_a_clear_message(clock, ticket, agent):
    with pytest.raises(InvalidInput) as refused:
        followup_create(ticket=ticket, created_by=agent, due_at=MONDAY - timedelta(minutes=1), note="Call back")
    assert refused.value.code == "due_in_past"
    assert "in the past" in refused.value.detail
    assert not FollowUp.objects.exists()


def test_it_notifies_the_owner_once_when_a_reminder_is_due(clock, ticket, agent, admin):
    follow_up = followup_create(ticket=ticket, created_by=admin, owner=agent, due_at=MONDAY + timedelta(days=4),
                                note="Check the depot received the tablet")
    settle()
    assert not Notification.objects.exists()  # not yet

    clock.move_to(MONDAY + timedelta(days=4, minutes=1))
    settle()
    settle()
    follow_up.refresh_from_db()
    assert follow_up.state == FollowUpState.DUE
    [note] = Notification.objects.all()
    assert note.agent == agent and "Check the depot" in note.text and note.key == f"followup:{follow_up.pk}"
    actions = [e.after["action"] for e in ticket.events.filter(kind=EventKind.AGENT_FOLLOW_UP)]
    assert actions == ["scheduled", "due"]

    followup_mark_done(follow_up=follow_up, agent=agent)
    follow_up.refresh_from_db()
    assert follow_up.state == FollowUpState.DONE


def test_it_sends_a_scheduled_reply_once_as_the_owner(clock, ticket, agent):
    follow_up = followup_create(ticket=ticket, created_by=agent, due_at=MONDAY + timedelta(hours=2),
                                kind=FollowUpKind.SCHEDULED_SEND, body="Your refund went out today.")
    assert follow_up.cancel_if_customer_writes  # on by default for sends
    clock.move_to(MONDAY + timedelta(hours=3))
    settle()
    settle()
    follow_up.refresh_from_db()
    [reply] = Message.objects.filter(ticket=ticket, author_agent=agent)
    assert (follow_up.state, follow_up.message) == (FollowUpState.SENT, reply)
    assert reply.body_text == "Your refund went out today."
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN  # a reply opens a new ticket, as the agent's own would


def test_it_cancels_a_scheduled_send_when_the_customer_writes_first(clock, ticket, agent, customer):
    follow_up = followup_create(ticket=ticket, created_by=agent, due_at=MONDAY + timedelta(days=1),
                                kind=FollowUpKind.SCHEDULED_SEND, body="Any news?")
    clock.move_to(MONDAY + timedelta(hours=5))
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="Here are the details you asked for.")
    settle()
    follow_up.refresh_from_db()
    assert follow_up.state == FollowUpState.CANCELLED
    assert "customer wrote first" in follow_up.cancel_reason
    clock.move_to(MONDAY + timedelta(days=2))
    settle()
    assert not Message.objects.filter(ticket=ticket, author_agent=agent).exists()
    assert Notification.objects.get(agent=agent).text.startswith("Scheduled reply")


def test_it_cancels_at_send_time_when_the_customer_wrote_and_no_task_saw_it(clock, ticket, agent, customer):
    """The send re-checks under the ticket's lock, whatever order tasks ran in."""
    follow_up = followup_create(ticket=ticket, created_by=agent, due_at=MONDAY + timedelta(hours=1),
                                kind=FollowUpKind.SCHEDULED_SEND, body="Any news?")
    clock.move_to(MONDAY + timedelta(minutes=30))
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="News!")
    from frontdesk.followups.services import followup_fire

    clock.move_to(MONDAY + timedelta(hours=2))
    assert followup_fire(follow_up_id=follow_up.pk) == "cancelled: the customer wrote first"
    assert followup_fire(follow_up_id=follow_up.pk) == "skipped: cancelled"


def test_it_keeps_a_scheduled_send_when_told_to_ignore_customer_messages(clock, ticket, agent, customer):
    follow_up = followup_create(ticket=ticket, created_by=agent, due_at=MONDAY + timedelta(hours=1),
                                kind=FollowUpKind.SCHEDULED_SEND, body="Reminder: maintenance tonight.",
                                cancel_if_customer_writes=False)
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="ok")
    clock.move_to(MONDAY + timedelta(hours=2))
    settle()
    follow_up.refresh_from_db()
    assert follow_up.state == FollowUpState.SENT


def test_it_lets_only_owner_creator_or_admin_change_a_follow_up(clock, ticket, agent, admin, support):
    from frontdesk.accounts.services import agent_create

    colleague = agent_create(email="kim@example.com", name="Kim", group_names=["Support"])
    follow_up = followup_create(ticket=ticket, created_by=agent, due_at=MONDAY + timedelta(days=1), note="x")
    with pytest.raises(Forbidden):
        followup_cancel(follow_up=follow_up, agent=colleague)
    followup_reschedule(follow_up=follow_up, agent=admin, due_at=MONDAY + timedelta(days=3))
    follow_up.refresh_from_db()
    assert follow_up.due_at == follow_up.fire_at == MONDAY + timedelta(days=3)
    with pytest.raises(InvalidInput):
        followup_reschedule(follow_up=follow_up, agent=agent, due_at=MONDAY - timedelta(days=1))
    followup_cancel(follow_up=follow_up, agent=agent)
    follow_up.refresh_from_db()
    assert follow_up.state == FollowUpState.CANCELLED


def test_it_refuses_an_owner_who_cannot_see_the_ticket(clock, ticket, agent, outsider):
    with pytest.raises(InvalidInput) as refused:
        followup_create(ticket=ticket, created_by=agent, owner=outsider, due_at=MONDAY + timedelta(days=1), note="x")
    assert refused.value.code == "invalid_owner"


def test_it_creates_one_follow_up_for_the_group_lead_after_a_bad_rating(clock, ticket, agent, admin, support):
    support.lead = admin
    support.save()
    event = record_event(ticket=ticket, kind="satisfaction", actor=ticket.requester,
                         after={"rating": "bad", "comment": "Nobody answered for days"})
    first = followup_after_bad_rating(event_id=event.pk)
    assert followup_after_bad_rating(event_id=event.pk) is None  # once per event
    assert (first.owner, first.due_at) == (admin, MONDAY)
    assert "Nobody answered for days" in first.note
    settle()
    first.refresh_from_db()
    assert first.state == FollowUpState.DUE
    assert Notification.objects.get(agent=admin).key == f"followup:{first.pk}"


def test_it_falls_back_to_the_assignee_and_ignores_good_ratings(clock, ticket, agent):
    from frontdesk.tickets.services import ticket_assign

    good = record_event(ticket=ticket, kind="satisfaction", actor=ticket.requester, after={"rating": "good"})
    assert followup_after_bad_rating(event_id=good.pk) is None
    bad = record_event(ticket=ticket, kind="satisfaction", actor=ticket.requester, after={"rating": "bad"})
    assert followup_after_bad_rating(event_id=bad.pk) is None  # no lead, no assignee: logged
    ticket_assign(ticket=ticket, actor=agent, assignee=agent)
    bad2 = record_event(ticket=ticket, kind="satisfaction", actor=ticket.requester, after={"rating": "bad"})
    assert followup_after_bad_rating(event_id=bad2.pk).owner == agent
