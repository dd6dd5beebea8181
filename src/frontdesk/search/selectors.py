"""The search service: one entry point for the workspace search box and the API, the same
query syntax (``query.py``) on SQLite FTS5 and PostgreSQL tsvector + GIN.

Query shapes (each fast at a million tickets; bench/search.py measures them):

* **Permissions in the query.** The tickets an agent may see, with the query's operators, are
  ``tickets_visible_to`` plus filters, compiled by the ORM into a correlated ``EXISTS`` on the
  ticket's primary key. The index drives; each candidate costs one primary-key probe; nothing
  an agent may not see is ever counted, ranked into a page or shown.
* **Ranked only when the match set is small.** The matches the agent may see are listed
  newest first, no further than ``RANK_LIMIT + 1`` (the walk stops there whatever the word).
  At most ``RANK_LIMIT``: rank them (SQLite: where each term is found, subject 10 > requester
  4 > each message 1; PostgreSQL: ``ts_rank`` with weights A/B/D) — a few hundred scores cost
  a few milliseconds. More: that list's first page is the answer, newest first. Ranking a very
  common word would score every match (1.4 s at a million); this costs a bounded walk. The
  choice, the order and the cursor depend only on tickets the agent may see (no counts before
  permissions, no collection statistics such as bm25's idf in the score).
* **SQLite rows per message** (``index.py``): a ticket matches when each term matches one of
  its rows. Terms found in few rows are intersected by ticket; each common term is a MATCH
  limited to the candidate ticket's rowid range (a seek); only common terms: the first one's
  rows are walked down the rowid order (newest tickets first), stopping after a page.
* **PostgreSQL** (``_Postgres``): words through a GIN index on the document and its recency
  bucket, phrases through a GIN index of adjacent word pairs (``0004_phrase_pairs``); by the
  planner's estimates, the candidates read from the indexes and checked newest first, the
  newest buckets' candidates first, or a walk down the ticket ids for common words.
* **Ids first, then rows**: a page of ids, then one query for those rows.
* **Keyset pages**: the cursor carries the order it was made for and the last (score, id) or
  id, so page two keeps page one's order even if the match count crosses the limit meanwhile.
* Operators without words list the visible tickets matching them, newest first (ticket id).
"""

# ruff: noqa: S608, S611 — the SQL below is put together from constants of this module and SQL
# the ORM compiled; what the agent typed only ever travels as bound parameters.
from __future__ import annotations

import base64
import binascii
import json
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cached_property

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from frontdesk.accounts.models import Agent, Group
from frontdesk.core.errors import InvalidInput
from frontdesk.customers.models import ContactKind, ContactPoint, Customer
from frontdesk.tickets.models import Message, Ticket
from frontdesk.tickets.selectors import tickets_visible_to, with_list_columns

from . import index
from .query import WORD, BadQuery, ParsedQuery, Term, fold, fts5_match, parse

RANK_LIMIT = 100
PAGE_SIZE = 25
CUSTOMER_LIMIT = 10
PG_CONFIG = "frontdesk_search"
SNIPPET_BEFORE = 60
SNIPPET_AFTER = 160

__all__ = ["BadQuery", "SearchResults", "search", "ticket_search", "customer_search", "parse"]


@dataclass
class SearchResults:
    query: str
    tickets: list[Ticket]  # each with ``snippet`` (safe HTML, matches in <mark>)
    customers: list[Customer]
    next_cursor: str | None = None
    ranked: bool = False
    parsed: ParsedQuery | None = None
    terms: list[Term] = field(default_factory=list)


# ---- operators → the visible candidate tickets ----

def _prefix(field_name: str, text: str) -> Q:
    # A range as well as startswith, so the (kind, value) b-tree serves it on both databases.
    return Q(**{f"{field_name}__gte": text, f"{field_name}__lt": text + "\U0010ffff",
                f"{field_name}__startswith": text})


