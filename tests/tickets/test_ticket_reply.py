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
