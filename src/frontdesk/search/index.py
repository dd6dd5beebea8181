"""The SQLite search index's layout and the SQL that keeps it, rebuilds it and suspends it.

SQLite (FTS5, table ``search_ticket_fts``): **one row per message plus one per ticket**, so a
new message costs one small FTS5 insert (its own words), never a rewrite of the ticket's thread.

    rowid = ticket id << SLOT_BITS | slot
    slot 0          the ticket: subject, people (requester's name and email addresses)
    slot 1, 2, …    its messages, in the order they were indexed: body, message_id (UNINDEXED)

The rowid keeps a ticket's rows side by side and tickets in id order, so "newest tickets
first" is still a walk down FTS5's doclists in rowid order (``rowid >> SLOT_BITS`` is the
ticket), and "does ticket T contain word W" is a MATCH limited to T's rowid range
(``ticket_range``), which FTS5 answers with a seek. ``selectors`` groups rows by ticket.

PostgreSQL keeps one ``tsvector`` document per ticket (``0001_search_index``); a new message
is appended to it there. Its adjacent word pairs are a generated column with their own GIN
index, and the words index holds each ticket's recency bucket (``0004_phrase_pairs``). This
module's rebuild and suspend work on both databases.
"""

# ruff: noqa: S608 — every statement here is built from constants of this module, no input.
from __future__ import annotations

from contextlib import contextmanager

from django.db import connection, transaction

SLOT_BITS = 24  # 16.7 million messages per ticket; ticket ids up to 2**39
SLOT_MASK = (1 << SLOT_BITS) - 1
BODY_CHARS = 100_000  # of each message (PostgreSQL: of a ticket's newest messages)
TOKENIZER = "tokenize = 'unicode61 remove_diacritics 2'"


def ticket_range(ticket: str) -> str:
    """SQL: the rowids of ``ticket``'s rows (``ticket`` is an SQL expression)."""
    return f"BETWEEN (({ticket}) << {SLOT_BITS}) AND (({ticket}) << {SLOT_BITS}) + {SLOT_MASK}"


def _people(customer: str) -> str:
    return (
        f"coalesce((SELECT c.name FROM customers_customer c WHERE c.id = {customer}), '') || ' ' || "
        "coalesce((SELECT group_concat(p.value, ' ') FROM customers_contactpoint p "
        f"WHERE p.customer_id = {customer} AND p.kind = 'email'), '')"
    )


def _header_insert(ticket: str) -> str:
    return (f"INSERT INTO search_ticket_fts(rowid, subject, people) SELECT t.id << {SLOT_BITS}, t.subject, "
            f"{_people('t.requester_id')} FROM tickets_ticket t WHERE t.id = {ticket};")


def _headers_of(customers: str) -> str:
    """Rewrite the people column of the header rows of the tickets of ``customers``."""
    return (f"UPDATE search_ticket_fts SET people = (SELECT {_people('t.requester_id')} FROM tickets_ticket t "
            f"WHERE t.id = search_ticket_fts.rowid >> {SLOT_BITS}) WHERE rowid IN "
            f"(SELECT t.id << {SLOT_BITS} FROM tickets_ticket t WHERE t.requester_id IN ({customers}));")


def _message_insert(message: str) -> str:
    # The next free slot of the ticket: one past its highest indexed row (a ranged lookup).
    return (
        f"INSERT INTO search_ticket_fts(rowid, body, message_id) VALUES (coalesce((SELECT f.rowid "
        f"FROM search_ticket_fts f WHERE f.rowid {ticket_range(f'{message}.ticket_id')} "
        f"ORDER BY f.rowid DESC LIMIT 1), {message}.ticket_id << {SLOT_BITS}) + 1, "
        f"substr({message}.body_text, 1, {BODY_CHARS}), {message}.id);"
    )


def _message_delete(message: str) -> str:
    return (f"DELETE FROM search_ticket_fts WHERE rowid {ticket_range(f'{message}.ticket_id')} "
            f"AND message_id = {message}.id;")


def _customer_refresh(customer: str) -> str:
    return (
        f"DELETE FROM search_customer_fts WHERE rowid = {customer};\n"
        "INSERT INTO search_customer_fts(rowid, name, emails) SELECT c.id, c.name, "
        "coalesce((SELECT group_concat(p.value, ' ') FROM customers_contactpoint p "
        f"WHERE p.customer_id = c.id AND p.kind = 'email'), '') FROM customers_customer c WHERE c.id = {customer};"
    )


