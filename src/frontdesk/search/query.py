"""The search box's query syntax, parsed once into a ``ParsedQuery`` both databases use.

    refund "credit card" print*  status:open status:pending tag:vip from:ana@example.org
    assignee:me|none|EMAIL  group:Billing  before:2026-01-31  after:2026-01-01  is:unassigned

Bare words must all match (anywhere in the ticket: subject, any message — public or internal
— or the requester's name and email addresses); ``"…"`` is an exact phrase; ``word*`` a
prefix. Operators filter; a word with an ``@`` inside is an address (or its start) and acts as
``from:``. An unknown ``key:value`` is searched as text (the phrase "key
value"). Nothing typed here ever reaches a database's query language unquoted: the backends
build their MATCH / tsquery text from the ``terms`` only (see ``fts5_match``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from frontdesk.core.errors import InvalidInput
from frontdesk.tickets.models import Status

MAX_QUERY_LENGTH = 500  # characters considered; the rest is ignored (a 10 KB paste is not an error)
MAX_TERMS = 12  # text terms kept; each one is another index lookup
OPERATORS = {"status", "tag", "from", "assignee", "group", "before", "after", "is"}
IS_VALUES = {"unassigned"}
# Words are what both indexes call words: letters and digits (FTS5 unicode61, PostgreSQL's
# parser); "o'brien" is two words, searched as the phrase "o brien".
WORD = re.compile(r"[^\W_]+")
TOKEN = re.compile(r'"([^"]*)"?|(\S+)')


class BadQuery(InvalidInput):
    code = "invalid_query"


@dataclass(frozen=True)
class Term:
    """Text to find: one word, or several words in this order (a phrase); ``prefix`` makes
    the last word match any word starting with it."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass
class ParsedQuery:
    text: str  # the query as considered (whitespace collapsed, cut at MAX_QUERY_LENGTH)
    terms: list[Term] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    senders: list[str] = field(default_factory=list)  # email addresses or prefixes, lowercased
    assignee: str = ""  # "me", "none", or an agent's email
    groups: list[str] = field(default_factory=list)
    before: datetime | None = None
    after: datetime | None = None
    unassigned: bool = False

    @property
    def has_filters(self) -> bool:
        return bool(self.statuses or self.tags or self.senders or self.assignee or self.groups
                    or self.before or self.after or self.unassigned)

    @property
    def is_empty(self) -> bool:
        return not self.terms and not self.has_filters


def fold(text: str) -> str:
    """Lowercase without diacritics ("Café" → "cafe"): what both indexes store. ``lower``,
    not ``casefold``: FTS5 keeps "ß" as it is, and so must the query."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _day(value: str, name: str) -> datetime:
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise BadQuery(f"{name} needs a date written YYYY-MM-DD (e.g. {name}2026-01-31), not “{value}”.") from exc
    if not 1900 <= day.year <= 8999:
        raise BadQuery(f"{name} the year must be between 1900 and 8999.")
    return datetime.combine(day, time.min, tzinfo=UTC)


def _text_term(raw: str, *, phrase: bool = False) -> Term | None:
    words = tuple(fold(w) for w in WORD.findall(raw))
    if not words:
        return None
    prefix = not phrase and raw.endswith("*") and len(words) == 1
    return Term(words=words, prefix=prefix)


def parse(raw: str) -> ParsedQuery:
    """Parse the search box's text. Raises ``BadQuery`` (its text is shown to the agent) for
    a date that is not a date or a status that does not exist; everything else is accepted."""
    text = " ".join(raw[:MAX_QUERY_LENGTH].split())
    query = ParsedQuery(text=text)
    for match in TOKEN.finditer(text):
        quoted, token = match.group(1), match.group(2)
        if quoted is not None:
            term = _text_term(quoted, phrase=True)
        else:
            key, sep, value = token.partition(":")
            key = key.lower()
            if sep and value and key in OPERATORS:
                if _apply_operator(query, key, value):
                    continue
            elif "@" in token.strip("@"):
                # A typed address (or its start) finds that requester, as from: does.
                query.senders.append(token.lower())
                continue
            term = _text_term(token)
        if term is not None and term not in query.terms and len(query.terms) < MAX_TERMS:
            query.terms.append(term)
    return query


def _apply_operator(query: ParsedQuery, key: str, value: str) -> bool:
    """Record ``key:value``; False when it is to be searched as text instead."""
    lowered = value.lower()
    if key == "status":
        for status in lowered.split(","):
            if status not in Status.values:
                raise BadQuery(f"status:{status} is not a status; use one of {', '.join(Status.values)}.")
            query.statuses.append(status)
    elif key == "tag":
        query.tags.append(lowered)
    elif key == "from":
        query.senders.append(lowered)
    elif key == "assignee":
        query.assignee = lowered
    elif key == "group":
        query.groups.append(value)
    elif key == "before":
        query.before = _day(value, "before:")
    elif key == "after":
        query.after = _day(value, "after:")
    elif key == "is":
        if lowered not in IS_VALUES:
            return False
        query.unassigned = True
    return True


def fts5_match(terms: list[Term]) -> str:
    """The FTS5 MATCH expression for ``terms``: every word double-quoted (quotes inside
    doubled), so no FTS5 syntax (AND, NEAR(, *, ^, column:) can come from the user; a prefix
    is a quoted string followed by ``*``; terms side by side mean all must match."""
    parts = []
    for term in terms:
        quoted = '"' + " ".join(word.replace('"', '""') for word in term.words) + '"'
        parts.append(quoted + ("*" if term.prefix else ""))
    return " ".join(parts)
