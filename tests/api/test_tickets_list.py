"""GET /api/v1/tickets: filters, sorts, keyset pagination, and a query-count ceiling."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from frontdesk.customers.services import customer_create, organization_create
from frontdesk.tickets.attachments import NewAttachment
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.services import (
    ticket_add_note,
    ticket_create,
    ticket_merge,
    ticket_receive_customer_message,
    ticket_reply,
    ticket_set_status,
)

from .helpers import assert_error

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def refs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["reference"] for item in response.json()["items"]]


def set_times(ticket: Ticket, *, created: datetime, updated: datetime | None = None) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(created_at=created, updated_at=updated or created)


def iso(moment: datetime) -> str:
    return moment.isoformat()


@pytest.fixture
def catalogue(customer, support, billing, agent, admin):
    """Tickets differing in one attribute each, with known creation/update times."""
    acme = organization_create(name="Acme")
    bob = customer_create(name="Bob Acme", emails=["bob@acme.test"], organization=acme)
    t = {
        "new_email": ticket_create(subject="new email", requester=customer, body="b",
                                   channel="email", group=support, tags=["vip"]),
        "pending_web": ticket_create(subject="pending web", requester=customer, body="b",
                                     channel="web", group=support, priority="high"),
        "open_phone": ticket_create(subject="open phone", requester=bob, body="b",
                                    channel="phone", group=billing, priority="urgent",
                                    author=admin),
        "solved_api": ticket_create(subject="solved api", requester=bob, body="b",
                                    channel="api", group=support, assignee=agent,
                                    tags=["VIP", "refund"]),
        "unrouted": ticket_create(subject="unrouted", requester=customer, body="b",
                                  channel="chat", priority="low"),
    }
    ticket_set_status(ticket=t["pending_web"], actor=agent, status="pending")
    ticket_set_status(ticket=t["solved_api"], actor=agent, status="solved")
    for i, name in enumerate(["new_email", "pending_web", "open_phone", "solved_api", "unrouted"]):
        # created a day apart; updated in the reverse order of creation
        set_times(t[name], created=T0 + timedelta(days=i), updated=T0 + timedelta(days=10 - i))
    t["acme"] = acme
    t["bob"] = bob
    return t


def names_of(response, catalogue) -> set[str]:
    by_ref = {t.reference: name for name, t in catalogue.items() if isinstance(t, Ticket)}
    return {by_ref[r] for r in refs(response)}


@pytest.mark.parametrize(("params", "expected"), [
    ({}, {"new_email", "pending_web", "open_phone", "solved_api", "unrouted"}),
    ({"status": "new"}, {"new_email", "unrouted"}),
    ({"status": ["pending", "solved"]}, {"pending_web", "solved_api"}),
    ({"status": ["open", "new"]}, {"open_phone", "new_email", "unrouted"}),
    ({"priority": "urgent"}, {"open_phone"}),
    ({"priority": ["low", "high"]}, {"unrouted", "pending_web"}),
    ({"channel": "email"}, {"new_email"}),
    ({"channel": ["phone", "chat"]}, {"open_phone", "unrouted"}),
    ({"unassigned": "true"}, {"new_email", "pending_web", "open_phone", "unrouted"}),
    ({"tag": "vip"}, {"new_email", "solved_api"}),
    ({"tag": "VIP"}, {"new_email", "solved_api"}),
    ({"tag": "refund"}, {"solved_api"}),
    ({"tag": "nothing-tagged-so"}, set()),
    ({"created_after": iso(T0 + timedelta(days=3))}, {"solved_api", "unrouted"}),
    ({"created_before": iso(T0 + timedelta(days=1))}, {"new_email"}),
    ({"created_after": iso(T0 + timedelta(days=1)), "created_before": iso(T0 + timedelta(days=3))},
     {"pending_web", "open_phone"}),
    ({"updated_after": iso(T0 + timedelta(days=9))}, {"new_email", "pending_web"}),
    ({"updated_before": iso(T0 + timedelta(days=7, hours=1))}, {"solved_api", "unrouted"}),
    # "after" includes its instant, "before" excludes it: adjacent ranges never overlap
    ({"updated_before": iso(T0 + timedelta(days=7))}, {"unrouted"}),
    ({"updated_after": iso(T0 + timedelta(days=7))}, {"solved_api", "open_phone", "pending_web",
                                                      "new_email"}),
    ({"status": "new", "channel": "chat"}, {"unrouted"}),
    ({"status": "closed"}, set()),
])
def test_it_filters_tickets(api_as, admin, catalogue, params, expected):
    assert names_of(api_as(admin).get("/tickets", **params), catalogue) == expected


def test_it_filters_by_group(api_as, admin, catalogue, support, billing):
    api = api_as(admin)
    assert names_of(api.get("/tickets", group_id=support.pk), catalogue) == {
        "new_email", "pending_web", "solved_api"}
    assert names_of(api.get("/tickets", group_id=billing.pk), catalogue) == {"open_phone"}
    assert names_of(api.get("/tickets", group_id=999_999), catalogue) == set()


def test_it_filters_by_assignee(api_as, admin, agent, catalogue):
    api = api_as(admin)
    assert names_of(api.get("/tickets", assignee_id=agent.pk), catalogue) == {"solved_api"}
    assert names_of(api.get("/tickets", assignee_id=admin.pk), catalogue) == set()
    # "unassigned" wins over an assignee: the two cannot both hold
    assert "solved_api" not in names_of(
        api.get("/tickets", assignee_id=agent.pk, unassigned="true"), catalogue)


def test_it_filters_by_requester_and_organization(api_as, admin, customer, catalogue):
    api = api_as(admin)
    bob, acme = catalogue["bob"], catalogue["acme"]
    assert names_of(api.get("/tickets", requester_id=bob.pk), catalogue) == {
        "open_phone", "solved_api"}
    assert names_of(api.get("/tickets", requester_id=customer.pk), catalogue) == {
        "new_email", "pending_web", "unrouted"}
    assert names_of(api.get("/tickets", organization_id=acme.pk), catalogue) == {
        "open_phone", "solved_api"}


def test_it_applies_filters_within_what_the_agent_may_see(api_as, agent, billing, catalogue):
    api = api_as(agent)
    assert names_of(api.get("/tickets", group_id=billing.pk), catalogue) == set()
    assert names_of(api.get("/tickets", priority="urgent"), catalogue) == set()
    assert names_of(api.get("/tickets"), catalogue) == {
        "new_email", "pending_web", "solved_api", "unrouted"}


@pytest.mark.parametrize(("params", "field"), [
    ({"status": "stuck"}, "status"),
    ({"priority": "meh"}, "priority"),
    ({"channel": "pigeon"}, "channel"),
    ({"sort": "subject"}, "sort"),
    ({"group_id": "support"}, "group_id"),
    ({"created_after": "last tuesday"}, "created_after"),
    ({"unassigned": "perhaps"}, "unassigned"),
])
def test_it_refuses_invalid_filter_values(api_as, admin, catalogue, params, field):
    body = assert_error(api_as(admin).get("/tickets", **params), 422, "validation_error")
    assert field in body["detail"]


# ---- sorts --------------------------------------------------------------------------

@pytest.mark.parametrize(("sort", "expected"), [
    ("-updated_at", ["new_email", "pending_web", "open_phone", "solved_api", "unrouted"]),
    ("updated_at", ["unrouted", "solved_api", "open_phone", "pending_web", "new_email"]),
    ("-created_at", ["unrouted", "solved_api", "open_phone", "pending_web", "new_email"]),
    ("created_at", ["new_email", "pending_web", "open_phone", "solved_api", "unrouted"]),
])
def test_it_sorts_tickets(api_as, admin, catalogue, sort, expected):
    response = api_as(admin).get("/tickets", sort=sort)
    assert refs(response) == [catalogue[name].reference for name in expected]


def test_it_sorts_by_most_recently_updated_by_default(api_as, admin, catalogue):
    assert refs(api_as(admin).get("/tickets")) == refs(
        api_as(admin).get("/tickets", sort="-updated_at"))


def test_it_breaks_ties_by_id(api_as, admin, make_ticket):
    tickets = [make_ticket(f"tie {i}") for i in range(4)]
    Ticket.objects.update(created_at=T0, updated_at=T0)
    by_id = [t.reference for t in sorted(tickets, key=lambda t: t.pk)]
    api = api_as(admin)
    assert refs(api.get("/tickets", sort="created_at")) == by_id
    assert refs(api.get("/tickets", sort="-created_at")) == by_id[::-1]


# ---- pagination -----------------------------------------------------------------------

def walk(api, **params) -> tuple[list[str], int]:
    """Every reference over all pages, and the number of pages."""
    seen, pages, cursor = [], 0, None
    while True:
        response = api.get("/tickets", **params, **({"cursor": cursor} if cursor else {}))
        page = response.json()
        assert response.status_code == 200, page
        assert len(page["items"]) <= params.get("limit", 25)
        seen += [item["reference"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return seen, pages
        assert pages < 50, "pagination does not end"


@pytest.mark.parametrize("sort", ["-updated_at", "updated_at", "-created_at", "created_at"])
def test_it_walks_every_page_without_duplicates_or_gaps(api_as, admin, make_ticket, sort):
    tickets = [make_ticket(f"ticket {i}") for i in range(7)]
    for i, t in enumerate(tickets):
        set_times(t, created=T0 + timedelta(hours=i), updated=T0 + timedelta(hours=(i * 5) % 7))
    api = api_as(admin)
    seen, pages = walk(api, sort=sort, limit=2)
    assert len(seen) == len(set(seen)) == 7
    assert seen == refs(api.get("/tickets", sort=sort, limit=100))
    assert pages == 4


@pytest.mark.parametrize("sort", ["-updated_at", "created_at"])
def test_it_walks_pages_of_identical_timestamps(api_as, admin, make_ticket, sort):
    tickets = [make_ticket(f"burst {i}") for i in range(5)]
    Ticket.objects.update(created_at=T0, updated_at=T0)
    seen, _ = walk(api_as(admin), sort=sort, limit=2)
    assert sorted(seen) == sorted(t.reference for t in tickets)
    assert len(seen) == len(set(seen))


def test_it_gives_no_cursor_on_the_last_page(api_as, admin, make_ticket):
    for i in range(3):
        make_ticket(f"ticket {i}")
    api = api_as(admin)
    assert api.get("/tickets", limit=3).json()["next_cursor"] is None
    first = api.get("/tickets", limit=2).json()
    assert first["next_cursor"]
    second = api.get("/tickets", limit=2, cursor=first["next_cursor"]).json()
    assert len(second["items"]) == 1
    assert second["next_cursor"] is None


def test_it_neither_repeats_nor_skips_when_a_seen_ticket_changes_between_pages(
    api_as, admin, agent, make_ticket
):
    tickets = [make_ticket(f"ticket {i}") for i in range(6)]
    for i, t in enumerate(tickets):
        set_times(t, created=T0 + timedelta(hours=i))
    api = api_as(admin)
    first = api.get("/tickets", limit=2).json()  # -updated_at: the two newest
    seen = [item["reference"] for item in first["items"]]
    # A ticket already seen is updated: it stays at the front, before the cursor.
    api.put(f"/tickets/{seen[0]}/priority", {"priority": "urgent"})
    # A new ticket arrives: it is newer than the cursor too.
    make_ticket("late arrival")
    cursor = first["next_cursor"]
    while cursor:
        page = api.get("/tickets", limit=2, cursor=cursor).json()
        seen += [item["reference"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen))
    assert sorted(seen) == sorted(t.reference for t in tickets)


def test_it_keeps_created_order_pages_stable_when_a_ticket_is_updated(
    api_as, admin, make_ticket
):
    tickets = [make_ticket(f"ticket {i}") for i in range(6)]
    for i, t in enumerate(tickets):
        set_times(t, created=T0 + timedelta(hours=i))
    api = api_as(admin)
    first = api.get("/tickets", sort="created_at", limit=2).json()
    seen = [item["reference"] for item in first["items"]]
    api.put(f"/tickets/{tickets[4].reference}/priority", {"priority": "high"})  # unseen yet
    cursor = first["next_cursor"]
    while cursor:
        page = api.get("/tickets", sort="created_at", limit=2, cursor=cursor).json()
        seen += [item["reference"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [t.reference for t in tickets]


def encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "not-a-cursor!",
    "eyJub3QiOiAiYSBsaXN0In0",  # {"not": "a list"}
    encode(b'["yesterday", 5]'),
    encode(b'["2025-03-01T09:00:00+00:00", "five"]'),
    encode(b"[1, 2, 3]"),
    encode(b"\xff\xfe\xfd"),
    encode(b"42"),
])
def test_it_refuses_an_invalid_cursor(api_as, admin, ticket, cursor):
    body = assert_error(api_as(admin).get("/tickets", cursor=cursor), 400, "invalid_cursor")
    assert "cursor" in body["detail"]


def test_it_refuses_a_cursor_with_an_infinite_id(api_as, admin, ticket):
    cursor = encode(json.dumps(["2025-03-01T09:00:00+00:00", 1]).replace("1]", "1e400]").encode())
    assert_error(api_as(admin).get("/tickets", cursor=cursor), 400, "invalid_cursor")


@pytest.mark.parametrize(("param", "value"), [
    ("created_after", "0001-01-01T00:00:00+14:00"),
    ("created_before", "0001-01-01T00:00:00+14:00"),
    ("updated_before", "9999-12-31T23:59:59-14:00"),
])
def test_it_refuses_dates_no_database_can_store(api_as, admin, ticket, param, value):
    body = assert_error(api_as(admin).get("/tickets", **{param: value}), 422, "validation_error")
    assert param in body["detail"]


def test_it_refuses_a_cursor_with_an_extreme_date(api_as, admin, ticket):
    cursor = encode(json.dumps(["0001-01-01T00:00:00+14:00", 1]).encode())
    assert_error(api_as(admin).get("/tickets", cursor=cursor), 400, "invalid_cursor")


def test_it_refuses_an_oversized_cursor(api_as, admin, ticket):
    assert_error(api_as(admin).get("/tickets", cursor="a" * 201), 422, "validation_error")


@pytest.mark.parametrize("limit", [0, -1, 101, 1000])
def test_it_refuses_a_limit_outside_1_to_100(api_as, admin, ticket, limit):
    body = assert_error(api_as(admin).get("/tickets", limit=limit), 422, "validation_error")
    assert "limit" in body["detail"]


def test_it_accepts_limit_100(api_as, admin, ticket):
    response = api_as(admin).get("/tickets", limit=100)
    assert response.status_code == 200
    assert refs(response) == [ticket.reference]


def test_it_serialises_a_ticket_in_the_list(api_as, agent, ticket):
    item = api_as(agent).get("/tickets").json()["items"][0]
    assert item["reference"] == ticket.reference
    assert item["subject"] == "Charged twice"
    assert item["status"] == "new"
    assert item["requester"] == {"id": ticket.requester_id, "name": "Maria Lopez",
                                 "email": "maria@example.net"}
    assert item["group"]["name"] == "Support"
    assert item["tags"] == ["billing"]
    assert item["assignee"] is None
    assert item["merged_into"] is None and item["follow_up_of"] is None
    assert "messages" not in item  # the list is light; details come from GET /tickets/{ref}


# ---- query counts ---------------------------------------------------------------------

@pytest.fixture
def fill(agent, support, customer):
    """``fill(n)`` opens n fully-populated tickets: org, group, assignee, tags, contact points."""
    organization = organization_create(name="Acme")

    def make(n: int, start: int = 0) -> list[Ticket]:
        made = []
        for i in range(start, start + n):
            requester = customer_create(name=f"Person {i}", emails=[f"p{i}@acme.test"],
                                        phones=[f"+3460000{i:04d}"], organization=organization)
            made.append(ticket_create(
                subject=f"ticket {i}", requester=requester, body="b", group=support,
                assignee=agent, tags=[f"tag-{i}", "common"], channel="email",
            ))
        return made

    return make


def queries_for_page(api, **params) -> tuple[int, int]:
    api.get("/tickets", **params)  # warm-up: the first use of a token records last_used_at
    with CaptureQueriesContext(connection) as ctx:
        response = api.get("/tickets", **params)
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.json()["items"])


def test_it_lists_a_page_in_a_constant_number_of_queries(
    api_as, agent, fill, django_assert_max_num_queries
):
    api = api_as(agent)
    fill(5)
    small, rows = queries_for_page(api, limit=25)
    assert rows == 5
    fill(20, start=5)
    large, rows = queries_for_page(api, limit=25)
    assert rows == 25
    assert large == small
    # token, page, tags, contact points (+1 spare, e.g. for a savepoint)
    with django_assert_max_num_queries(5):
        api.get("/tickets", limit=25)


def test_it_pages_with_a_cursor_in_a_constant_number_of_queries(api_as, agent, fill):
    api = api_as(agent)
    fill(30)
    cursor = api.get("/tickets", limit=2).json()["next_cursor"]
    small, _ = queries_for_page(api, limit=2, cursor=cursor)
    large, rows = queries_for_page(api, limit=25, cursor=cursor)
    assert rows == 25
    assert large == small


def test_it_lists_merged_and_follow_up_tickets_in_a_constant_number_of_queries(
    api_as, admin, agent, customer, support
):
    api = api_as(admin)

    def add_pairs(n):
        for _ in range(n):
            source = ticket_create(subject="dup", requester=customer, body="b", group=support)
            target = ticket_create(subject="orig", requester=customer, body="b", group=support)
            ticket_merge(source=source, target=target, actor=agent)  # source → merged_into
            ticket_set_status(ticket=target, actor=agent, status="solved")
            ticket_set_status(ticket=target, actor=agent, status="closed")
            ticket_receive_customer_message(ticket=target, customer=customer, body="again")

    add_pairs(2)  # 6 tickets: a merged one, a closed one and its follow-up, twice
    small, rows = queries_for_page(api, limit=100)
    assert rows == 6
    add_pairs(8)
    large, rows = queries_for_page(api, limit=100)
    assert rows == 30
    assert large == small


def test_it_reads_a_ticket_in_a_constant_number_of_queries(api_as, agent, ticket, customer):
    api = api_as(agent)

    def converse(n):
        for i in range(n):
            ticket_receive_customer_message(ticket=ticket, customer=customer, body=f"q{i}")
            ticket_reply(ticket=ticket, author=agent, body=f"a{i}")
            ticket_add_note(ticket=ticket, author=agent, body=f"n{i}", attachments=[
                NewAttachment(filename=f"{i}.txt", content=b"x")])

    def queries():
        api.get(f"/tickets/{ticket.reference}")
        with CaptureQueriesContext(connection) as ctx:
            response = api.get(f"/tickets/{ticket.reference}")
        return len(ctx.captured_queries), len(response.json()["messages"])

    converse(1)
    small, messages = queries()
    assert messages == 4
    converse(10)
    large, messages = queries()
    assert messages == 34
    assert large == small