SQLITE_TRIGGERS = {
    "search_ticket_insert": f"AFTER INSERT ON tickets_ticket BEGIN {_header_insert('NEW.id')} END",
    "search_ticket_update": f"""AFTER UPDATE OF subject, requester_id ON tickets_ticket
        WHEN OLD.subject IS NOT NEW.subject OR OLD.requester_id IS NOT NEW.requester_id BEGIN
        DELETE FROM search_ticket_fts WHERE rowid = NEW.id << {SLOT_BITS};
        {_header_insert('NEW.id')} END""",
    "search_ticket_delete": f"""AFTER DELETE ON tickets_ticket BEGIN
        DELETE FROM search_ticket_fts WHERE rowid {ticket_range('OLD.id')}; END""",
    "search_message_insert": f"AFTER INSERT ON tickets_message BEGIN {_message_insert('NEW')} END",
    "search_message_edit": f"""AFTER UPDATE OF body_text ON tickets_message
        WHEN OLD.body_text IS NOT NEW.body_text AND OLD.ticket_id IS NEW.ticket_id BEGIN
        UPDATE search_ticket_fts SET body = substr(NEW.body_text, 1, {BODY_CHARS})
          WHERE rowid {ticket_range('NEW.ticket_id')} AND message_id = NEW.id; END""",
    "search_message_move": f"""AFTER UPDATE OF ticket_id ON tickets_message
        WHEN OLD.ticket_id IS NOT NEW.ticket_id BEGIN
        {_message_delete('OLD')} {_message_insert('NEW')} END""",
    "search_message_delete": f"AFTER DELETE ON tickets_message BEGIN {_message_delete('OLD')} END",
    "search_customer_insert": f"AFTER INSERT ON customers_customer BEGIN {_customer_refresh('NEW.id')} END",
    "search_customer_update": f"""AFTER UPDATE OF name ON customers_customer
        WHEN OLD.name IS NOT NEW.name BEGIN
        {_customer_refresh('NEW.id')} {_headers_of('NEW.id')} END""",
    "search_customer_delete": """AFTER DELETE ON customers_customer BEGIN
        DELETE FROM search_customer_fts WHERE rowid = OLD.id; END""",
    "search_contact_insert": f"""AFTER INSERT ON customers_contactpoint WHEN NEW.kind = 'email' BEGIN
        {_customer_refresh('NEW.customer_id')} {_headers_of('NEW.customer_id')} END""",
    "search_contact_update": f"""AFTER UPDATE OF value, kind, customer_id ON customers_contactpoint
        WHEN OLD.value IS NOT NEW.value OR OLD.kind IS NOT NEW.kind OR OLD.customer_id IS NOT NEW.customer_id
        BEGIN
        {_customer_refresh('OLD.customer_id')} {_customer_refresh('NEW.customer_id')}
        {_headers_of('OLD.customer_id, NEW.customer_id')} END""",
    "search_contact_delete": f"""AFTER DELETE ON customers_contactpoint WHEN OLD.kind = 'email' BEGIN
        {_customer_refresh('OLD.customer_id')} {_headers_of('OLD.customer_id')} END""",
}

SQLITE_TABLES = {
    "search_ticket_fts": f"fts5(subject, people, body, message_id UNINDEXED, {TOKENIZER})",
    "search_customer_fts": f"fts5(name, emails, {TOKENIZER})",
}

# The bulk fill: headers, then messages numbered within their ticket, in rowid order (FTS5
# builds its segments fastest from ascending rowids).
SQLITE_FILL = [
    f"""INSERT INTO search_ticket_fts(rowid, subject, people)
        SELECT t.id << {SLOT_BITS}, t.subject, coalesce(c.name, '') || ' ' || coalesce(e.emails, '')
        FROM tickets_ticket t LEFT JOIN customers_customer c ON c.id = t.requester_id
        LEFT JOIN (SELECT customer_id, group_concat(value, ' ') AS emails FROM customers_contactpoint
                   WHERE kind = 'email' GROUP BY customer_id) e ON e.customer_id = t.requester_id
        ORDER BY t.id""",
    f"""INSERT INTO search_ticket_fts(rowid, body, message_id)
        SELECT (m.ticket_id << {SLOT_BITS}) + row_number() OVER (PARTITION BY m.ticket_id ORDER BY m.id),
               substr(m.body_text, 1, {BODY_CHARS}), m.id
        FROM tickets_message m ORDER BY m.ticket_id, m.id""",
    """INSERT INTO search_customer_fts(rowid, name, emails)
        SELECT c.id, c.name, coalesce(e.emails, '') FROM customers_customer c
        LEFT JOIN (SELECT customer_id, group_concat(value, ' ') AS emails FROM customers_contactpoint
                   WHERE kind = 'email' GROUP BY customer_id) e ON e.customer_id = c.id ORDER BY c.id""",
    # Merge the segments the fill wrote into one b-tree per index: fewer segments, faster
    # ranged lookups (measured: a MATCH limited to one ticket's rows 26 µs → 11 µs).
    "INSERT INTO search_ticket_fts(search_ticket_fts) VALUES ('optimize')",
    "INSERT INTO search_customer_fts(search_customer_fts) VALUES ('optimize')",
]


def sqlite_install(cursor, *, fill: bool = True, step=None) -> None:
    """Create the FTS5 tables (empty), fill them from the data when ``fill``, add the
    triggers. ``step(label)`` is called before each bulk statement (progress)."""
    for name, module in SQLITE_TABLES.items():
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(f"CREATE VIRTUAL TABLE {name} USING {module}")
    if fill:
        for statement in SQLITE_FILL:
            if step:
                step(_label(statement))
            cursor.execute(statement)
    for name, body in SQLITE_TRIGGERS.items():
        cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(f"CREATE TRIGGER {name} {body}")


