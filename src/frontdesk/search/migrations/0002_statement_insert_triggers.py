"""PostgreSQL: index new customers and contact points once per INSERT statement, not per row.

The row-level triggers of 0001 refresh one customer's document per inserted row (plus a ticket
lookup per contact point): ~2 ms a row, so a bulk insert of 100,000 customers (an incident's
CSV upload) spent minutes in triggers. Statement-level AFTER INSERT triggers with a transition
table refresh all the statement's customers in one call of the same functions. UPDATE and
DELETE stay row-level (they are one row at a time in practice). SQLite (FTS5) is unchanged:
its per-row triggers are cheap.
"""

from django.db import migrations

FORWARDS = """
CREATE FUNCTION search_customers_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM search_customer_refresh(ARRAY(SELECT id FROM new_rows));
  RETURN NULL;
END $$;

CREATE FUNCTION search_contacts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  owners bigint[];
BEGIN
  owners := ARRAY(SELECT DISTINCT customer_id FROM new_rows WHERE kind = 'email');
  IF cardinality(owners) = 0 THEN RETURN NULL; END IF;
  PERFORM search_customer_refresh(owners);
  PERFORM search_ticket_refresh(ARRAY(SELECT id FROM tickets_ticket WHERE requester_id = ANY(owners)));
  RETURN NULL;
END $$;

DROP TRIGGER search_customer_changed ON customers_customer;
CREATE TRIGGER search_customer_changed AFTER DELETE OR UPDATE OF name ON customers_customer
  FOR EACH ROW EXECUTE FUNCTION search_customer_changed();
CREATE TRIGGER search_customers_inserted AFTER INSERT ON customers_customer
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_customers_inserted();

DROP TRIGGER search_contact_changed ON customers_contactpoint;
CREATE TRIGGER search_contact_changed AFTER DELETE OR UPDATE OF value, kind, customer_id ON customers_contactpoint
  FOR EACH ROW EXECUTE FUNCTION search_contact_changed();
CREATE TRIGGER search_contacts_inserted AFTER INSERT ON customers_contactpoint
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_contacts_inserted();
"""

BACKWARDS = """
DROP TRIGGER IF EXISTS search_customers_inserted ON customers_customer;
DROP TRIGGER IF EXISTS search_contacts_inserted ON customers_contactpoint;
DROP TRIGGER IF EXISTS search_customer_changed ON customers_customer;
DROP TRIGGER IF EXISTS search_contact_changed ON customers_contactpoint;
CREATE TRIGGER search_customer_changed AFTER INSERT OR DELETE OR UPDATE OF name ON customers_customer
  FOR EACH ROW EXECUTE FUNCTION search_customer_changed();
CREATE TRIGGER search_contact_changed AFTER INSERT OR DELETE OR UPDATE OF value, kind, customer_id
  ON customers_contactpoint FOR EACH ROW EXECUTE FUNCTION search_contact_changed();
DROP FUNCTION IF EXISTS search_customers_inserted(), search_contacts_inserted();
"""


def forwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARDS)


def backwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARDS)


class Migration(migrations.Migration):
    dependencies = [("search", "0001_search_index")]

    operations = [migrations.RunPython(forwards, backwards)]
