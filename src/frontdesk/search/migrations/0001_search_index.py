"""The full-text indexes and the SQL triggers that keep them in step with the data.

One search document per ticket (subject, the requester's name and email addresses, every
message body, public and internal) and one per customer (name, email addresses). Triggers on
the source tables rewrite a ticket's document whenever any of its parts changes, inside the
statement that changed it: every write path (services, bulk updates, merges, deletes, raw
SQL, loaddata) stays in one transaction with its index, and no Python code has to remember.

SQLite: FTS5 tables (``unicode61 remove_diacritics 2``), rowid = ticket / customer id.
PostgreSQL: tables of ``tsvector`` documents with GIN indexes, text search configuration
``frontdesk_search`` = ``simple`` + ``unaccent`` (plain ``simple`` when the unaccent
extension cannot be created). Existing rows are indexed here, one INSERT … SELECT each.
"""

from django.db import migrations, transaction

# ruff: noqa: S608 — every statement here is built from constants of this file, no input.

# At most this many characters of a ticket's messages are indexed, newest first (a
# PostgreSQL tsvector is limited to 1 MB; a runaway mail thread must not fail a write).
BODY_CHARS = 100_000

# ---- SQLite ----

SQLITE_TICKET_DOC = f"""
SELECT t.id, t.subject,
  coalesce((SELECT c.name FROM customers_customer c WHERE c.id = t.requester_id), '') || ' ' ||
  coalesce((SELECT group_concat(p.value, ' ') FROM customers_contactpoint p
            WHERE p.customer_id = t.requester_id AND p.kind = 'email'), ''),
  substr(coalesce((SELECT group_concat(body_text, char(10)) FROM
            (SELECT m.body_text FROM tickets_message m WHERE m.ticket_id = t.id ORDER BY m.id DESC)), ''),
         1, {BODY_CHARS})
FROM tickets_ticket t"""


def _sqlite_ticket_refresh(where: str) -> str:
    return (
        f"DELETE FROM search_ticket_fts WHERE rowid IN (SELECT t.id FROM tickets_ticket t WHERE {where});\n"
        f"INSERT INTO search_ticket_fts(rowid, subject, people, body) {SQLITE_TICKET_DOC} WHERE {where};"
    )


def _sqlite_customer_refresh(customer: str) -> str:
    return (
        f"DELETE FROM search_customer_fts WHERE rowid = {customer};\n"
        "INSERT INTO search_customer_fts(rowid, name, emails) SELECT c.id, c.name, "
        "coalesce((SELECT group_concat(p.value, ' ') FROM customers_contactpoint p "
        f"WHERE p.customer_id = c.id AND p.kind = 'email'), '') FROM customers_customer c WHERE c.id = {customer};"
    )


SQLITE_TRIGGERS = {
    "search_ticket_insert": f"""AFTER INSERT ON tickets_ticket BEGIN
        {_sqlite_ticket_refresh("t.id = NEW.id")} END""",
    "search_ticket_update": f"""AFTER UPDATE OF subject, requester_id ON tickets_ticket
        WHEN OLD.subject IS NOT NEW.subject OR OLD.requester_id IS NOT NEW.requester_id BEGIN
        {_sqlite_ticket_refresh("t.id = NEW.id")} END""",
    "search_ticket_delete": """AFTER DELETE ON tickets_ticket BEGIN
        DELETE FROM search_ticket_fts WHERE rowid = OLD.id; END""",
    "search_message_insert": f"""AFTER INSERT ON tickets_message BEGIN
        {_sqlite_ticket_refresh("t.id = NEW.ticket_id")} END""",
    "search_message_update": f"""AFTER UPDATE OF body_text, ticket_id ON tickets_message
        WHEN OLD.body_text IS NOT NEW.body_text OR OLD.ticket_id IS NOT NEW.ticket_id BEGIN
        {_sqlite_ticket_refresh("t.id IN (OLD.ticket_id, NEW.ticket_id)")} END""",
    "search_message_delete": f"""AFTER DELETE ON tickets_message BEGIN
        {_sqlite_ticket_refresh("t.id = OLD.ticket_id")} END""",
    "search_customer_insert": f"""AFTER INSERT ON customers_customer BEGIN
        {_sqlite_customer_refresh("NEW.id")} END""",
    "search_customer_update": f"""AFTER UPDATE OF name ON customers_customer
        WHEN OLD.name IS NOT NEW.name BEGIN
        {_sqlite_customer_refresh("NEW.id")}
        {_sqlite_ticket_refresh("t.requester_id = NEW.id")} END""",
    "search_customer_delete": """AFTER DELETE ON customers_customer BEGIN
        DELETE FROM search_customer_fts WHERE rowid = OLD.id; END""",
    "search_contact_insert": f"""AFTER INSERT ON customers_contactpoint WHEN NEW.kind = 'email' BEGIN
        {_sqlite_customer_refresh("NEW.customer_id")}
        {_sqlite_ticket_refresh("t.requester_id = NEW.customer_id")} END""",
    "search_contact_update": f"""AFTER UPDATE OF value, kind, customer_id ON customers_contactpoint
        WHEN OLD.value IS NOT NEW.value OR OLD.kind IS NOT NEW.kind OR OLD.customer_id IS NOT NEW.customer_id
        BEGIN
        {_sqlite_customer_refresh("OLD.customer_id")}
        {_sqlite_customer_refresh("NEW.customer_id")}
        {_sqlite_ticket_refresh("t.requester_id IN (OLD.customer_id, NEW.customer_id)")} END""",
    "search_contact_delete": f"""AFTER DELETE ON customers_contactpoint WHEN OLD.kind = 'email' BEGIN
        {_sqlite_customer_refresh("OLD.customer_id")}
        {_sqlite_ticket_refresh("t.requester_id = OLD.customer_id")} END""",
}

