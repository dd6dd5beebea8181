import pytest

from frontdesk.core.errors import Conflict, Forbidden
from frontdesk.tickets.models import Status, TicketEvent
from frontdesk.tickets.services import ticket_reply, ticket_set_status


def test_it_opens_a_new_ticket_on_the_first_reply(ticket, agent):
    message = ticket_reply(ticket=ticket, author=agent, body="Refund on its way.")

    ticket.refresh_from_db()
    assert message.is_public and message.author_agent == agent
    assert ticket.status == Status.OPEN
    assert ticket.last_agent_reply_at == message.created_at


def test_it_sends_and_sets_status_in_one_step(ticket, agent):
    ticket_reply(ticket=ticket, author=agent, body="Can you send a screenshot?", status=Status.PENDING)

    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING
    statuses = TicketEvent.objects.filter(ticket=ticket, kind="status").values_list("after", flat=True)
    assert list(statuses) == [Status.PENDING]


def test_it_refuses_light_agents(ticket, light):
    with pytest.raises(Forbidden):
        ticket_reply(ticket=ticket, author=light, body="hi")
    assert ticket.messages.count() == 1


def test_it_refuses_replies_on_closed_tickets(ticket, agent):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    ticket_set_status(ticket=ticket, actor=agent, status=Status.CLOSED)

    with pytest.raises(Conflict):
        ticket_reply(ticket=ticket, author=agent, body="late")


def test_it_refuses_a_reply_when_the_customer_wrote_after_the_last_message_seen(ticket, agent, customer):
    from frontdesk.tickets.services import UnseenCustomerMessage, ticket_add_note, ticket_receive_customer_message

    seen = ticket.messages.get().pk
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="Also, the invoice is wrong.")

    with pytest.raises(UnseenCustomerMessage):
        ticket_reply(ticket=ticket, author=agent, body="Refund on its way.", seen_message_id=seen)
    assert ticket.messages.count() == 2

    newest = ticket.messages.order_by("-id").first().pk
    ticket_add_note(ticket=ticket, author=agent, body="Colleagues' notes do not block a reply.")
    ticket_reply(ticket=ticket, author=agent, body="Refund on its way.", seen_message_id=newest)
    assert ticket.messages.count() == 4