def _label(statement: str) -> str:
    return " ".join(statement.split()[:4])


def sqlite_drop_triggers(cursor) -> None:
    for name in SQLITE_TRIGGERS:
        cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


# ---- PostgreSQL ----

# (table, trigger): every trigger that keeps the index, including the statement-level insert
# triggers of migrations 0003 and 0005.
PG_TRIGGERS = [
    ("tickets_ticket", "search_ticket_changed"),
    ("tickets_ticket", "search_tickets_inserted"),
    ("tickets_message", "search_message_changed"),
    ("customers_customer", "search_customer_changed"),
    ("customers_customer", "search_customers_inserted"),
    ("customers_contactpoint", "search_contact_changed"),
    ("customers_contactpoint", "search_contacts_inserted"),
]

PG_CONFIG = "frontdesk_search"
_EMAILS = ("(SELECT customer_id, string_agg(value, ' ') AS emails FROM customers_contactpoint "
           "WHERE kind = 'email' GROUP BY customer_id)")

# The same documents as search_ticket_refresh / search_customer_refresh, for every row at
# once, with the GIN indexes dropped meanwhile (one sorted build beats a million inserts).
# A ticket document's ``pairs`` (migration 0004) is a generated column: computed by the insert.
PG_FILL = [
    "TRUNCATE search_ticket_document, search_customer_document",
    "DROP INDEX IF EXISTS search_ticket_document_gin",
    "DROP INDEX IF EXISTS search_ticket_document_pairs_gin",
    "DROP INDEX IF EXISTS search_customer_document_gin",
    f"""INSERT INTO search_ticket_document (ticket_id, document)
        SELECT t.id,
          setweight(to_tsvector('{PG_CONFIG}', search_words(t.subject)), 'A') ||
          setweight(to_tsvector('{PG_CONFIG}',
                                search_words(coalesce(c.name, '') || ' ' || coalesce(e.emails, ''))), 'B') ||
          setweight(to_tsvector('{PG_CONFIG}', search_words(left(coalesce(b.body, ''), {BODY_CHARS}))), 'D')
        FROM tickets_ticket t
        LEFT JOIN customers_customer c ON c.id = t.requester_id
        LEFT JOIN {_EMAILS} e ON e.customer_id = t.requester_id
        LEFT JOIN (SELECT ticket_id, string_agg(body_text, E'\\n' ORDER BY id DESC) AS body FROM tickets_message
                   GROUP BY ticket_id) b ON b.ticket_id = t.id""",
    f"""INSERT INTO search_customer_document (customer_id, document)
        SELECT c.id, to_tsvector('{PG_CONFIG}', search_words(c.name || ' ' || coalesce(e.emails, '')))
        FROM customers_customer c LEFT JOIN {_EMAILS} e ON e.customer_id = c.id""",
    "CREATE INDEX search_ticket_document_gin ON search_ticket_document "
    "USING gin ((document || search_bucket(ticket_id)))",
    "CREATE INDEX search_ticket_document_pairs_gin ON search_ticket_document USING gin (pairs)",
    "CREATE INDEX search_customer_document_gin ON search_customer_document USING gin (document)",
    "ANALYZE search_ticket_document",
    "ANALYZE search_customer_document",
]


def _set_pg_triggers(cursor, *, enabled: bool) -> None:
    verb = "ENABLE" if enabled else "DISABLE"
    if connection.in_atomic_block:
        # ALTER TABLE refuses a table with deferred foreign-key checks pending in this
        # transaction: run them now (Django's FKs are DEFERRABLE INITIALLY DEFERRED).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    for table, trigger in PG_TRIGGERS:
        cursor.execute(f"ALTER TABLE {table} {verb} TRIGGER {trigger}")


# ---- both ----

def rebuild_steps() -> int:
    """How many times ``rebuild`` calls its ``step`` (for a progress bar)."""
    return len(SQLITE_FILL) if connection.vendor == "sqlite" else len(PG_FILL)


def rebuild(*, step=None) -> None:
    """Rebuild every search document from the data, in one transaction (readers see the old
    index until it commits). Bulk statements: at a million tickets, minutes, not hours."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            sqlite_install(cursor, fill=True, step=step)
        elif connection.vendor == "postgresql":
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for statement in PG_FILL:
                if step:
                    step(_label(statement))
                cursor.execute(statement)


@contextmanager
def suspended(*, step=None):
    """Bulk loading: the index is not kept meanwhile (triggers dropped on SQLite, disabled
    on PostgreSQL); on leaving — also on an error — the triggers come back and the whole
    index is rebuilt, so it never stays behind the data."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            sqlite_drop_triggers(cursor)
        elif connection.vendor == "postgresql":
            _set_pg_triggers(cursor, enabled=False)
    try:
        yield
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                _set_pg_triggers(cursor, enabled=True)
        rebuild(step=step)  # SQLite: recreates the triggers too