# A customer whose row is being deleted leaves its FTS row to search_customer_delete; the
# refresh's INSERT … SELECT finds no customer and inserts nothing.


def sqlite_forwards(cursor) -> None:
    tokenizer = "tokenize = 'unicode61 remove_diacritics 2'"
    # Regular (content-storing) FTS5 tables: a row can be deleted by rowid alone, which a
    # trigger needs (contentless_delete=1 would avoid the copy but needs SQLite 3.43).
    cursor.execute(f"CREATE VIRTUAL TABLE search_ticket_fts USING fts5(subject, people, body, {tokenizer})")
    cursor.execute(f"CREATE VIRTUAL TABLE search_customer_fts USING fts5(name, emails, {tokenizer})")
    cursor.execute(f"INSERT INTO search_ticket_fts(rowid, subject, people, body) {SQLITE_TICKET_DOC}")
    cursor.execute(
        "INSERT INTO search_customer_fts(rowid, name, emails) SELECT c.id, c.name, "
        "coalesce((SELECT group_concat(p.value, ' ') FROM customers_contactpoint p "
        "WHERE p.customer_id = c.id AND p.kind = 'email'), '') FROM customers_customer c"
    )
    for name, body in SQLITE_TRIGGERS.items():
        cursor.execute(f"CREATE TRIGGER {name} {body}")


def sqlite_backwards(cursor) -> None:
    for name in SQLITE_TRIGGERS:
        cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
    cursor.execute("DROP TABLE IF EXISTS search_ticket_fts")
    cursor.execute("DROP TABLE IF EXISTS search_customer_fts")


# ---- PostgreSQL ----

PG_CONFIG = "frontdesk_search"

