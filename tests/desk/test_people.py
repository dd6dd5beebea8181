"""The per-process copy of groups and agents behind the ticket page's side panel and the
inbox's filter (desk/people.py): every change shows on the next page."""

from __future__ import annotations

from django.core.cache import cache

from frontdesk.accounts.models import Group
from frontdesk.accounts.services import agent_create
from frontdesk.desk.people import VERSION_KEY, people
from tests.desk.conftest import client_for


def ticket_page(agent, ticket) -> str:
    return client_for(agent).get(f"/desk/tickets/{ticket.reference}/").content.decode()


def test_it_lists_an_agent_created_after_the_page_was_shown(ticket, agent):
    assert "Nina New" not in ticket_page(agent, ticket)

    agent_create(email="nina@example.com", name="Nina New", group_names=["Support"])

    assert "Nina New" in ticket_page(agent, ticket)
    assert "Nina New" in client_for(agent).get("/desk/views/all-open/").content.decode()


def test_it_follows_renames_memberships_and_deactivations(ticket, agent, tier2):
    other = agent_create(email="omar@example.com", name="Omar Other", group_names=["Tier 2"])
    page = ticket_page(agent, ticket)
    assert "Omar Other (not in Support)" in page and "Tier 2 (tier 2)" in page

    other.groups.add(ticket.group)  # an m2m change, not a save
    assert "Omar Other (not in Support)" not in ticket_page(agent, ticket)

    tier2.name = "Escalations"
    tier2.save()
    assert "Escalations (tier 2)" in ticket_page(agent, ticket)

    other.is_active = False
    other.save()
    assert "Omar Other" not in ticket_page(agent, ticket)


def test_it_reloads_when_the_stamp_is_gone(db, support):
    first = people()
    assert people() is first  # same stamp: the held copy, no query

    Group.objects.bulk_create([Group(name="Late group", tier=1)])  # sends no signal
    assert people() is first
    cache.delete(VERSION_KEY)  # the cache was cleared or culled: the copy may be stale
    assert any(name == "Late group" for _, name, _ in people().groups)


def test_it_costs_no_query_while_the_stamp_holds(db, support, django_assert_num_queries):
    people()
    with django_assert_num_queries(0):
        people()