def candidates(*, agent: Agent, query: ParsedQuery) -> QuerySet[Ticket]:
    """The tickets ``agent`` may see that pass the query's operators (unordered)."""
    tickets = tickets_visible_to(agent=agent)
    conditions = Q()
    if query.statuses:
        conditions &= Q(status__in=query.statuses)
    links = Ticket.tags.through.objects
    for tag in query.tags:
        conditions &= Q(Exists(links.filter(ticket_id=OuterRef("pk"), tag__name=tag)))
    if query.senders:
        senders = Q()
        for sender in query.senders:
            senders |= _prefix("value", sender)
        conditions &= Q(requester_id__in=ContactPoint.objects.filter(senders, kind=ContactKind.EMAIL)
                        .values("customer_id"))
    if query.assignee == "me":
        conditions &= Q(assignee=agent)
    elif query.assignee == "none" or query.unassigned:
        conditions &= Q(assignee__isnull=True)
    elif query.assignee:
        conditions &= Q(assignee_id__in=Agent.objects.filter(email=query.assignee).values("pk"))
    if query.groups:
        names = Q()
        for name in query.groups:
            names |= Q(name__iexact=name)
        conditions &= Q(group_id__in=Group.objects.filter(names).values("pk"))
    if query.after:
        conditions &= Q(created_at__gte=query.after)
    if query.before:
        conditions &= Q(created_at__lt=query.before)
    return tickets.filter(conditions)


def _exists_sql(tickets: QuerySet[Ticket], outer_id: str, *, probe: bool = False) -> tuple[str, tuple]:
    """``EXISTS (…)`` for ``tickets`` correlated on ``outer_id`` (the index row's ticket id):
    the visibility and operator conditions exactly as the ORM writes them for the inbox.
    ``probe`` (PostgreSQL): kept a subquery run per outer row (a primary-key probe, in the
    outer rows' order) — else the planner may make it a join that walks tickets_ticket."""
    inner = tickets.filter(pk=RawSQL(outer_id, ())).order_by().values("pk")
    sql, params = inner.query.sql_with_params()
    return f"EXISTS ({sql}{' OFFSET 0' if probe else ''})", tuple(params)


# ---- cursors ----