PG_FUNCTIONS = f"""
CREATE TABLE search_ticket_document (ticket_id bigint PRIMARY KEY, document tsvector NOT NULL);
CREATE INDEX search_ticket_document_gin ON search_ticket_document USING gin (document);
CREATE TABLE search_customer_document (customer_id bigint PRIMARY KEY, document tsvector NOT NULL);
CREATE INDEX search_customer_document_gin ON search_customer_document USING gin (document);

-- PostgreSQL's parser keeps an address, a host name or a path as one token ("ana@acme.example");
-- FTS5 splits it into words. Splitting here too makes "acme" find it on both databases.
CREATE FUNCTION search_words(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT translate(value, '@./:_+-', '       ')
$$;

-- Subject (weight A), requester (B), messages newest first (D). PL/pgSQL, not SQL: a
-- PL/pgSQL function's statements are planned once per session, an SQL function's every call.
CREATE FUNCTION search_ticket_refresh(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF cardinality(ids) = 0 THEN RETURN; END IF;
  DELETE FROM search_ticket_document d WHERE d.ticket_id = ANY(ids)
    AND NOT EXISTS (SELECT 1 FROM tickets_ticket t WHERE t.id = d.ticket_id);
  INSERT INTO search_ticket_document (ticket_id, document)
  SELECT t.id,
    setweight(to_tsvector('{PG_CONFIG}', search_words(t.subject)), 'A') ||
    setweight(to_tsvector('{PG_CONFIG}', search_words(coalesce(c.name, '') || ' ' || coalesce(
      (SELECT string_agg(p.value, ' ') FROM customers_contactpoint p
       WHERE p.customer_id = t.requester_id AND p.kind = 'email'), ''))), 'B') ||
    setweight(to_tsvector('{PG_CONFIG}', search_words(left(coalesce(
      (SELECT string_agg(m.body_text, E'\\n' ORDER BY m.id DESC) FROM tickets_message m
       WHERE m.ticket_id = t.id), ''), {BODY_CHARS}))), 'D')
  FROM tickets_ticket t LEFT JOIN customers_customer c ON c.id = t.requester_id
  WHERE t.id = ANY(ids)
  ON CONFLICT (ticket_id) DO UPDATE SET document = EXCLUDED.document;
END $$;

CREATE FUNCTION search_customer_refresh(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF cardinality(ids) = 0 THEN RETURN; END IF;
  DELETE FROM search_customer_document d WHERE d.customer_id = ANY(ids)
    AND NOT EXISTS (SELECT 1 FROM customers_customer c WHERE c.id = d.customer_id);
  INSERT INTO search_customer_document (customer_id, document)
  SELECT c.id, to_tsvector('{PG_CONFIG}', search_words(c.name || ' ' || coalesce(
      (SELECT string_agg(p.value, ' ') FROM customers_contactpoint p
       WHERE p.customer_id = c.id AND p.kind = 'email'), '')))
  FROM customers_customer c WHERE c.id = ANY(ids)
  ON CONFLICT (customer_id) DO UPDATE SET document = EXCLUDED.document;
END $$;

CREATE FUNCTION search_ticket_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM search_ticket_document WHERE ticket_id = OLD.id;
  ELSIF TG_OP = 'INSERT' OR OLD.subject IS DISTINCT FROM NEW.subject
        OR OLD.requester_id IS DISTINCT FROM NEW.requester_id THEN
    PERFORM search_ticket_refresh(ARRAY[NEW.id]);
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION search_message_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    -- A new message is appended to its ticket's document (no re-reading of the thread),
    -- unless the document is large: then rebuilt, which keeps the newest text within the cap.
    UPDATE search_ticket_document
      SET document = document || setweight(to_tsvector('{PG_CONFIG}', search_words(left(NEW.body_text, {BODY_CHARS}))), 'D')
      WHERE ticket_id = NEW.ticket_id AND pg_column_size(document) < 200000;
    IF NOT FOUND THEN
      PERFORM search_ticket_refresh(ARRAY[NEW.ticket_id]);
    END IF;
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM search_ticket_refresh(ARRAY[OLD.ticket_id]);
  ELSIF OLD.body_text IS DISTINCT FROM NEW.body_text OR OLD.ticket_id IS DISTINCT FROM NEW.ticket_id THEN
    PERFORM search_ticket_refresh(ARRAY[OLD.ticket_id, NEW.ticket_id]);
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION search_customer_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM search_customer_document WHERE customer_id = OLD.id;
  ELSIF TG_OP = 'INSERT' THEN
    PERFORM search_customer_refresh(ARRAY[NEW.id]);
  ELSIF OLD.name IS DISTINCT FROM NEW.name THEN
    PERFORM search_customer_refresh(ARRAY[NEW.id]);
    PERFORM search_ticket_refresh(ARRAY(SELECT id FROM tickets_ticket WHERE requester_id = NEW.id));
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION search_contact_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  owners bigint[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.kind <> 'email' THEN RETURN NULL; END IF;
    owners := ARRAY[NEW.customer_id];
  ELSIF TG_OP = 'DELETE' THEN
    IF OLD.kind <> 'email' THEN RETURN NULL; END IF;
    owners := ARRAY[OLD.customer_id];
  ELSE
    IF OLD.value IS NOT DISTINCT FROM NEW.value AND OLD.kind IS NOT DISTINCT FROM NEW.kind
       AND OLD.customer_id IS NOT DISTINCT FROM NEW.customer_id THEN RETURN NULL; END IF;
    owners := ARRAY[OLD.customer_id, NEW.customer_id];
  END IF;
  PERFORM search_customer_refresh(owners);
  PERFORM search_ticket_refresh(ARRAY(SELECT id FROM tickets_ticket WHERE requester_id = ANY(owners)));
  RETURN NULL;
END $$;

CREATE TRIGGER search_ticket_changed AFTER INSERT OR DELETE OR UPDATE OF subject, requester_id ON tickets_ticket
  FOR EACH ROW EXECUTE FUNCTION search_ticket_changed();
CREATE TRIGGER search_message_changed AFTER INSERT OR DELETE OR UPDATE OF body_text, ticket_id ON tickets_message
  FOR EACH ROW EXECUTE FUNCTION search_message_changed();
CREATE TRIGGER search_customer_changed AFTER INSERT OR DELETE OR UPDATE OF name ON customers_customer
  FOR EACH ROW EXECUTE FUNCTION search_customer_changed();
CREATE TRIGGER search_contact_changed AFTER INSERT OR DELETE OR UPDATE OF value, kind, customer_id ON customers_contactpoint
  FOR EACH ROW EXECUTE FUNCTION search_contact_changed();

INSERT INTO search_ticket_document (ticket_id, document)
SELECT t.id,
  setweight(to_tsvector('{PG_CONFIG}', search_words(t.subject)), 'A') ||
  setweight(to_tsvector('{PG_CONFIG}', search_words(coalesce(c.name, '') || ' ' || coalesce(e.emails, ''))), 'B') ||
  setweight(to_tsvector('{PG_CONFIG}', search_words(left(coalesce(b.body, ''), {BODY_CHARS}))), 'D')
FROM tickets_ticket t
LEFT JOIN customers_customer c ON c.id = t.requester_id
LEFT JOIN (SELECT customer_id, string_agg(value, ' ') AS emails FROM customers_contactpoint
           WHERE kind = 'email' GROUP BY customer_id) e ON e.customer_id = t.requester_id
LEFT JOIN (SELECT ticket_id, string_agg(body_text, E'\\n' ORDER BY id DESC) AS body FROM tickets_message
           GROUP BY ticket_id) b ON b.ticket_id = t.id;

INSERT INTO search_customer_document (customer_id, document)
SELECT c.id, to_tsvector('{PG_CONFIG}', search_words(c.name || ' ' || coalesce(e.emails, '')))
FROM customers_customer c
LEFT JOIN (SELECT customer_id, string_agg(value, ' ') AS emails FROM customers_contactpoint
           WHERE kind = 'email' GROUP BY customer_id) e ON e.customer_id = c.id;
ANALYZE search_ticket_document;
ANALYZE search_customer_document;
"""

