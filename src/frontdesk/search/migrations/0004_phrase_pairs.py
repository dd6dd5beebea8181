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
document's pairs computed once, ~0.15 ms a ticket) and the index is built after; at a million
tickets about 5 minutes on one core, during which the table is locked (searches and ticket
writes wait). SQLite (FTS5 matches phrases by its own positions index) is unchanged.
"""

from django.db import migrations

FORWARDS = """
-- Adjacent positions of a tsvector as lexemes 'first second'. A join, not lead() over the
-- positions: beyond position 16383 PostgreSQL piles lexemes on one position, and every pair
-- that a phrase query could match there must be kept.
CREATE FUNCTION search_pairs(doc tsvector) RETURNS tsvector LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
  RETURN coalesce((
    SELECT array_to_tsvector(array_agg(a.lexeme || ' ' || b.lexeme))
    FROM (SELECT u.lexeme, p FROM unnest(doc) u, unnest(u.positions) p) a
    JOIN (SELECT u.lexeme, p FROM unnest(doc) u, unnest(u.positions) p) b ON b.p = a.p + 1
  ), ''::tsvector);
END $$;

-- The pairs a phrase needs, as a tsquery of quoted lexemes (AND); NULL for fewer than two
-- words. The phrase goes through to_tsvector with the index's configuration, as the
-- documents and phraseto_tsquery do.
CREATE FUNCTION search_phrase_pairs(phrase text) RETURNS tsquery LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  SELECT string_agg('''' || replace(replace(pair, '\\', '\\\\'), '''', '''''') || '''', ' & ')::tsquery
  FROM unnest(tsvector_to_array(search_pairs(to_tsvector('frontdesk_search', phrase)))) pair
$$;

ALTER TABLE search_ticket_document
  ADD COLUMN pairs tsvector GENERATED ALWAYS AS (search_pairs(document)) STORED;
CREATE INDEX search_ticket_document_pairs_gin ON search_ticket_document USING gin (pairs);
ANALYZE search_ticket_document;
"""

BACKWARDS = """
DROP INDEX IF EXISTS search_ticket_document_pairs_gin;
ALTER TABLE search_ticket_document DROP COLUMN IF EXISTS pairs;
DROP FUNCTION IF EXISTS search_phrase_pairs(text), search_pairs(tsvector);
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