def _encode(value: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, float | None, int]:
    try:
        raw = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
        kind = raw[0]
        if kind == "r":
            rank, last = float(raw[1]), int(raw[2])
            if rank != rank or rank in (float("inf"), float("-inf")):  # NaN / infinities
                raise ValueError(rank)
            return kind, rank, last
        if kind in ("n", "f"):
            return kind, None, int(raw[1])
        raise ValueError(kind)
    except (ValueError, TypeError, IndexError, KeyError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput("The cursor is not valid; start again without it.", code="invalid_cursor") from exc


# ---- the two databases ----

class _Backend(ABC):
    """What each database's search does; ``_SQLite`` (FTS5) and ``_Postgres`` (tsvector) implement it."""

    def __init__(self, terms: list[Term]):
        self.terms = terms

    @abstractmethod
    def newest(self, exists, below: int | None, limit: int) -> list[int]:
        """Visible matching ticket ids, newest first, below the keyset id ``below``.
        ``exists(outer_id, probe=False)`` gives the ``EXISTS (…)`` visibility-and-operators
        SQL and params (see ``_exists_sql``)."""

    @abstractmethod
    def scores(self, ids: list[int]) -> dict[int, float]:
        """Relevance of each of ``ids`` (at most ``RANK_LIMIT`` matches), higher is better."""

    @abstractmethod
    def customers(self, limit: int) -> list[int]:
        """Matching customer ids that were not merged away, newest first."""


def _fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


class _SQLite(_Backend):
    """FTS5 with one row per message and one per ticket (``index.py``): a ticket matches
    when each term matches one of its rows. The rows of the terms found in few rows
    (``RARE_ROWS``) are intersected by ticket; each remaining (common) term is checked per
    candidate ticket with a MATCH limited to that ticket's rowid range (a seek). With only
    common terms, the first one's rows are walked newest first and the walk stops after a page."""

    RARE_ROWS = 20_000
    # Where a word is found, for ranking: the subject over the requester over the messages.
    WEIGHTS = {"subject": 10.0, "people": 4.0, "body": 1.0}
    BODY_HITS = 5  # messages counted per term and ticket: a long thread does not win by length

    def __init__(self, terms):
        super().__init__(terms)
        self.matches = [fts5_match([term]) for term in terms]

    @cached_property
    def found(self) -> list[list[int]]:
        """Each term's rows, read once (up to RARE_ROWS + 1) and only by the ticket search
        (not by ``customers``): a rare term's rowids are kept and reused (its tickets, its
        ranking hits); a phrase is matched by FTS5 only here."""
        return [self._rows(match) for match in self.matches]

    @cached_property
    def rows(self) -> list[int]:
        return [len(rowids) for rowids in self.found]

    @staticmethod
    def _rows(match: str) -> list[int]:
        return [row[0] for row in _fetch("SELECT rowid FROM search_ticket_fts WHERE search_ticket_fts MATCH %s "
                                         "LIMIT %s", (match, _SQLite.RARE_ROWS + 1))]

    def _in_ticket(self, match: str, ticket: str) -> tuple[str, list]:
        return (f"EXISTS (SELECT 1 FROM search_ticket_fts(%s) p WHERE p.rowid {index.ticket_range(ticket)})",
                [match])

    def newest(self, exists, below, limit):
        rare = [set(rowid >> index.SLOT_BITS for rowid in rowids)
                for rowids, n in zip(self.found, self.rows, strict=True) if n <= self.RARE_ROWS]
        common = [m for m, n in zip(self.matches, self.rows, strict=True) if n > self.RARE_ROWS]
        params: list = []
        if rare:
            # A few thousand tickets at most: intersected here, handed over newest first
            # (json_each keeps the array's order), read until a page is found.
            tickets = sorted(set.intersection(*rare), reverse=True)
            if below is not None:
                tickets = [pk for pk in tickets if pk < below]
            if not tickets:
                return []
            sql, ticket, order = "SELECT j.value FROM json_each(%s) j", "j.value", ""
            params.append(json.dumps(tickets))
        else:
            # Stream the first common term's rows down the rowid order; stop after a page.
            ticket, order = f"(d.rowid >> {index.SLOT_BITS})", " ORDER BY d.rowid DESC"
            sql = f"SELECT DISTINCT {ticket} FROM search_ticket_fts(%s) d"
            params.append(common.pop(0))
            if below is not None:
                sql += " WHERE d.rowid < %s"
                params.append(below << index.SLOT_BITS)
        # The visibility check (a primary-key probe) before the term checks (FTS5 seeks).
        visible, extra = exists(ticket)
        sql += f" {'AND' if below is not None and not rare else 'WHERE'} {visible}"
        params += extra
        for match in common:
            condition, extra = self._in_ticket(match, ticket)
            sql += f" AND {condition}"
            params += extra
        rows = _fetch(f"{sql}{order} LIMIT %s", (*params, limit))
        return sorted((row[0] for row in rows), reverse=True)

    def scores(self, ids):
        """Where each term is found in the ticket: subject 10, requester 4, each message 1
        (up to 5 messages), summed over the terms. Only the ticket's own rows count — no
        collection statistics (bm25's idf would let the order of an agent's results reveal
        how often a word occurs in tickets they may not see)."""
        result = dict.fromkeys(ids, 0.0)
        if not ids:
            return result
        listed = json.dumps(ids)
        for match, rowids, rows in zip(self.matches, self.found, self.rows, strict=True):
            if rows <= self.RARE_ROWS:  # the term's rows were read already
                hits = [(rowid,) for rowid in rowids if rowid >> index.SLOT_BITS in result]
            else:  # a ranged MATCH per ticket
                hits = _fetch("SELECT f.rowid FROM json_each(%s) j CROSS JOIN search_ticket_fts(%s) f "
                              f"WHERE f.rowid {index.ticket_range('j.value')}", (listed, match))
            headers = [rowid for (rowid,) in hits if not rowid & index.SLOT_MASK]
            titles = _fetch("SELECT f.rowid FROM json_each(%s) j CROSS JOIN search_ticket_fts(%s) f "
                            "WHERE f.rowid = j.value", (json.dumps(headers), "{subject} : " + match)) if headers else []
            in_subject = {rowid >> index.SLOT_BITS for (rowid,) in titles}
            body: dict[int, int] = {}
            for (rowid,) in hits:
                ticket = rowid >> index.SLOT_BITS
                if ticket not in result:
                    continue
                if rowid & index.SLOT_MASK:
                    body[ticket] = min(body.get(ticket, 0) + 1, self.BODY_HITS)
                else:
                    result[ticket] += self.WEIGHTS["subject" if ticket in in_subject else "people"]
            for ticket, count in body.items():
                result[ticket] += self.WEIGHTS["body"] * count
        return result

    def customers(self, limit):
        terms = _customer_terms(self.terms)
        rows = _fetch(
            "SELECT f.rowid FROM search_customer_fts f JOIN customers_customer c ON c.id = f.rowid "
            "WHERE search_customer_fts MATCH %s AND c.merged_into_id IS NULL ORDER BY f.rowid DESC LIMIT %s",
            (fts5_match(terms), limit),
        )
        return [row[0] for row in rows]


def _tsquery(terms: list[Term], *, positions: bool = True) -> tuple[str, list[str]]:
    """A tsquery for ``terms`` built from bound parameters: a phrase per term through
    ``phraseto_tsquery`` (which parses any text), a prefix through ``to_tsquery`` of a quoted
    lexeme made of letters and digits only (``query.WORD``), all joined with ``&&``. Without
    ``positions`` each phrase is the AND of its words (``plainto_tsquery``): what the GIN index
    of ``document`` answers exactly (no positions, so no re-reading of documents)."""
    phrase = "phraseto_tsquery" if positions else "plainto_tsquery"
    parts, params = [], []
    for term in terms:
        if term.prefix:
            parts.append(f"to_tsquery('{PG_CONFIG}', %s)")
            params.append(f"'{term.words[0]}':*")
        else:
            parts.append(f"{phrase}('{PG_CONFIG}', %s)")
            params.append(" ".join(term.words))
    return "(" + " && ".join(parts) + ")", params


def _index_tsquery(terms: list[Term]) -> tuple[str, list[str]]:
    return _tsquery(terms, positions=False)


# The expression the words index (``search_ticket_document_gin``) is built on: the document
# and its ticket's recency bucket, a lexeme '~N' no searched word can be.
_WORDS = "({0}.document || search_bucket({0}.ticket_id))"


def _buckets_tsquery(buckets: range) -> str:
    """The OR of ``buckets`` (fine, ticket ids by 4,096: '~N'), each aligned run of sixteen
    as one coarse bucket ('~~M'): a wide window is a few posting lists, not hundreds."""
    parts, bucket = [], buckets.start
    while bucket < buckets.stop:
        if bucket % 16 == 0 and bucket + 16 <= buckets.stop:
            parts.append(f"'~~{bucket >> 4}'")
            bucket += 16
        else:
            parts.append(f"'~{bucket}'")
            bucket += 1
    return " | ".join(parts)


def _tsquery_literal(lexemes: list[str]) -> str:
    """``'a' & 'b'``: lexemes as they are (no parsing, no dictionary), quoted for tsquery."""
    return " & ".join("'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'" for lexeme in lexemes)


class _Postgres(_Backend):
    """One tsvector document per ticket with a GIN index (``0001_search_index``), and the
    pairs of adjacent words of each document with another (``0004_phrase_pairs``).

    Three shapes, chosen from the planner's estimates of each condition alone (a word, a
    prefix, a pair of a phrase; the smallest bounds the matches), in ``newest``:
    **candidates** when fetching them costs less than walking (``few``) — read from the GIN
    indexes (words, prefixes and phrases' pairs need no positions, so no document is re-read
    to find them), sorted newest first, then checked one by one (visibility, and a phrase's
    positions) until the page is full; **walk** for a share of at least
    ``WALK_SHARE`` — down the ticket ids with the full tsquery as a filter, a page within a
    few thousand documents; **recent** in between — the candidates of the newest recency
    buckets first (``_recent``)."""

    # Relative costs, measured at a million tickets (bench/search.py, README): a walked
    # document ~1 µs (the newest pages are in shared buffers), a fetched candidate ~8–10 µs.
    WALK = 1.0
    FETCH = 10.0
    # Candidates in this share of the documents or more: walk (a page within a few thousand).
    WALK_SHARE = 0.05
    # Recency buckets of the words index (migration 0004, ``search_bucket``).
    BUCKET_BITS = 12
    MAX_BUCKETS = 64

    def __init__(self, terms):
        super().__init__(terms)
        self.tsquery, self.params = _tsquery(terms)

    @cached_property
    def _pairs(self) -> list[list[str]]:
        """Each phrase's pairs as the index stores them: the phrase read by the same parser
        and dictionaries (``search_pairs`` of ``to_tsvector``). One query for all phrases."""
        phrases = [" ".join(term.words) for term in self.terms if len(term.words) > 1]
        if not phrases:
            return []
        columns = ", ".join([f"tsvector_to_array(search_pairs(to_tsvector('{PG_CONFIG}', %s)))"] * len(phrases))
        return [list(found) for found in _fetch(f"SELECT {columns}", phrases)[0]]

    @cached_property
    def _plan(self) -> tuple[float, float, list[tuple[Term, float]], list[tuple[str, float]]]:
        """(documents, the fewest documents any one condition allows — an upper bound of the
        matches —, each word / prefix / pairless phrase with its estimate, each phrase pair
        with its estimate): the planner's estimates, one EXPLAIN of a UNION ALL."""
        terms: list[tuple[Term, str, str]] = []
        phrases = [term for term in self.terms if len(term.words) > 1]
        for term in self.terms:
            if len(term.words) == 1:
                sql, params = _tsquery([term])
                terms.append((term, f"{_WORDS.format('search_ticket_document')} @@ {sql}", params[0]))
        for term, found in zip(phrases, self._pairs, strict=True):
            if not found:  # read as fewer than two words: its words
                terms.append((term, f"{_WORDS.format('search_ticket_document')} @@ plainto_tsquery('{PG_CONFIG}', %s)",
                              " ".join(term.words)))
        pairs = [pair for found in self._pairs for pair in found]
        bounds = [(sql, param) for _, sql, param in terms] + [
            ("pairs @@ %s::tsquery", _tsquery_literal([pair])) for pair in pairs]
        sql = " UNION ALL ".join(["SELECT 1 FROM search_ticket_document"] + [
            f"SELECT 1 FROM search_ticket_document WHERE {condition}" for condition, _ in bounds])
        raw = _fetch(f"EXPLAIN (FORMAT JSON) {sql}", [param for _, param in bounds])[0][0]
        rows = [plan["Plan Rows"] for plan in (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]["Plans"]]
        documents, estimates = rows[0], rows[1:]
        return (documents, min(estimates), [(term, n) for (term, _, _), n in zip(terms, estimates, strict=False)],
                list(zip(pairs, estimates[len(terms):], strict=True)))

    @property
    def _estimates(self) -> tuple[float, float]:
        return self._plan[0], self._plan[1]

    @cached_property
    def _index(self) -> tuple[str, list[str], str, bool]:
        """What the candidates are read with: the words index's tsquery (the words, prefixes
        and pairless phrases) and the pairs index's, each without the conditions found in
        WALK_SHARE of the documents or more (a common word's posting list costs more to read
        than checking the rarer terms' candidates: those are checked on the document, one by
        one, as phrases' positions are), the rarest condition always kept; and whether the
        candidates need that check."""
        documents, fewest, terms, pairs = self._plan
        common = self.WALK_SHARE * documents
        kept_terms = [term for term, n in terms if n < common or n == fewest]
        kept_pairs = [pair for pair, n in pairs if n < common or n == fewest]
        words, params = _index_tsquery(kept_terms) if kept_terms else ("", [])
        pairs_query = f"({_tsquery_literal(kept_pairs)}) | '~all'" if kept_pairs else ""
        check = (len(kept_terms) < len(terms) or any(len(term.words) > 1 for term in self.terms))
        return words, params, pairs_query, check

    def few(self, limit: int) -> bool:
        """Whether reading the candidates costs less than the walk: ``FETCH`` per candidate
        (a heap page, mostly not in shared buffers at a million tickets) against ``WALK``
        per document walked, the walk finding ``limit`` matches the agent may see (half of
        them, say) among documents ``candidates / documents`` of which match."""
        documents, candidates = self._estimates
        return candidates * candidates * self.FETCH <= 2 * limit * max(documents, 1.0) * self.WALK

    def newest(self, exists, below, limit):
        documents, candidates = self._estimates
        if self.few(limit):
            return self._candidates(exists, below, limit)
        if candidates >= self.WALK_SHARE * documents:
            return self._walk(exists, below, limit)
        return self._recent(exists, below, limit, candidates / max(documents, 1.0))

    def _walk(self, exists, below, limit):
        sql, params = exists("search_ticket_document.ticket_id")
        keyset = "AND search_ticket_document.ticket_id < %s " if below is not None else ""
        rows = _fetch(
            "SELECT search_ticket_document.ticket_id FROM search_ticket_document "
            f"WHERE search_ticket_document.document @@ {self.tsquery} {keyset}AND {sql} "
            "ORDER BY search_ticket_document.ticket_id DESC LIMIT %s",
            (*self.params, *([below] if below is not None else []), *params, limit),
        )
        return [row[0] for row in rows]

    def _recent(self, exists, below, limit, share):
        """The candidates of the newest buckets first, a window of buckets at a time: the
        first about wide enough for ``limit`` matches at ``share`` of the documents (a
        quarter of them visible), the next sized by what the windows so far found (four
        times wider after an empty one). The last round (window past MAX_BUCKETS or the
        oldest ticket) takes every older candidate."""
        if below is None:
            top = _fetch("SELECT max(ticket_id) FROM search_ticket_document", ())[0][0]
            if top is None:
                return []
        else:
            top = below - 1
        size = 1 << self.BUCKET_BITS
        high = top >> self.BUCKET_BITS
        width = max(1, math.ceil(4 * limit / share / size))
        found: list[int] = []
        covered = 0
        while high >= 0 and len(found) < limit:
            low = high - width + 1
            if low <= 0 or width > self.MAX_BUCKETS:
                last = (high + 1) << self.BUCKET_BITS
                return found + self._candidates(exists, last if below is None else min(below, last),
                                                limit - len(found))
            found += self._candidates(exists, below, limit - len(found), buckets=range(low, high + 1))
            covered += width
            high = low - 1
            # Wide enough, at the rate found so far, for what is missing (and a half more).
            width = (math.ceil(1.5 * (limit - len(found)) * covered / len(found)) if found else 4 * width)
        return found

    def _candidates(self, exists, below, limit, buckets: range | None = None):
        # The candidates sorted in a subquery (OFFSET 0 keeps it one), then checked lazily in
        # that order: each check a primary-key probe (OFFSET 0 keeps each EXISTS a probe, not
        # a join that would walk tickets_ticket), stopping at ``limit``.
        words, params, pairs, check = self._index
        params = list(params)
        if buckets is not None:
            words = f"({words} && %s::tsquery)" if words else "%s::tsquery"
            params.append(_buckets_tsquery(buckets))
        conditions = [f"{_WORDS.format('d')} @@ {words}"] if words else []
        if pairs:
            conditions.append("d.pairs @@ %s::tsquery")
            params.append(pairs)
        if below is not None:
            conditions.append("d.ticket_id < %s")
            params.append(below)
        visible, extra = exists("c.ticket_id", probe=True)
        checks = [visible]
        check_params = list(extra)
        if check:
            checks.insert(0, f"EXISTS (SELECT 1 FROM search_ticket_document e WHERE e.ticket_id = c.ticket_id "
                             f"AND e.document @@ {self.tsquery} OFFSET 0)")
            check_params = [*self.params, *check_params]
        rows = _fetch(
            f"SELECT c.ticket_id FROM (SELECT d.ticket_id FROM search_ticket_document d "
            f"WHERE {' AND '.join(conditions)} ORDER BY d.ticket_id DESC OFFSET 0) c "
            f"WHERE {' AND '.join(checks)} ORDER BY c.ticket_id DESC LIMIT %s",
            (*params, *check_params, limit),
        )
        return [row[0] for row in rows]

    def scores(self, ids):
        # ts_rank with the weights A (subject) 1.0, B (requester) 0.4, D (messages) 0.1.
        rows = _fetch(
            f"SELECT ticket_id, ts_rank(document, {self.tsquery})::float8 FROM search_ticket_document "
            "WHERE ticket_id = ANY(%s)", (*self.params, list(ids)))
        return {pk: rank for pk, rank in rows}

    def customers(self, limit):
        tsquery, params = _tsquery(_customer_terms(self.terms))
        rows = _fetch(
            "SELECT d.customer_id FROM search_customer_document d JOIN customers_customer c "
            f"ON c.id = d.customer_id WHERE d.document @@ {tsquery} AND c.merged_into_id IS NULL "
            "ORDER BY d.customer_id DESC LIMIT %s",
            (*params, limit),
        )
        return [row[0] for row in rows]


def _customer_terms(terms: list[Term]) -> list[Term]:
    """Customers are looked up as the agent types: the last word also matches as a prefix."""
    last = terms[-1]
    if len(last.words) == 1 and not last.prefix:
        return [*terms[:-1], Term(words=last.words, prefix=True)]
    return terms


def _backend(terms: list[Term]) -> _Backend:
    return _Postgres(terms) if connection.vendor == "postgresql" else _SQLite(terms)


# ---- the service ----

def ticket_search(*, agent: Agent, query: ParsedQuery, cursor: str | None = None,
                  limit: int = PAGE_SIZE) -> tuple[list[int], str | None, bool]:
    """Ids of one page of the tickets ``agent`` may see matching ``query``, the cursor of the
    next page (None at the end), and whether the page is ranked by relevance (else newest
    first). Raises ``InvalidInput`` for a bad cursor."""
    if query.is_empty:
        return [], None, False
    kind, rank, last = _decode(cursor) if cursor else (None, None, None)
    tickets = candidates(agent=agent, query=query)
    if not query.terms:
        if kind not in (None, "f"):
            raise InvalidInput("The cursor is not valid; start again without it.", code="invalid_cursor")
        page = tickets.order_by("-pk")
        if last is not None:
            page = page.filter(pk__lt=last)
        ids = list(page.values_list("pk", flat=True)[: limit + 1])
        more = len(ids) > limit
        return ids[:limit], _encode(["f", ids[limit - 1]]) if more else None, False
    if kind not in (None, "r", "n"):
        raise InvalidInput("The cursor is not valid; start again without it.", code="invalid_cursor")
    backend = _backend(query.terms)

    def exists(outer_id: str, *, probe: bool = False) -> tuple[str, tuple]:
        return _exists_sql(tickets, outer_id, probe=probe)

    if kind in (None, "r"):
        # The shape is chosen by the matches this agent may see, counted no further than
        # RANK_LIMIT + 1: what other groups' tickets hold changes nothing on this page.
        matches = backend.newest(exists, None, RANK_LIMIT + 1)
        if kind == "r" or len(matches) <= RANK_LIMIT:
            return _ranked_page(backend, matches[:RANK_LIMIT], (rank, last) if last is not None else None, limit)
        ids = matches[: limit + 1]
    else:
        ids = backend.newest(exists, last, limit + 1)
    more = len(ids) > limit
    return ids[:limit], _encode(["n", ids[limit - 1]]) if more else None, False


def _ranked_page(backend: _Backend, matches: list[int], after: tuple[float, int] | None,
                 limit: int) -> tuple[list[int], str | None, bool]:
    scores = backend.scores(matches)
    rows = sorted(((scores.get(pk, 0.0), pk) for pk in matches), key=lambda row: (-row[0], -row[1]))
    if after is not None:
        rows = [row for row in rows if row[0] < after[0] or (row[0] == after[0] and row[1] < after[1])]
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode(["r", rows[-1][0], rows[-1][1]]) if more else None
    return [pk for _, pk in rows], next_cursor, True


def tickets_by_ids(ids: list[int]) -> list[Ticket]:
    """The rows for ``ids`` in that order, with what a result row shows."""
    if not ids:
        return []
    rows = (with_list_columns(Ticket.objects.filter(pk__in=ids))
            .select_related("requester", "group", "assignee").prefetch_related("tags"))
    by_id = {ticket.pk: ticket for ticket in rows}
    return [by_id[pk] for pk in ids if pk in by_id]


def customer_search(*, query: ParsedQuery, limit: int = CUSTOMER_LIMIT) -> list[Customer]:
    """Customers (not merged away) whose name or email addresses hold every word (the last
    one as a prefix), or whose email address starts with a ``from:`` value or a typed
    address. Every agent may look customers up."""
    ids: list[int] = []
    for sender in query.senders:
        ids += ContactPoint.objects.filter(_prefix("value", sender), kind=ContactKind.EMAIL,
                                           customer__merged_into__isnull=True) \
            .values_list("customer_id", flat=True)[:limit]
    if query.terms:
        ids += _backend(query.terms).customers(limit)
    if not ids:
        return []
    return list(Customer.objects.filter(pk__in=set(ids)).select_related("organization")
                .prefetch_related("contact_points").order_by("name", "id")[:limit])


def search(*, agent: Agent, text: str, cursor: str | None = None, limit: int = PAGE_SIZE) -> SearchResults:
    """The search box: a visible ticket's reference alone opens just that ticket; else one
    page of matching tickets (each with a snippet) and, on the first page, matching
    customers. Raises ``BadQuery`` (text for the agent) or ``InvalidInput`` (bad cursor)."""
    query = parse(text)
    reference = query.text.replace(" ", "").upper()
    if not cursor and 2 <= len(reference) <= 16 and reference.isalnum():
        exact = tickets_by_ids(list(tickets_visible_to(agent=agent).filter(reference=reference)
                                    .values_list("pk", flat=True)))
        if exact:
            for ticket in exact:
                ticket.snippet = SafeString("")
            return SearchResults(query=query.text, tickets=exact, customers=[], parsed=query)
    ids, next_cursor, ranked = ticket_search(agent=agent, query=query, cursor=cursor, limit=limit)
    tickets = tickets_by_ids(ids)
    found = snippets(ids, query.terms)
    for ticket in tickets:
        ticket.snippet = found.get(ticket.pk, SafeString(""))
    customers = [] if cursor else customer_search(query=query)
    return SearchResults(query=query.text, tickets=tickets, customers=customers, next_cursor=next_cursor,
                         ranked=ranked, parsed=query, terms=query.terms)


# ---- snippets ----

def _matches(word: str, terms: list[Term]) -> bool:
    folded = fold(word)
    for term in terms:
        for position, expected in enumerate(term.words):
            last = position == len(term.words) - 1
            if folded == expected or (term.prefix and last and folded.startswith(expected)):
                return True
    return False


def highlight(text: str, terms: list[Term]) -> SafeString:
    """A piece of ``text`` around its first matching word, HTML-escaped, with every matching
    word in ``<mark>``; empty when no word matches."""
    words = [m for m in WORD.finditer(text) if _matches(m.group(), terms)]
    if not words:
        return SafeString("")
    start = max(0, words[0].start() - SNIPPET_BEFORE)
    end = min(len(text), words[0].start() + SNIPPET_AFTER)
    # Widen to word boundaries so no word is cut in half.
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    out, at = [], start
    for match in words:
        if match.start() < start or match.end() > end:
            continue
        out.append(escape(text[at:match.start()]))
        out.append(f"<mark>{escape(match.group())}</mark>")
        at = match.end()
    out.append(escape(text[at:end]))
    piece = "".join(out).strip()
    return mark_safe(("… " if start > 0 else "") + " ".join(piece.split()) + (" …" if end < len(text) else ""))  # noqa: S308 — escaped above


def snippets(ticket_ids: list[int], terms: list[Term], *, per_ticket: int = 20) -> dict[int, SafeString]:
    """For each ticket, a highlighted piece of its newest message that holds a searched word
    (internal notes included: only agents search). Reads at most ``per_ticket`` messages of
    each ticket, newest first."""
    if not ticket_ids or not terms:
        return {}
    found: dict[int, SafeString] = {}
    seen: dict[int, int] = {}
    messages = Message.objects.filter(ticket_id__in=ticket_ids).order_by("-id").values_list("ticket_id", "body_text")
    for ticket_id, body in messages.iterator(chunk_size=200):
        if ticket_id in found or seen.get(ticket_id, 0) >= per_ticket:
            continue
        seen[ticket_id] = seen.get(ticket_id, 0) + 1
        piece = highlight(body, terms)
        if piece:
            found[ticket_id] = piece
        if len(found) == len(ticket_ids):
            break
    return found
