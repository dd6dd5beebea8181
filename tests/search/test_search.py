"""The search service on the current database: words, phrases, prefixes, operators,
permissions, ranking and pages, hostile input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from frontdesk.customers.services import customer_create
from frontdesk.search import selectors
from frontdesk.search.query import BadQuery, parse
from frontdesk.tickets.services import (
    ticket_add_note,
    ticket_assign,
    ticket_create,
    ticket_reply,
    ticket_set_status,
    ticket_tag,
)


def subjects(agent, text, **kwargs):
    return [t.subject for t in selectors.search(agent=agent, text=text, **kwargs).tickets]


@pytest.fixture
def desk(customer, support, billing, agent, outsider):
    omar = customer_create(name="Omar Haddad", emails=["omar@acme.example"])
    with time_machine.travel(datetime(2026, 1, 5, tzinfo=UTC)):
        printer = ticket_create(subject="Printer jammed", requester=customer, group=support,
                                body="The office printer shows a paper jam on tray two.")
    with time_machine.travel(datetime(2026, 2, 5, tzinfo=UTC)):
        invoice = ticket_create(subject="Invoice copy", requester=omar, group=billing, tags=["vip"],
                                body="Please send the invoice for the printer again.")
        cafe = ticket_create(subject="Café menu", requester=omar, group=support,
                             body="Our café needs a new menu.")
    ticket_add_note(ticket=printer, author=agent, body="Secret workaround: reseat the fuser.")
    ticket_assign(ticket=printer, actor=agent, assignee=agent)
    ticket_set_status(ticket=printer, actor=agent, status="open")
    return {"printer": printer, "invoice": invoice, "cafe": cafe, "omar": omar}


def test_it_finds_words_anywhere_in_the_ticket(admin, desk):
    assert sorted(subjects(admin, "printer")) == ["Invoice copy", "Printer jammed"]
    assert subjects(admin, "paper jam") == ["Printer jammed"]  # both words, in the body
    assert subjects(admin, "fuser") == ["Printer jammed"]  # internal notes too
    assert subjects(admin, "omar") == ["Café menu", "Invoice copy"]  # the requester's name
    assert subjects(admin, "printer zebra") == []  # every word must match


def test_it_ranks_the_subject_above_the_body(admin, desk):
    results = selectors.search(agent=admin, text="printer")  # the newer ticket has it in its body
    assert results.ranked and [t.subject for t in results.tickets] == ["Printer jammed", "Invoice copy"]


def test_it_matches_phrases_exactly_and_prefixes(admin, desk):
    assert subjects(admin, '"paper jam"') == ["Printer jammed"]
    assert subjects(admin, '"jam paper"') == []
    assert subjects(admin, "jamm*") == ["Printer jammed"]
    assert subjects(admin, "jamm") == []


def test_it_ignores_diacritics_both_ways(admin, desk):
    assert subjects(admin, "cafe") == ["Café menu"]
    assert subjects(admin, "CAFÉ") == ["Café menu"]
    assert subjects(admin, "caf*") == ["Café menu"]


def test_it_filters_with_every_operator(admin, agent, desk, support):
    assert subjects(admin, "printer status:new") == ["Invoice copy"]
    assert subjects(admin, "printer status:open") == ["Printer jammed"]
    assert sorted(subjects(admin, "printer status:open,new")) == ["Invoice copy", "Printer jammed"]
    assert subjects(admin, "printer tag:vip") == ["Invoice copy"]
    assert subjects(admin, "printer tag:nope") == []
    assert subjects(admin, "from:omar@") == ["Café menu", "Invoice copy"]
    assert subjects(admin, "from:maria@example.net") == ["Printer jammed"]
    assert subjects(admin, "assignee:me") == []
    assert subjects(agent, "assignee:me") == ["Printer jammed"]
    assert subjects(admin, "assignee:sam@example.com") == ["Printer jammed"]
    assert subjects(admin, "printer assignee:none") == ["Invoice copy"]
    assert subjects(admin, "printer is:unassigned") == ["Invoice copy"]
    assert subjects(admin, "group:billing") == ["Invoice copy"]
    assert subjects(admin, "group:nowhere") == []
    assert subjects(admin, "after:2026-02-01") == ["Café menu", "Invoice copy"]
    assert subjects(admin, "before:2026-02-01") == ["Printer jammed"]
    assert sorted(subjects(admin, "printer after:2026-01-01 before:2026-02-06")) == ["Invoice copy", "Printer jammed"]


def test_it_reports_a_bad_date_clearly(admin, desk):
    with pytest.raises(BadQuery, match="YYYY-MM-DD"):
        selectors.search(agent=admin, text="printer before:31/01/2026")


def test_it_shows_an_outsider_nothing_of_other_groups(outsider, desk):
    assert subjects(outsider, "printer") == ["Invoice copy"]
    assert subjects(outsider, "fuser") == []
    assert subjects(outsider, "from:maria@example.net") == []
    assert subjects(outsider, desk["printer"].reference) == []  # the reference jump too


def test_it_shows_a_light_agent_their_groups_tickets(light, desk):
    assert subjects(light, "printer") == ["Printer jammed"]
    assert subjects(light, "fuser") == ["Printer jammed"]


def test_it_jumps_to_a_ticket_by_reference(agent, desk):
    assert subjects(agent, desk["cafe"].reference.lower()) == ["Café menu"]


def test_it_finds_customers_by_name_prefix_and_address(admin, desk):
    results = selectors.search(agent=admin, text="oma")
    assert [c.name for c in results.customers] == ["Omar Haddad"]
    assert [c.name for c in selectors.search(agent=admin, text="acme").customers] == ["Omar Haddad"]
    assert [c.name for c in selectors.search(agent=admin, text="omar@acme.ex").customers] == ["Omar Haddad"]


def test_it_highlights_the_matching_message(admin, desk):
    ticket = selectors.search(agent=admin, text="tray").tickets[0]
    assert "<mark>tray</mark>" in ticket.snippet
    ticket_reply(ticket=desk["printer"], author=admin, body="<b>Tray</b> & roller replaced")
    ticket = selectors.search(agent=admin, text="tray").tickets[0]
    assert ticket.snippet == "&lt;b&gt;<mark>Tray</mark>&lt;/b&gt; &amp; roller replaced"


@pytest.mark.parametrize("text", ['"', "*", '"', "NEAR(printer", "printer AND", "OR", '"printer',
                                  'pri"nter', "🙂 printer", "x" * 10_000, "printer*" * 50, "-printer",
                                  "subject:printer", "^printer", "printer:", ":", "a@", "@", "'", "\\",
                                  '"ŉ paper"', '"paper ŉ ŉ"', "\"o'brien paper\"", '"日本 語"', '"a\\b jam"'])
def test_it_never_fails_on_hostile_input(admin, desk, text):
    selectors.search(agent=admin, text=text)


def test_it_ranks_few_matches_and_lists_many_newest_first_with_pages(admin, customer, support, monkeypatch):
    tickets = [ticket_create(subject=f"Widget {n}", requester=customer, group=support,
                             body="widget " * (n + 1)) for n in range(7)]
    first = selectors.search(agent=admin, text="widget", limit=3)
    assert first.ranked and first.next_cursor
    seen = [t.pk for t in first.tickets]
    cursor = first.next_cursor
    while cursor:
        page = selectors.search(agent=admin, text="widget", cursor=cursor, limit=3)
        seen += [t.pk for t in page.tickets]
        cursor = page.next_cursor
    assert sorted(seen) == sorted(t.pk for t in tickets) and len(seen) == 7
    monkeypatch.setattr(selectors, "RANK_LIMIT", 5)  # more matches than ranked: newest first
    first = selectors.search(agent=admin, text="widget", limit=3)
    assert not first.ranked and [t.pk for t in first.tickets] == [t.pk for t in tickets[::-1][:3]]
    second = selectors.search(agent=admin, text="widget", cursor=first.next_cursor, limit=3)
    assert [t.pk for t in second.tickets] == [t.pk for t in tickets[::-1][3:6]]


def test_it_pages_operator_only_queries(admin, customer, support):
    tickets = [ticket_create(subject=f"T{n}", requester=customer, group=support, body="x") for n in range(4)]
    ids, cursor, _ = selectors.ticket_search(agent=admin, query=parse("status:new"), limit=3)
    more, end, _ = selectors.ticket_search(agent=admin, query=parse("status:new"), cursor=cursor, limit=3)
    assert ids + more == [t.pk for t in tickets[::-1]] and end is None


@pytest.mark.parametrize("cursor", ["nope", "WyJyIiwgIm5hbiIsIDFd", "WyJ4IiwgMV0", "W10"])
def test_it_refuses_bad_cursors(admin, desk, cursor):
    from frontdesk.core.errors import InvalidInput
    with pytest.raises(InvalidInput):
        selectors.search(agent=admin, text="printer", cursor=cursor)


def test_it_keeps_tag_filters_exact(admin, desk):
    ticket_tag(ticket=desk["cafe"], actor=admin, add=["vip"])
    assert subjects(admin, "tag:vip") == ["Café menu", "Invoice copy"]


def test_it_tells_a_restricted_agent_nothing_about_other_groups_matches(outsider, customer, support, billing,
                                                                           monkeypatch):
    """The page's shape (ranked or newest first), order, rows and cursor depend only on the
    tickets the agent may see: many matches in another group change none of it."""
    monkeypatch.setattr(selectors, "RANK_LIMIT", 3)
    older = ticket_create(subject="Gadget kit", requester=customer, group=billing, body="Where is it?")
    newer = ticket_create(subject="Delivery", requester=customer, group=billing, body="The gadget is late.")

    def seen():
        results = selectors.search(agent=outsider, text="gadget", limit=1)
        return results.ranked, [t.pk for t in results.tickets], results.next_cursor

    alone = seen()
    assert alone[0] and alone[1] == [older.pk]  # ranked: the subject first, though older
    for n in range(6):
        ticket_create(subject=f"Gadget {n}", requester=customer, group=support, body="gadget gadget gadget")
    assert seen() == alone
    page_two = selectors.search(agent=outsider, text="gadget", cursor=alone[2], limit=1)
    assert [t.pk for t in page_two.tickets] == [newer.pk] and page_two.next_cursor is None


@pytest.mark.parametrize("rare_rows", [0, 1])
def test_it_answers_the_same_when_words_are_common(admin, agent, desk, customer, support, monkeypatch, rare_rows):
    """SQLite plans a common word (more rows than RARE_ROWS) differently from a rare one: a
    walk down its rows with ranged checks instead of an intersection. Same answers, same
    pages, same ranking (every word common: 0; some: 1)."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("the rare/common plans are the SQLite backend's")
    monkeypatch.setattr(selectors._SQLite, "RARE_ROWS", rare_rows)
    assert sorted(subjects(admin, "printer")) == ["Invoice copy", "Printer jammed"]
    assert subjects(admin, "paper jam") == subjects(admin, "fuser paper") == ["Printer jammed"]
    assert subjects(admin, "printer zebra") == [] and subjects(admin, "omar menu") == ["Café menu"]
    assert subjects(admin, "printer") == ["Printer jammed", "Invoice copy"]  # ranked: the subject first
    assert subjects(agent, "printer") == ["Printer jammed"]  # Billing's invoice stays hidden
    tickets = [ticket_create(subject=f"Gizmo {n}", requester=customer, group=support, body="gizmo part")
               for n in range(5)]
    monkeypatch.setattr(selectors, "RANK_LIMIT", 2)
    first = selectors.search(agent=admin, text="gizmo part", limit=2)
    assert not first.ranked and [t.pk for t in first.tickets] == [tickets[4].pk, tickets[3].pk]
    rest = selectors.search(agent=admin, text="gizmo part", cursor=first.next_cursor, limit=2)
    last = selectors.search(agent=admin, text="gizmo part", cursor=rest.next_cursor, limit=2)
    assert [t.pk for t in rest.tickets + last.tickets] == [tickets[2].pk, tickets[1].pk, tickets[0].pk]
    assert last.next_cursor is None


