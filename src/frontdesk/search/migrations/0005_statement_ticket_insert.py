"""PostgreSQL: index new tickets once per INSERT statement, not per row (as 0003 did for
customers and contact points).

The row-level trigger of 0001 ran ``search_ticket_refresh`` for each inserted ticket: ~0.9 ms
a row, so a bulk insert of 10,000 tickets (an incident's people, each with a ticket) spent
9 s in it. A statement-level AFTER INSERT trigger with a transition table refreshes all the
statement's tickets in one call of the same function. UPDATE and DELETE stay row-level.
SQLite (FTS5) is unchanged: its per-row triggers are cheap.
"""

from django.db import migrations

FORWARDS = """
CREATE FUNCTION search_tickets_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM search_ticket_refresh(ARRAY(SELECT id FROM new_rows));
  RETURN NULL;
END $$;

DROP TRIGGER search_ticket_changed ON tickets_ticket;
CREATE TRIGGER search_ticket_changed AFTER DELETE OR UPDATE OF subject, requester_id ON tickets_ticket
  FOR EACH ROW EXECUTE FUNCTION search_ticket_changed();
CREATE TRIGGER search_tickets_inserted AFTER INSERT ON tickets_ticket
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_tickets_inserted();
"""

BACKWARDS = """
DROP TRIGGER IF EXISTS search_tickets_inserted ON tickets_ticket;
DROP TRIGGER IF EXISTS search_ticket_changed ON tickets_ticket;
CREATE TRIGGER search_ticket_changed AFTER INSERT OR DELETE OR UPDATE OF subject, requester_id ON tickets_ticket
  FOR EACH ROW EXECUTE FUNCTION search_ticket_changed();
DROP FUNCTION IF EXISTS search_tickets_inserted();
"""


def forwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARDS)


def backwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARDS)


class Migration(migrations.Migration):
    dependencies = [("search", "0004_phrase_pairs")]

    operations = [migrations.RunPython(forwards, backwards)]
