import pytest

from frontdesk.core.errors import Forbidden, NotFound
from frontdesk.tickets.selectors import ticket_get_for_agent, tickets_visible_to
from frontdesk.tickets.services import ticket_assign, ticket_create


def test_it_shows_agents_only_their_groups_and_unrouted_tickets(ticket, customer, agent, outsider, admin):
    unrouted = ticket_create(subject="Triage me", requester=customer, body="?")

    assert set(tickets_visible_to(agent=agent)) == {ticket, unrouted}
    assert set(tickets_visible_to(agent=outsider)) == {unrouted}
    assert set(tickets_visible_to(agent=admin)) == {ticket, unrouted}


def test_it_answers_not_found_for_a_hidden_ticket_exactly_like_a_missing_one(ticket, outsider):
    with pytest.raises(NotFound) as hidden:
        ticket_get_for_agent(agent=outsider, reference=ticket.reference)
    with pytest.raises(NotFound) as missing:
        ticket_get_for_agent(agent=outsider, reference="ZZZZZZZZ")
    assert str(hidden.value) == str(missing.value)


def test_it_shows_a_ticket_assigned_to_an_agent_outside_its_group(ticket, outsider, admin, billing):
    ticket_assign(ticket=ticket, actor=admin, group=billing, assignee=outsider)

    assert ticket_get_for_agent(agent=outsider, reference=ticket.reference) == ticket


def test_it_lets_light_agents_read_but_not_write(ticket, light):
    assert ticket_get_for_agent(agent=light, reference=ticket.reference.lower()) == ticket
    with pytest.raises(Forbidden):
        ticket_get_for_agent(agent=light, reference=ticket.reference, write=True)


def test_it_hides_everything_from_deactivated_agents(ticket, agent):
    agent.is_active = False
    agent.save()

    assert not tickets_visible_to(agent=agent).exists()


def test_it_lists_a_customers_visible_tickets_unresolved_first(ticket, customer, agent, outsider, billing):
    from frontdesk.tickets.selectors import tickets_of_customer
    from frontdesk.tickets.services import ticket_set_status

    solved = ticket_create(subject="Old question", requester=customer, body="?", group=ticket.group)
    ticket_set_status(ticket=solved, actor=agent, status="solved")
    hidden = ticket_create(subject="Billing only", requester=customer, body="?", group=billing)
    newer_open = ticket_create(subject="Another", requester=customer, body="?", group=ticket.group)

    assert tickets_of_customer(agent=agent, requester_id=customer.pk) == [newer_open, ticket, solved]
    assert tickets_of_customer(agent=agent, requester_id=customer.pk, exclude_id=ticket.pk) == [newer_open, solved]
    assert tickets_of_customer(agent=outsider, requester_id=customer.pk) == [hidden]


@pytest.mark.parametrize("scan", [100, 2])  # newest first sorted in Python; past the scan, the CASE query
def test_it_lists_briefs_in_the_order_of_tickets_of_customer(ticket, customer, agent, outsider, billing,
                                                             monkeypatch, scan):
    from frontdesk.tickets import selectors
    from frontdesk.tickets.services import ticket_set_status

    monkeypatch.setattr(selectors, "BRIEFS_SCAN", scan)
    solved = ticket_create(subject="Old question", requester=customer, body="?", group=ticket.group)
    ticket_set_status(ticket=solved, actor=agent, status="solved")
    ticket_create(subject="Billing only", requester=customer, body="?", group=billing)
    newer_open = ticket_create(subject="Another", requester=customer, body="?", group=ticket.group)
    newest_solved = ticket_create(subject="Quick one", requester=customer, body="?", group=ticket.group)
    ticket_set_status(ticket=newest_solved, actor=agent, status="solved")

    def refs(**kwargs) -> list[str]:
        return [row["reference"] for row in selectors.ticket_briefs_of_customer(requester_id=customer.pk, **kwargs)]

    expected = [t.reference for t in selectors.tickets_of_customer(agent=agent, requester_id=customer.pk)]
    assert refs(agent=agent) == expected == [t.reference for t in (newer_open, ticket, newest_solved, solved)]
    assert refs(agent=agent, exclude_id=ticket.pk, limit=2) == [newer_open.reference, newest_solved.reference]
    assert refs(agent=outsider) == [t.reference for t in selectors.tickets_of_customer(
        agent=outsider, requester_id=customer.pk)]


def test_it_returns_only_messages_after_a_given_one(ticket, customer):
    from frontdesk.tickets.selectors import ticket_messages
    from frontdesk.tickets.services import ticket_receive_customer_message

    first = ticket.messages.get()
    second = ticket_receive_customer_message(ticket=ticket, customer=customer, body="More")

    assert list(ticket_messages(ticket=ticket, after_id=first.pk)) == [second]
