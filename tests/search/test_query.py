"""The query syntax, parsed once (frontdesk.search.query)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from frontdesk.search.query import BadQuery, Term, fts5_match, parse


def test_it_reads_bare_words_phrases_and_prefixes():
    query = parse('refund  "credit card" print* Café')
    assert query.terms == [Term(("refund",)), Term(("credit", "card")), Term(("print",), prefix=True),
                           Term(("cafe",))]
    assert not query.has_filters


def test_it_reads_every_operator():
    query = parse("status:open status:pending,new tag:VIP from:Ana@Example.org assignee:me group:Billing "
                  "after:2026-01-01 before:2026-01-31 is:unassigned word")
    assert query.statuses == ["open", "pending", "new"]
    assert query.tags == ["vip"] and query.senders == ["ana@example.org"]
    assert query.assignee == "me" and query.groups == ["Billing"] and query.unassigned
    assert query.after == datetime(2026, 1, 1, tzinfo=UTC)
    assert query.before == datetime(2026, 1, 31, tzinfo=UTC)
    assert query.terms == [Term(("word",))]


def test_it_searches_unknown_operators_as_text():
    query = parse("color:red is:happy")
    assert query.terms == [Term(("color", "red")), Term(("is", "happy"))]
    assert not query.has_filters


def test_it_treats_a_typed_address_as_from():
    query = parse("omar.haddad@exa")
    assert query.senders == ["omar.haddad@exa"] and query.terms == []


@pytest.mark.parametrize("text, message", [
    ("before:yesterday", "before: needs a date written YYYY-MM-DD"),
    ("after:2026-13-01", "after: needs a date written YYYY-MM-DD"),
    ("after:0001-01-01", "between 1900 and 8999"),
    ("status:sleeping", "status:sleeping is not a status"),
])
def test_it_explains_bad_operators(text, message):
    with pytest.raises(BadQuery) as caught:
        parse(text)
    assert message in caught.value.detail


@pytest.mark.parametrize("text", ['"', "*", "NEAR(a b)", "AND OR NOT", '"unbalanced quote', "a:b:c", "🙂🙂",
                                  "subject:x", "^start", "x" * 10_000, "- + ( ) { }"])
def test_it_quotes_everything_it_hands_fts5(text):
    match = fts5_match(parse(text).terms)
    # Every token is a double-quoted string, optionally followed by * (a prefix).
    for token in match.split('" "'):
        assert token.count('"') % 2 == 0 or token.startswith('"') or token.endswith('"')
    assert "NEAR(" not in match and " AND " not in match.replace('"AND"', "")


def test_it_cuts_a_huge_query_and_keeps_a_dozen_terms():
    query = parse(" ".join(f"w{i}" for i in range(5000)))
    assert len(query.text) <= 500 and len(query.terms) == 12
