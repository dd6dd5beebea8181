"""The inbox at /desk/: built-in views, filters, sorts, pages, counts, saved views."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontdesk.customers.services import customer_create, organization_create
from frontdesk.desk import selectors
from frontdesk.desk.models import SavedView
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.services import ticket_assign, ticket_create, ticket_set_status


@pytest.fixture
def desk(client, agent):
    client.force_login(agent)
    return client


def make(subject, requester, *, group=None, assignee=None, status=None, actor=None, **fields) -> Ticket:
    ticket = ticket_create(subject=subject, requester=requester, body="Hello.", group=group, **fields)
    if assignee is not None:
        ticket = ticket_assign(ticket=ticket, actor=actor or assignee, assignee=assignee)
    if status is not None:
        ticket = ticket_set_status(ticket=ticket, actor=actor or assignee, status=status)
    return ticket


def subjects(response) -> list[str]:
    return [ticket.subject for ticket in response.context["tickets"]]


def counts(response) -> dict[str, str]:
    return {row["slug"]: row["count_label"] for row in response.context["view_list"]}


@pytest.fixture
def board(agent, admin, support, billing, customer):
    """Tickets in every built-in view, plus a Billing ticket the Support agent must not see."""
    return {
        "mine": make("Mine open", customer, group=support, assignee=agent, status="open"),
        "mine_pending": make("Mine pending", customer, group=support, assignee=agent, status="pending"),
        "unassigned": make("Nobody has it", customer, group=support),
        "triage": make("Not routed yet", customer),
        "hold": make("Waiting on supplier", customer, group=support, assignee=agent, status="on_hold"),
        "solved": make("All done", customer, group=support, assignee=agent, status="solved"),
        "billing": make("Billing secret", customer, group=billing, actor=admin),
    }


@pytest.mark.parametrize(("path", "expected"), [
    ("/desk/", {"Mine open", "Mine pending", "Waiting on supplier"}),
    ("/desk/views/mine/", {"Mine open", "Mine pending", "Waiting on supplier"}),
    ("/desk/views/unassigned/", {"Nobody has it", "Not routed yet"}),
    ("/desk/views/my-groups/", {"Mine open", "Mine pending", "Nobody has it", "Waiting on supplier"}),
    ("/desk/views/all-open/", {"Mine open", "Nobody has it", "Not routed yet"}),
    ("/desk/views/pending/", {"Mine pending"}),
    ("/desk/views/on-hold/", {"Waiting on supplier"}),
    ("/desk/views/solved/", {"All done"}),
])
def test_it_shows_each_built_in_view(desk, board, path, expected):
    response = desk.get(path)
    assert response.status_code == 200
    assert set(subjects(response)) == expected


def test_it_counts_each_view(desk, board):
    assert counts(desk.get("/desk/")) == {
        "mine": "3", "unassigned": "2", "my-groups": "4", "all-open": "3", "pending": "1",
        "on-hold": "1", "solved": "1", "snoozed": "0",
    }


def test_it_hides_other_groups_tickets_from_lists_and_counts(client, outsider, board):
    client.force_login(outsider)
    # Billing only: sees its own Billing ticket and the unrouted triage ticket, nothing of Support.
    response = client.get("/desk/views/all-open/")
    assert set(subjects(response)) == {"Billing secret", "Not routed yet"}
    assert counts(response)["my-groups"] == "1"
    for path in ["/desk/views/mine/", "/desk/views/pending/", "/desk/views/on-hold/", "/desk/views/solved/"]:
        assert subjects(client.get(path)) == []
    response = client.get(f"/desk/views/all-open/?f=1&group={board['mine'].group_id}")
    assert subjects(response) == []
    assert b"Mine open" not in response.content


def test_it_shows_an_admin_everything(client, admin, board):
    client.force_login(admin)
    assert len(subjects(client.get("/desk/views/all-open/?f=1"))) == 7


def test_it_caps_counts_and_shows_more_than(desk, board, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    response = desk.get("/desk/")
    assert counts(response)["my-groups"] == "2+"
    assert counts(response)["pending"] == "1"


def test_it_caches_counts_for_a_while(desk, board, customer, support):
    assert counts(desk.get("/desk/"))["unassigned"] == "2"
    make("Another one", customer, group=support)
    assert counts(desk.get("/desk/"))["unassigned"] == "2"  # cached for COUNT_SECONDS
    cache.clear()
    assert counts(desk.get("/desk/"))["unassigned"] == "3"


def test_it_returns_404_for_an_unknown_view(desk):
    assert desk.get("/desk/views/nope/").status_code == 404


def test_it_filters_by_status_priority_channel_and_tag(desk, customer, support):
    make("Urgent email", customer, group=support, priority="urgent", channel="email", tags=["vip"])
    make("Low web", customer, group=support, priority="low", channel="web")
    base = "/desk/views/all-open/?f=1"
    assert subjects(desk.get(base + "&priority=urgent")) == ["Urgent email"]
    assert subjects(desk.get(base + "&priority=low&priority=urgent&channel=web")) == ["Low web"]
    assert subjects(desk.get(base + "&tag=VIP")) == ["Urgent email"]
    assert subjects(desk.get(base + "&status=solved")) == []
    assert set(subjects(desk.get(base + "&status=new"))) == {"Urgent email", "Low web"}


def test_it_filters_by_group_and_assignee(desk, agent, admin, support, tier2, customer):
    admin.groups.add(tier2)
    make("Escalated", customer, group=tier2, assignee=admin)
    make("Sam's", customer, group=support, assignee=agent, status="open")
    make("Open pool", customer, group=support)
    base = "/desk/views/all-open/?f=1"
    assert subjects(desk.get(base + f"&group={support.pk}&assignee=none")) == ["Open pool"]
    assert subjects(desk.get(base + "&assignee=me")) == ["Sam's"]
    assert subjects(desk.get(base + f"&assignee={admin.pk}")) == []  # Tier 2's ticket: not Sam's to see
    assert set(subjects(desk.get(base + "&group=mine"))) == {"Sam's", "Open pool"}


def test_it_filters_by_customer_and_organization(desk, customer, support):
    acme = organization_create(name="Acme")
    other = customer_create(name="Omar Other", emails=["omar@acme.test"], organization=acme)
    make("From Maria", customer, group=support)
    make("From Omar", other, group=support)
    base = "/desk/views/all-open/?f=1"
    assert subjects(desk.get(base + f"&customer={customer.pk}")) == ["From Maria"]
    response = desk.get(base + "&customer=OMAR@acme.test")
    assert subjects(response) == ["From Omar"]
    response = desk.get(base + f"&organization={acme.pk}")
    assert subjects(response) == ["From Omar"]
    assert b"Acme" in response.content  # the id is shown with its name
    assert subjects(desk.get(base + "&customer=nobody@nowhere.test")) == []


def test_it_filters_by_created_and_updated_dates(desk, customer, support):
    old = make("Old one", customer, group=support)
    new = make("New one", customer, group=support)
    Ticket.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=30), updated_at=timezone.now() - timedelta(days=20)
    )
    today = timezone.now().date()
    base = "/desk/views/all-open/?f=1"
    assert subjects(desk.get(base + f"&created_from={today}")) == ["New one"]
    assert subjects(desk.get(base + f"&created_to={today - timedelta(days=30)}")) == ["Old one"]
    window = f"&updated_from={today - timedelta(days=21)}&updated_to={today - timedelta(days=19)}"
    assert subjects(desk.get(base + window)) == ["Old one"]
    assert new


def test_it_explains_a_bad_filter_instead_of_failing(desk, board):
    response = desk.get("/desk/views/all-open/?f=1&created_from=yesterday&status=nonsense")
    assert response.status_code == 400
    assert b"Unknown status: nonsense." in response.content


def test_it_sorts_by_updated_created_and_priority(desk, customer, support):
    first = make("First", customer, group=support, priority="low")
    make("Second", customer, group=support, priority="urgent")
    third = make("Third", customer, group=support, priority="high")
    Ticket.objects.filter(pk=first.pk).update(updated_at=timezone.now() + timedelta(minutes=5))
    base = "/desk/views/all-open/"
    assert subjects(desk.get(base)) == ["First", "Third", "Second"]
    assert subjects(desk.get(base + "?sort=-created_at")) == ["Third", "Second", "First"]
    assert subjects(desk.get(base + "?sort=created_at")) == ["First", "Second", "Third"]
    assert subjects(desk.get(base + "?sort=updated_at")) == ["Second", "Third", "First"]
    assert subjects(desk.get(base + "?sort=-priority")) == ["Second", "Third", "First"]
    assert third


@pytest.mark.parametrize("sort", ["-updated_at", "created_at", "-priority"])
def test_it_pages_forward_and_back_with_cursors(desk, customer, support, monkeypatch, sort):
    from frontdesk.desk import views

    monkeypatch.setattr(views, "PAGE_SIZE", 4)
    priorities = ["low", "normal", "high", "urgent"]
    for number in range(11):
        make(f"T{number:02d}", customer, group=support, priority=priorities[number % 4])
    seen, pages = [], []
    response = desk.get(f"/desk/views/all-open/?sort={sort}")
    while True:
        pages.append(subjects(response))
        seen += subjects(response)
        if not response.context["next_url"]:
            break
        response = desk.get("/desk/views/all-open/" + response.context["next_url"])
    assert len(seen) == 11 and len(set(seen)) == 11
    assert [len(page) for page in pages] == [4, 4, 3]
    # And back again from the last page.
    back = desk.get("/desk/views/all-open/" + response.context["previous_url"])
    assert subjects(back) == pages[1]
    back = desk.get("/desk/views/all-open/" + back.context["previous_url"])
    assert subjects(back) == pages[0]
    assert back.context["previous_url"] == ""


def test_it_refuses_a_forged_cursor_with_a_message(desk, board):
    response = desk.get("/desk/views/all-open/?after=bm9wZQ")
    assert response.status_code == 400
    assert b"The cursor is not valid" in response.content


def test_it_links_rows_to_the_ticket_page_and_escapes_subjects(desk, customer, support):
    ticket = make("<script>alert(1)</script> & co", customer, group=support)
    response = desk.get("/desk/views/all-open/")
    assert f'href="/desk/tickets/{ticket.reference}/"'.encode() in response.content
    assert b"<script>alert(1)</script>" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in response.content


def test_it_keeps_the_number_of_queries_flat_as_rows_grow(desk, agent, customer, support):
    def queries_for_page() -> int:
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            assert desk.get("/desk/views/all-open/").status_code == 200
        return len(captured)

    for number in range(5):
        make(f"Few {number}", customer, group=support, assignee=agent, status="open", tags=["a", "b"])
    few = queries_for_page()
    for number in range(35):
        other = customer_create(name=f"C{number}", emails=[f"c{number}@example.org"])
        make(f"Many {number}", other, group=support, assignee=agent, status="open", tags=[f"t{number}"])
    many = queries_for_page()
    assert few == many, (few, many)
    assert many <= 20


def test_it_saves_filters_as_a_named_view(desk, agent, customer, support):
    make("Urgent thing", customer, group=support, priority="urgent")
    make("Calm thing", customer, group=support)
    response = desk.post("/desk/views/", {
        "name": "Urgent queue", "priority": ["urgent"], "assignee": ["none"], "sort": "-created_at",
        "ignored": ["x"],
    })
    view = SavedView.objects.get(agent=agent)
    assert response["Location"] == "/desk/views/urgent-queue/"
    assert view.params == {"priority": ["urgent"], "assignee": ["none"]}
    response = desk.get("/desk/views/urgent-queue/")
    assert subjects(response) == ["Urgent thing"]
    assert response.context["sort"] == "-created_at"
    assert counts(response)["urgent-queue"] == "1"
    # A second view with the same name gets its own address; built-in names are reserved.
    desk.post("/desk/views/", {"name": "Urgent queue", "priority": ["low"]})
    desk.post("/desk/views/", {"name": "Mine", "status": ["open"]})
    assert set(SavedView.objects.values_list("slug", flat=True)) == {"urgent-queue", "urgent-queue-2", "mine-2"}


def test_it_keeps_saved_views_private_to_their_agent(client, agent, admin, desk):
    desk.post("/desk/views/", {"name": "Only mine", "assignee": ["me"]})
    client.force_login(admin)
    assert client.get("/desk/views/only-mine/").status_code == 404
    assert client.post("/desk/views/only-mine/delete/").status_code == 404
    assert SavedView.objects.filter(agent=agent).exists()


def test_it_deletes_a_saved_view(desk, agent):
    desk.post("/desk/views/", {"name": "Temp", "status": ["open"]})
    assert desk.post("/desk/views/temp/delete/")["Location"] == "/desk/"
    assert not SavedView.objects.exists()


def test_it_refuses_to_save_a_view_without_a_name(desk):
    response = desk.post("/desk/views/", {"name": "  ", "status": ["open"], "return_to": "/desk/views/pending/"})
    assert response["Location"] == "/desk/views/pending/"
    assert not SavedView.objects.exists()


def test_it_offers_no_bulk_actions_to_light_agents(client, light, board):
    client.force_login(light)
    response = client.get("/desk/views/my-groups/")
    assert subjects(response)
    assert b'id="bulk-form"' not in response.content
    assert b'name="t"' not in response.content


def test_it_renders_the_layout_for_small_screens_and_keyboard_help(desk, board):
    response = desk.get("/desk/")
    assert b'name="viewport"' in response.content
    assert b"/static/desk/inbox.js" in response.content
    assert b'<label class="visually-hidden" for="desk-search-q">' in response.content
