import pytest

from frontdesk.core.errors import InvalidInput
from frontdesk.tickets.services import ticket_assign


def test_it_assigns_an_agent_of_the_group(ticket, agent, admin):
    ticket_assign(ticket=ticket, actor=admin, assignee=agent)

    ticket.refresh_from_db()
    assert ticket.assignee == agent
    event = ticket.events.get(kind="assignee")
    assert (event.before, event.after, event.actor_agent) == (None, agent.email, admin)


def test_it_refuses_an_assignee_outside_the_group(ticket, outsider, admin):
    with pytest.raises(InvalidInput, match="not a member"):
        ticket_assign(ticket=ticket, actor=admin, assignee=outsider)


def test_it_refuses_light_agents_as_assignees(ticket, light, admin):
    with pytest.raises(InvalidInput):
        ticket_assign(ticket=ticket, actor=admin, assignee=light)


def test_it_escalates_to_another_group_and_drops_an_assignee_who_is_not_in_it(ticket, agent, tier2):
    ticket_assign(ticket=ticket, actor=agent, assignee=agent)

    ticket_assign(ticket=ticket, actor=agent, group=tier2)

    ticket.refresh_from_db()
    assert ticket.group == tier2 and ticket.assignee is None
    kinds = list(ticket.events.values_list("kind", "before", "after"))[-2:]
    assert kinds == [("group", "Support", "Tier 2"), ("assignee", agent.email, None)]


def test_it_clears_with_none_and_keeps_what_is_omitted(ticket, agent):
    ticket_assign(ticket=ticket, actor=agent, assignee=agent)
    ticket_assign(ticket=ticket, actor=agent, assignee=None)

    ticket.refresh_from_db()
    assert ticket.assignee is None and ticket.group is not None
