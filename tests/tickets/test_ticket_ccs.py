"""CCs on a ticket: who may change them, the rules they follow, the timeline, and what a CC
may do (write on the ticket, as themself)."""

import pytest

from frontdesk.core.errors import Conflict, Forbidden, InvalidInput
from frontdesk.customers.models import Customer
from frontdesk.customers.services import customer_create, customer_merge
from frontdesk.tickets.models import Status
from frontdesk.tickets.selectors import ticket_ccs
from frontdesk.tickets.services import (
    MAX_CCS,
    ticket_add_ccs,
    ticket_create,
    ticket_receive_customer_message,
    ticket_remove_ccs,
    ticket_reply,
    ticket_set_cc_emails,
    ticket_set_ccs,
    ticket_set_status,
)


@pytest.fixture
def jo(db):
    return customer_create(name="Jo Colleague", emails=["jo@example.org"])


@pytest.fixture
def kim(db):
    return customer_create(name="Kim Boss", emails=["kim@example.org"])


def cc_events(ticket):
    return [(e.before, e.after) for e in ticket.events.filter(kind="ccs")]


def test_it_sets_adds_and_removes_ccs_with_an_event_each(ticket, agent, jo, kim):
    ticket_set_ccs(ticket=ticket, actor=agent, customers=[jo])
    ticket_add_ccs(ticket=ticket, actor=agent, customers=[kim, jo])
    ticket_remove_ccs(ticket=ticket, actor=agent, customers=[jo])

    assert list(ticket.ccs.all()) == [kim]
    assert cc_events(ticket) == [
        ([], ["jo@example.org"]),
        (["jo@example.org"], ["jo@example.org", "kim@example.org"]),
        (["jo@example.org", "kim@example.org"], ["kim@example.org"]),
    ]
    assert ticket.events.filter(kind="ccs").last().actor_agent == agent


def test_it_writes_nothing_when_nothing_changes(ticket, agent, jo):
    ticket_set_ccs(ticket=ticket, actor=agent, customers=[jo])
    ticket_set_ccs(ticket=ticket, actor=agent, customers=[jo, jo])
    ticket_add_ccs(ticket=ticket, actor=agent, customers=[jo])
    ticket_remove_ccs(ticket=ticket, actor=agent, customers=[])

    assert len(cc_events(ticket)) == 1


@pytest.mark.parametrize("who", ["light", "inactive"])
def test_it_refuses_agents_who_cannot_change_tickets(ticket, agent, light, jo, who):
    actor = light
    if who == "inactive":
        agent.is_active = False
        agent.save()
        actor = agent

    with pytest.raises(Forbidden):
        ticket_set_ccs(ticket=ticket, actor=actor, customers=[jo])
    assert not ticket.ccs.exists() and not cc_events(ticket)


def test_it_lets_the_requester_add_ccs_but_no_one_else(ticket, customer, jo, kim):
    ticket_add_ccs(ticket=ticket, actor=customer, customers=[jo])
    with pytest.raises(Forbidden):
        ticket_add_ccs(ticket=ticket, actor=jo, customers=[kim])  # a CC does not invite others

    assert list(ticket.ccs.all()) == [jo]
    assert ticket.events.get(kind="ccs").actor_customer == customer


def test_it_never_makes_the_requester_a_cc(ticket, customer, agent, jo):
    with pytest.raises(InvalidInput) as refused:
        ticket_set_ccs(ticket=ticket, actor=agent, customers=[jo, customer])
    assert refused.value.code == "requester_not_cc"
    with pytest.raises(InvalidInput):
        ticket_create(subject="Hi", requester=customer, body="Hello", ccs=[customer])

    ticket_add_ccs(ticket=ticket, actor=agent, customers=[customer, jo], drop_overflow=True)  # mail: skipped
    assert list(ticket.ccs.all()) == [jo]


