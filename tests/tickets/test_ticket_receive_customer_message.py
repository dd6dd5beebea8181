import pytest

from frontdesk.core.errors import Forbidden
from frontdesk.customers.services import customer_create
from frontdesk.tickets.models import Status, Ticket
from frontdesk.tickets.services import (
    ticket_merge,
    ticket_receive_customer_message,
    ticket_reply,
    ticket_set_status,
)


@pytest.mark.parametrize("waiting_status", [Status.PENDING, Status.SOLVED])
def test_it_reopens_a_ticket_waiting_on_the_customer(ticket, agent, customer, waiting_status):
    ticket_reply(ticket=ticket, author=agent, body="Done?", status=waiting_status)

    ticket_receive_customer_message(ticket=ticket, customer=customer, body="Not yet, still broken")

    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    reopen = ticket.events.filter(kind="status").last()
    assert (reopen.before, reopen.after, reopen.actor_customer) == (waiting_status, "open", customer)


def test_it_keeps_an_on_hold_ticket_on_hold(ticket, agent, customer):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.ON_HOLD)

    ticket_receive_customer_message(ticket=ticket, customer=customer, body="Any news?")

    ticket.refresh_from_db()
    assert ticket.status == Status.ON_HOLD


def test_it_refuses_a_sender_who_is_not_the_requester(ticket):
    stranger = customer_create(name="Eve", emails=["eve@example.org"])

    with pytest.raises(Forbidden):
        ticket_receive_customer_message(ticket=ticket, customer=stranger, body="show me")
    assert ticket.messages.count() == 1


def test_it_opens_a_linked_follow_up_when_the_ticket_is_closed(ticket, agent, customer):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    ticket_set_status(ticket=ticket, actor=agent, status=Status.CLOSED)

    message = ticket_receive_customer_message(ticket=ticket, customer=customer, body="It's back")

    follow_up = message.ticket
    assert follow_up.pk != ticket.pk and follow_up.follow_up_of_id == ticket.pk
    assert follow_up.status == Status.NEW and follow_up.group_id == ticket.group_id
    assert ticket.events.filter(kind="follow_up", after__reference=follow_up.reference).exists()


def test_it_follows_the_merge_pointer(ticket, agent, customer, support):
    from frontdesk.tickets.services import ticket_create

    target = ticket_create(subject="Same issue", requester=customer, body="again", group=support)
    ticket_merge(source=ticket, target=target, actor=agent)

    message = ticket_receive_customer_message(ticket=Ticket.objects.get(pk=ticket.pk), customer=customer, body="+1")

    assert message.ticket_id == target.pk