@pytest.fixture(params=["walk", "candidates", "recent"])
def shape(request, monkeypatch):
    """PostgreSQL answers from the GIN indexes' candidates, by walking the ticket ids, or
    from the candidates of the newest recency buckets first, by its estimates
    (``_Postgres.newest``): each shape, forced, must give the same answers. "recent" also
    spreads the tickets over buckets (ids 4096 apart). (SQLite has its own plans: the
    parameter only repeats the test there.)"""
    monkeypatch.setattr(selectors._Postgres, "FETCH", 0.0 if request.param == "candidates" else 1e12)
    monkeypatch.setattr(selectors._Postgres, "WALK_SHARE", 0.0 if request.param == "walk" else 2.0)
    return request.param


def create(shape, **kwargs):
    """``ticket_create``; for the "recent" shape on PostgreSQL, in the next recency bucket."""
    from django.db import connection

    if shape == "recent" and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval(pg_get_serial_sequence('tickets_ticket', 'id'), "
                           "nextval(pg_get_serial_sequence('tickets_ticket', 'id')) + 4096)")
    return ticket_create(**kwargs)


def test_it_matches_phrases_across_the_messages_of_a_ticket(admin, agent, customer, support, shape):
    thread = create(shape, subject="Router keeps rebooting", requester=customer, group=support,
                           body="The blue light blinks twice, then the router reboots.")
    ticket_reply(ticket=thread, author=agent, body="Please send the serial number.")
    ticket_add_note(ticket=thread, author=agent, body="Known firmware bug, fixed in version nine.")
    apart = create(shape, subject="Blue cable", requester=customer, group=support, body="The light is off.")
    assert subjects(admin, '"blue light"') == ["Router keeps rebooting"]  # the first, oldest message
    assert subjects(admin, '"serial number"') == ["Router keeps rebooting"]  # a reply
    assert subjects(admin, '"fixed in version nine"') == ["Router keeps rebooting"]  # a note, four words
    assert subjects(admin, '"router keeps"') == ["Router keeps rebooting"]  # the subject
    assert subjects(admin, '"light blue"') == subjects(admin, '"blinks then"') == []  # order, adjacency
    assert subjects(admin, '"nine version"') == subjects(admin, '"in version fixed"') == []
    assert subjects(admin, '"blue light" "serial number" firmware') == ["Router keeps rebooting"]
    assert subjects(admin, '"blue light" cable') == []  # every term in the same ticket
    assert sorted(subjects(admin, "blue light")) == ["Blue cable", "Router keeps rebooting"]
    assert subjects(admin, '"BLUE Light" rebo*') == ["Router keeps rebooting"]
    assert apart.pk  # found by the bare words only


