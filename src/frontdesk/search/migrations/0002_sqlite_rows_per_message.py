"""SQLite: the ticket index becomes one FTS5 row per message plus one per ticket
(``search/index.py``), so a new message is one small insert instead of a rewrite of its
ticket's whole document. The table is rebuilt from the data; PostgreSQL is unchanged."""

from importlib import import_module

from django.db import migrations

from frontdesk.search import index

# The triggers of 0001 (the message ones had different names).
OLD_TRIGGERS = ("search_message_update",)


def forwards(apps, schema_editor) -> None:
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for name in OLD_TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        index.sqlite_drop_triggers(cursor)
        index.sqlite_install(cursor, fill=True)


def backwards(apps, schema_editor) -> None:
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    initial = import_module("frontdesk.search.migrations.0001_search_index")
    with connection.cursor() as cursor:
        index.sqlite_drop_triggers(cursor)
        initial.sqlite_backwards(cursor)
        initial.sqlite_forwards(cursor)


class Migration(migrations.Migration):
    dependencies = [("search", "0001_search_index")]

    operations = [migrations.RunPython(forwards, backwards)]