def test_it_caps_the_number_of_ccs(ticket, agent):
    people = [customer_create(emails=[f"p{n}@example.org"]) for n in range(MAX_CCS + 1)]

    with pytest.raises(InvalidInput) as refused:
        ticket_set_ccs(ticket=ticket, actor=agent, customers=people)
    assert refused.value.code == "too_many_ccs"
    assert not ticket.ccs.exists()

    ticket_add_ccs(ticket=ticket, actor=agent, customers=people, drop_overflow=True)
    assert ticket.ccs.count() == MAX_CCS


def test_it_refuses_changes_on_a_closed_ticket(ticket, agent, jo):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    ticket_set_status(ticket=ticket, actor=agent, status=Status.CLOSED)

    with pytest.raises(Conflict):
        ticket_add_ccs(ticket=ticket, actor=agent, customers=[jo])


def test_it_opens_a_ticket_with_ccs(customer, jo, support):
    ticket = ticket_create(subject="Router", requester=customer, body="Down again", group=support, ccs=[jo])

    assert list(ticket.ccs.all()) == [jo]
    assert [e.kind for e in ticket.events.all()] == ["created", "ccs", "customer_message"]
    assert cc_events(ticket) == [([], ["jo@example.org"])]


def test_it_names_ccs_by_email_creating_unknown_customers(ticket, agent, jo):
    ticket_set_cc_emails(ticket=ticket, actor=agent, emails=[" JO@example.org", "new@example.org"])

    new = Customer.objects.get(contact_points__value="new@example.org")
    assert set(ticket.ccs.all()) == {jo, new}


def test_it_creates_nobody_when_an_address_is_refused(ticket, agent, customer):
    before = Customer.objects.count()

    with pytest.raises(InvalidInput):
        ticket_set_cc_emails(ticket=ticket, actor=agent, emails=["new@example.org", "not an address"])
    with pytest.raises(InvalidInput):  # the requester's own address
        ticket_set_cc_emails(ticket=ticket, actor=agent, emails=["other@example.org", "maria@example.net"])

    assert Customer.objects.count() == before and not ticket.ccs.exists()


def test_it_lets_a_cc_write_as_themself_and_reopens(ticket, agent, jo):
    ticket_set_ccs(ticket=ticket, actor=agent, customers=[jo])
    ticket_reply(ticket=ticket, author=agent, body="Could you check?", status=Status.PENDING)

    message = ticket_receive_customer_message(ticket=ticket, customer=jo, body="Checked, still broken.")

    ticket.refresh_from_db()
    assert message.ticket_id == ticket.pk and message.author_customer == jo
    assert ticket.status == Status.OPEN
    assert ticket.events.filter(kind="status").last().actor_customer == jo


def test_it_still_refuses_someone_who_is_neither_requester_nor_cc(ticket, agent, jo, kim):
    ticket_set_ccs(ticket=ticket, actor=agent, customers=[jo])

    with pytest.raises(Forbidden):
        ticket_receive_customer_message(ticket=ticket, customer=kim, body="show me")


def test_a_cc_writing_to_a_closed_ticket_opens_a_follow_up_with_the_others_copied(ticket, agent, customer, jo, kim):
    ticket_set_ccs(ticket=ticket, actor=agent, customers=[jo, kim])
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    ticket_set_status(ticket=ticket, actor=agent, status=Status.CLOSED)

    message = ticket_receive_customer_message(ticket=ticket, customer=jo, body="It's back")

    follow_up = message.ticket
    assert follow_up.follow_up_of_id == ticket.pk and follow_up.requester == jo
    assert set(follow_up.ccs.all()) == {customer, kim}


def test_readers_ignore_a_cc_link_merged_into_the_requester(ticket, agent, customer, jo):
    ticket_set_ccs(ticket=ticket, actor=agent, customers=[jo])

    customer_merge(source=jo, target=customer)  # Jo was Maria all along

    assert ticket_ccs(ticket=ticket) == []
    ticket_set_ccs(ticket=ticket, actor=agent, customers=[])  # and the list can still be changed