def test_phrases_list_many_matches_newest_first_and_page_them(admin, customer, support, monkeypatch, shape):
    tickets = [create(shape, subject=f"Order {n}", requester=customer, group=support,
                             body="The parcel arrived damaged, box crushed." if n % 2 else "Damaged box, parcel fine.")
               for n in range(9)]
    matching = [t.pk for t in tickets[::-1] if int(t.subject.split()[1]) % 2]  # newest first
    monkeypatch.setattr(selectors, "RANK_LIMIT", 3)  # four matches: listed, not ranked
    seen, cursor = [], None
    while True:
        page = selectors.search(agent=admin, text='"arrived damaged"', cursor=cursor, limit=2)
        assert not page.ranked
        seen += [t.pk for t in page.tickets]
        if not (cursor := page.next_cursor):
            break
    assert seen == matching


def test_phrases_show_a_restricted_agent_only_their_groups(outsider, agent, customer, support, billing, shape):
    ours = create(shape, subject="Invoice", requester=customer, group=billing, body="Wrong VAT number on it.")
    for n in range(4):
        create(shape, subject=f"Invoice {n}", requester=customer, group=support, body="Wrong VAT number again.")
    assert [t.pk for t in selectors.search(agent=outsider, text='"vat number"').tickets] == [ours.pk]
    assert [t.pk for t in selectors.search(agent=outsider, text='"wrong vat number" invoice').tickets] == [ours.pk]
    assert len(selectors.search(agent=agent, text='"vat number"').tickets) == 4
    assert [t.pk for t in selectors.search(agent=outsider, text="vat wrong").tickets] == [ours.pk]


