"""PostgreSQL: a phrase is found through an index of adjacent word pairs, not by re-reading documents.

The GIN index of ``search_ticket_document.document`` stores which documents hold a word, not
where: for ``"credit card"`` it finds the documents holding both words, and PostgreSQL re-reads
each of them to check the positions. Two common words that rarely stand side by side (most
phrases typed into a search box) re-read a large part of the table: 825 ms at a million tickets.

``pairs`` is a stored generated column: every two adjacent positions of ``document`` as one
lexeme ``'credit card'`` (``search_pairs``, exact for ``document @@ phraseto_tsquery(…)``: the
same stored positions), with its own GIN index. A two-word phrase is one lookup of that
index; a longer one is the AND of its pairs, then checked against ``document`` (few rows).
Being generated from ``document``, it follows every write path of the index (the triggers'
refresh, the message append, the bulk rebuild) with no trigger of its own.

Upgrading a large database: adding the column rewrites ``search_ticket_document`` (each
document's pairs computed once, ~0.15–0.4 ms a ticket) and the indexes are built after; at a
million tickets 6 minutes (measured: 5 min 58 s on a busy 2-core machine), during which the
table is locked (searches and ticket writes wait). SQLite (FTS5 matches phrases by its own
positions index) is unchanged.

The words index becomes an expression index with the ticket's recency bucket (see
``search_bucket`` below): rebuilt, not rewritten (25–51 s at a million).
"""

from django.db import migrations

FORWARDS = """
-- Adjacent positions of a tsvector as lexemes 'first second'. A join, not lead() over the
-- positions: beyond position 16383 PostgreSQL piles lexemes on one position, and every pair
-- that a phrase query could match there must be kept. Never an error for a write: a pair
-- longer than a lexeme may be (2047 bytes) is left out (the query leaves it out alike and
-- checks positions instead), and pairs that would not fit a tsvector (1 MB: a huge thread of
-- long distinct tokens) become the one lexeme '~all' — "check this document" — which every
-- phrase lookup also asks for.
CREATE FUNCTION search_pairs(doc tsvector) RETURNS tsvector LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  found text[];
BEGIN
  found := ARRAY(
    SELECT a.lexeme || ' ' || b.lexeme
    FROM (SELECT u.lexeme, p FROM unnest(doc) u, unnest(u.positions) p) a
    JOIN (SELECT u.lexeme, p FROM unnest(doc) u, unnest(u.positions) p) b ON b.p = a.p + 1
    WHERE octet_length(a.lexeme) + octet_length(b.lexeme) < 2047);
  IF (SELECT sum(octet_length(pair) + 8) FROM unnest(found) pair) > 1000000 THEN
    found := ARRAY(SELECT DISTINCT pair FROM unnest(found) pair);
    IF (SELECT sum(octet_length(pair) + 8) FROM unnest(found) pair) > 1000000 THEN
      RETURN array_to_tsvector(ARRAY['~all']);
    END IF;
  END IF;
  RETURN array_to_tsvector(found);
END $$;

ALTER TABLE search_ticket_document
  ADD COLUMN pairs tsvector GENERATED ALWAYS AS (search_pairs(document)) STORED;
CREATE INDEX search_ticket_document_pairs_gin ON search_ticket_document USING gin (pairs);

-- The ticket's recency buckets as two more lexemes: '~244' (ticket ids by 4,096) and
-- '~~15' (by 65,536, sixteen of the former), which no searched word can be (words are letters
-- and digits) and which have no position (phrases and pairs never see them): "a word in the
-- newest tickets" is an AND inside the GIN index, no heap page read for the older matches; a
-- wide window ORs a few coarse buckets, not hundreds of fine ones. Indexed as an expression,
-- so nothing is stored.
CREATE FUNCTION search_bucket(ticket bigint) RETURNS tsvector LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT array_to_tsvector(ARRAY['~' || (ticket >> 12)::text, '~~' || (ticket >> 16)::text])
$$;
DROP INDEX IF EXISTS search_ticket_document_gin;
CREATE INDEX search_ticket_document_gin ON search_ticket_document
  USING gin ((document || search_bucket(ticket_id)));
ANALYZE search_ticket_document;
"""

BACKWARDS = """
DROP INDEX IF EXISTS search_ticket_document_pairs_gin;
ALTER TABLE search_ticket_document DROP COLUMN IF EXISTS pairs;
DROP INDEX IF EXISTS search_ticket_document_gin;
CREATE INDEX search_ticket_document_gin ON search_ticket_document USING gin (document);
DROP FUNCTION IF EXISTS search_pairs(tsvector), search_bucket(bigint);
"""


def forwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            cursor.execute(FORWARDS)


def backwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARDS)


class Migration(migrations.Migration):
    dependencies = [("search", "0003_statement_insert_triggers")]

    operations = [migrations.RunPython(forwards, backwards)]
