"""Bulk actions from the inbox: each ticket through the ticket services, permission-checked,
failures reported per ticket while the others succeed."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from frontdesk.tickets.models import EventKind, Ticket
from frontdesk.tickets.services import ticket_create, ticket_set_status


@pytest.fixture
def tickets(customer, support):
    return [
        ticket_create(subject=f"Ticket {number}", requester=customer, body="Hi.", group=support)
        for number in range(3)
    ]


def bulk(client, action, refs, **data):
    """Post, then follow the redirect back to the list (which shows, and so consumes, the
    result messages)."""
    return client.post(
        "/desk/bulk/", {"action": action, "t": refs, "return_to": "/desk/views/unassigned/", **data}, follow=True
    )


def notes(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def landed(response) -> str:
    return response.redirect_chain[-1][0]


def test_it_assigns_the_selected_tickets(client, agent, tickets):
    client.force_login(agent)
    refs = [tickets[0].reference, tickets[1].reference.lower()]
    response = bulk(client, "assign", refs, assignee=str(agent.pk))
    assert landed(response) == "/desk/views/unassigned/"
    assert [t.assignee_id for t in Ticket.objects.order_by("id")] == [agent.pk, agent.pk, None]
    assert notes(response) == [f"2 tickets updated: {tickets[0].reference}, {tickets[1].reference}."]
    assert Ticket.objects.get(pk=tickets[0].pk).events.filter(kind=EventKind.ASSIGNEE, actor_agent=agent).exists()


def test_it_unassigns(client, agent, tickets):
    client.force_login(agent)
    bulk(client, "assign", [tickets[0].reference], assignee=str(agent.pk))
    bulk(client, "assign", [tickets[0].reference], assignee="none")
    assert Ticket.objects.get(pk=tickets[0].pk).assignee is None


def test_it_reports_a_failing_ticket_and_changes_the_others(client, agent, tickets):
    closed = tickets[2]
    ticket_set_status(ticket=closed, actor=agent, status="solved")
    ticket_set_status(ticket=Ticket.objects.get(pk=closed.pk), actor=agent, status="closed")
    client.force_login(agent)
    response = bulk(client, "status", [t.reference for t in tickets], status="pending")
    statuses = dict(Ticket.objects.values_list("reference", "status"))
    assert statuses[tickets[0].reference] == statuses[tickets[1].reference] == "pending"
    assert statuses[closed.reference] == "closed"
    messages = notes(response)
    assert messages[0].startswith("2 tickets updated")
    assert messages[1].startswith(f"{closed.reference}: A closed ticket cannot become pending")


def test_it_adds_a_tag(client, agent, tickets):
    client.force_login(agent)
    bulk(client, "tag", [tickets[0].reference, tickets[1].reference], tag="Refund")
    assert list(Ticket.objects.get(pk=tickets[0].pk).tags.values_list("name", flat=True)) == ["refund"]
    assert not Ticket.objects.get(pk=tickets[2].pk).tags.exists()


def test_it_merges_the_selected_tickets_into_a_target(client, agent, tickets):
    client.force_login(agent)
    target = tickets[0]
    response = bulk(client, "merge", [t.reference for t in tickets], target=target.reference.lower())
    merged = Ticket.objects.filter(merged_into=target)
    assert set(merged.values_list("pk", flat=True)) == {tickets[1].pk, tickets[2].pk}
    assert notes(response) == [f"2 tickets updated: {tickets[1].reference}, {tickets[2].reference}."]


def test_it_treats_tickets_hidden_from_the_agent_as_missing(client, outsider, tickets):
    client.force_login(outsider)
    response = bulk(client, "assign", [tickets[0].reference, "NOSUCH22"], assignee=str(outsider.pk))
    assert notes(response) == [f"{tickets[0].reference}: No such ticket.", "NOSUCH22: No such ticket."]
    assert Ticket.objects.get(pk=tickets[0].pk).assignee is None


def test_it_refuses_to_merge_into_a_hidden_ticket(client, outsider, billing, customer, tickets):
    mine = ticket_create(subject="Billing one", requester=customer, body="Hi.", group=billing)
    client.force_login(outsider)
    response = bulk(client, "merge", [mine.reference], target=tickets[0].reference)
    assert notes(response) == ["No such ticket."]
    assert Ticket.objects.get(pk=mine.pk).merged_into is None


def test_it_refuses_light_agents(client, light, tickets):
    client.force_login(light)
    response = bulk(client, "status", [tickets[0].reference], status="pending")
    assert notes(response) == ["Light agents can read and add internal notes only."]
    assert Ticket.objects.get(pk=tickets[0].pk).status == "new"


def test_it_reports_an_assignee_outside_the_tickets_group(client, agent, admin, tickets):
    client.force_login(agent)
    response = bulk(client, "assign", [tickets[0].reference], assignee=str(admin.pk))
    assert notes(response) == [f"{tickets[0].reference}: Ada Admin is not a member of group Support."]


def test_it_asks_for_a_selection_and_the_actions_arguments(client, agent, tickets):
    client.force_login(agent)
    assert notes(bulk(client, "status", [], status="open")) == ["Select at least one ticket."]
    assert notes(bulk(client, "status", [tickets[0].reference])) == ["Choose a status."]
    assert notes(bulk(client, "assign", [tickets[0].reference])) == ["Choose whom to assign the tickets to."]
    assert notes(bulk(client, "explode", [tickets[0].reference])) == ["Unknown action 'explode'."]


def test_it_ignores_an_off_site_return_address(client, agent, tickets):
    client.force_login(agent)
    response = client.post("/desk/bulk/", {
        "action": "tag", "t": [tickets[0].reference], "tag": "x", "return_to": "https://evil.example/",
    })
    assert response["Location"] == "/desk/"
    assert get_messages(response.wsgi_request)


def test_it_needs_csrf(agent, tickets):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    assert client.post("/desk/bulk/", {"action": "tag", "t": [tickets[0].reference], "tag": "x"}).status_code == 403


def test_it_refreshes_the_agents_counts_after_a_bulk_action(client, agent, tickets):
    client.force_login(agent)
    before = {row["slug"]: row["count_label"] for row in client.get("/desk/").context["view_list"]}
    bulk(client, "assign", [tickets[0].reference], assignee=str(agent.pk))
    after = {row["slug"]: row["count_label"] for row in client.get("/desk/").context["view_list"]}
    assert (before["unassigned"], after["unassigned"]) == ("3", "2")
    assert (before["mine"], after["mine"]) == ("0", "1")


def test_it_answers_htmx_with_the_refreshed_list(client, agent, tickets):
    client.force_login(agent)
    response = client.post("/desk/bulk/", {
        "action": "assign", "t": [tickets[0].reference], "assignee": str(agent.pk),
        "return_to": "/desk/views/unassigned/",
    }, headers={"HX-Request": "true"}, follow=True)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="inbox-main"' in body and 'id="inbox-views"' in body
    assert "1 ticket updated" in body
    assert f'data-reference="{tickets[0].reference}"' not in body
    assert f'data-reference="{tickets[1].reference}"' in body