def test_words_list_many_matches_newest_first_and_page_them(admin, outsider, customer, support, billing,
                                                            monkeypatch, shape):
    tickets = [create(shape, subject=f"Lamp {n}", requester=customer, group=billing if n % 3 else support,
                      body="The lamp flickers." if n % 2 else "Lamp fine.") for n in range(10)]
    monkeypatch.setattr(selectors, "RANK_LIMIT", 2)
    for who, text, group in ((admin, "lamp flickers", None), (outsider, "flickers lamp", "Billing"),
                             (admin, "lamp", None), (outsider, "lam*", "Billing")):
        expected = [t.pk for t in tickets[::-1] if (group is None or t.group.name == group)
                    and ("flickers" not in text or int(t.subject.split()[1]) % 2)]
        seen, cursor = [], None
        while True:
            page = selectors.search(agent=who, text=text, cursor=cursor, limit=2)
            seen += [t.pk for t in page.tickets]
            if not (cursor := page.next_cursor):
                break
        assert seen == expected, text


def test_words_too_long_to_pair_never_fail_a_write(admin, agent, customer, support, shape):
    """Two adjacent 1,100-character words: as one pair they would pass PostgreSQL's 2047-byte
    lexeme limit (left out of the pairs; the search box takes 500 characters anyway)."""
    first, second = "k" * 1100, "m" * 1100
    ticket = create(shape, subject="Long tokens", requester=customer, group=support, body=f"Keys {first} {second} end.")
    ticket_reply(ticket=ticket, author=agent, body=f"{second} {first} again")
    assert subjects(admin, '"long tokens"') == subjects(admin, "keys again") == ["Long tokens"]