PG_DROP = f"""
DROP TRIGGER IF EXISTS search_ticket_changed ON tickets_ticket;
DROP TRIGGER IF EXISTS search_message_changed ON tickets_message;
DROP TRIGGER IF EXISTS search_customer_changed ON customers_customer;
DROP TRIGGER IF EXISTS search_contact_changed ON customers_contactpoint;
DROP FUNCTION IF EXISTS search_ticket_changed(), search_message_changed(), search_customer_changed(),
  search_contact_changed(), search_ticket_refresh(bigint[]), search_customer_refresh(bigint[]),
  search_words(text);
DROP TABLE IF EXISTS search_ticket_document, search_customer_document;
DROP TEXT SEARCH CONFIGURATION IF EXISTS {PG_CONFIG};
"""


def postgres_forwards(cursor, connection) -> None:
    # unaccent folds "café" into "cafe" for documents and queries alike. It is a trusted
    # extension only from PostgreSQL 13 with the right privileges: without it, plain simple.
    try:
        with transaction.atomic(using=connection.alias):
            cursor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        unaccent = True
    except Exception:  # noqa: BLE001 — any refusal (privileges, missing contrib) means "without"
        unaccent = False
    cursor.execute(f"CREATE TEXT SEARCH CONFIGURATION {PG_CONFIG} (COPY = simple)")
    if unaccent:
        cursor.execute(
            f"ALTER TEXT SEARCH CONFIGURATION {PG_CONFIG} "
            "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple"
        )
    cursor.execute(PG_FUNCTIONS)


def forwards(apps, schema_editor) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            sqlite_forwards(cursor)
        elif connection.vendor == "postgresql":
            postgres_forwards(cursor, connection)


def backwards(apps, schema_editor) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            sqlite_backwards(cursor)
        elif connection.vendor == "postgresql":
            cursor.execute(PG_DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0005_automatic_messages"),
        ("customers", "0002_contactpoint_undeliverable_since"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