def test_pairs_too_many_to_store_mark_the_document_for_a_positions_check(db):
    """PostgreSQL keeps a document's pairs under 1 MB (a tsvector's limit): past that the
    pairs are the one lexeme '~all', which every phrase lookup also asks for (and then checks
    the positions), so a write never fails and a phrase is never missed."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the pairs index is PostgreSQL's")
    tokens = " ".join(f"{'q' * 96}{n:04d}" for n in range(6000))  # ~1.2 MB of pairs
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_pairs(to_tsvector('frontdesk_search', %s))::text, "
                       "search_pairs(to_tsvector('frontdesk_search', %s))::text", [tokens, "a b a"])
        assert cursor.fetchone() == ("'~all'", "'a b' 'b a'")


def test_recency_windows_use_coarse_buckets_for_aligned_runs():
    assert selectors._buckets_tsquery(range(14, 34)) == "'~14' | '~15' | '~~1' | '~32' | '~33'"
    assert selectors._buckets_tsquery(range(0, 16)) == "'~~0'"
    assert selectors._buckets_tsquery(range(5, 6)) == "'~5'"


def test_far_apart_matches_are_found_through_wide_windows(admin, customer, support, monkeypatch):
    """PostgreSQL's recent shape: matches hundreds of buckets apart (ticket ids 300,000 apart)
    are reached by widening windows (coarse buckets), in order, nothing skipped."""
    from django.db import connection

    monkeypatch.setattr(selectors._Postgres, "FETCH", 1e12)
    monkeypatch.setattr(selectors._Postgres, "WALK_SHARE", 2.0)
    tickets = []
    for n in range(3):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT setval(pg_get_serial_sequence('tickets_ticket', 'id'), "
                               "nextval(pg_get_serial_sequence('tickets_ticket', 'id')) + 300000)")
        tickets.append(ticket_create(subject=f"Zeppelin {n}", requester=customer, group=support, body="Airship."))
        ticket_create(subject=f"Other {n}", requester=customer, group=support, body="Nothing here.")
    monkeypatch.setattr(selectors, "RANK_LIMIT", 1)
    first = selectors.search(agent=admin, text="zeppelin airship", limit=1)
    second = selectors.search(agent=admin, text="zeppelin airship", cursor=first.next_cursor, limit=1)
    third = selectors.search(agent=admin, text="zeppelin airship", cursor=second.next_cursor, limit=1)
    assert [t.pk for t in first.tickets + second.tickets + third.tickets] == [t.pk for t in tickets[::-1]]
    assert third.next_cursor is None
