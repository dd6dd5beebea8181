"""The index follows every write in the same transaction: services, bulk updates (no Python
hook exists to forget), merges, deletes — and a rolled-back write leaves no trace."""

from __future__ import annotations

import pytest
from django.db import transaction

from frontdesk.customers.models import ContactPoint, Customer
from frontdesk.customers.services import customer_create, customer_delete, customer_merge, customer_update
from frontdesk.search import selectors
from frontdesk.tickets.models import Message, Ticket
from frontdesk.tickets.services import (
    ticket_add_note,
    ticket_create,
    ticket_merge,
    ticket_receive_customer_message,
    ticket_reply,
)


def found(admin, text):
    return [t.pk for t in selectors.search(agent=admin, text=text).tickets]


def test_it_indexes_a_new_ticket_its_replies_and_notes(admin, agent, customer, support):
    ticket = ticket_create(subject="Kettle broken", requester=customer, group=support, body="It sparks.")
    assert found(admin, "kettle") == found(admin, "sparks") == [ticket.pk]
    ticket_reply(ticket=ticket, author=agent, body="Please unplug the appliance.")
    ticket_add_note(ticket=ticket, author=agent, body="Probably the thermostat.")
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="Unplugged, smells burnt.")
    for word in ("appliance", "thermostat", "burnt", "sparks", "kettle"):
        assert found(admin, word) == [ticket.pk], word


def test_it_follows_subject_edits_even_by_bulk_update(admin, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(subject="Refund duplicated")
    assert found(admin, "duplicated") == [ticket.pk]
    assert found(admin, "twice charged") == [ticket.pk]  # still in the body
    assert found(admin, '"charged twice" refund') == [ticket.pk]
    Ticket.objects.filter(pk=ticket.pk).update(subject="Other")
    assert found(admin, "refund") == []


def test_it_follows_message_edits_and_deletes(admin, ticket):
    Message.objects.filter(ticket=ticket).update(body_text="Card declined.")
    assert found(admin, "declined") == [ticket.pk] and found(admin, "\"my card\"") == []
    Message.objects.filter(ticket=ticket).delete()
    assert found(admin, "declined") == []
    assert found(admin, "charged") == [ticket.pk]  # the subject remains


def test_it_keeps_both_tickets_findable_after_a_merge(admin, agent, customer, support):
    source = ticket_create(subject="Lamp flickers", requester=customer, group=support, body="Bulb flickers.")
    target = ticket_create(subject="Lamp again", requester=customer, group=support, body="Same lamp.")
    ticket_merge(source=source, target=target, actor=agent)
    ticket_reply(ticket=target, author=agent, body="Replaced the ballast.")
    assert sorted(found(admin, "lamp")) == sorted([source.pk, target.pk])
    assert found(admin, "ballast") == [target.pk]
    assert found(admin, "lamp status:closed") == [source.pk]


def test_it_follows_the_requester_through_renames_and_customer_merges(admin, support):
    ana = customer_create(name="Ana Pereira", emails=["ana@oldmail.example"])
    bea = customer_create(name="Beatriz Costa", emails=["bea@newmail.example"])
    ticket = ticket_create(subject="Hello", requester=ana, group=support, body="Hi.")
    assert found(admin, "pereira") == [ticket.pk] and found(admin, "oldmail") == [ticket.pk]
    customer_update(customer=ana, name="Ana Silva")
    assert found(admin, "silva") == [ticket.pk] and found(admin, "pereira") == []
    customer_merge(source=ana, target=bea)
    assert found(admin, "costa") == [ticket.pk]
    assert found(admin, "oldmail") == [ticket.pk]  # the address moved to the target too
    assert found(admin, "from:ana@oldmail.example") == [ticket.pk]
    results = selectors.search(agent=admin, text="silva")
    assert [c.pk for c in results.customers] == []  # the merged-away customer is not offered
    assert [c.pk for c in selectors.search(agent=admin, text="costa").customers] == [bea.pk]


def test_it_forgets_deleted_tickets_and_customers(admin, ticket, customer):
    lone = customer_create(name="Zed Zimmer", emails=["zed@zz.example"])
    assert [c.pk for c in selectors.search(agent=admin, text="zimmer").customers] == [lone.pk]
    customer_delete(customer=lone)
    assert selectors.search(agent=admin, text="zimmer").customers == []
    ContactPoint.objects.filter(customer=customer).delete()
    assert found(admin, "maria@example.net") == []
    ticket.delete()
    assert found(admin, "charged") == [] and found(admin, "maria") == []


@pytest.mark.django_db(transaction=True)
def test_it_leaves_no_trace_of_a_rolled_back_write(support, admin):
    customer = Customer.objects.create(name="Rollback Person")
    with pytest.raises(RuntimeError), transaction.atomic():
        ticket_create(subject="Phantom", requester=customer, group=support, body="Ghost text.")
        raise RuntimeError
    assert found(admin, "phantom") == [] and found(admin, "ghost") == []


def test_the_migration_indexes_what_was_there_before_it(admin, agent, customer, support):
    """Install on an existing database: rows written while no index existed are found after
    the migration's backfill (run here inside the test's transaction)."""
    from importlib import import_module
    from types import SimpleNamespace

    from django.db import connection

    migrations = [import_module(f"frontdesk.search.migrations.{name}")
                  for name in ("0001_search_index", "0002_sqlite_rows_per_message", "0003_statement_insert_triggers",
                               "0004_phrase_pairs", "0005_statement_ticket_insert")]
    editor = SimpleNamespace(connection=connection, execute=lambda sql: connection.cursor().execute(sql))
    for migration in reversed(migrations):
        migration.backwards(None, editor)
    old = ticket_create(subject="Ancient gramophone", requester=customer, group=support, body="Needle stuck.")
    ticket_add_note(ticket=old, author=agent, body="Ask the museum.")
    older = customer_create(name="Quentin Archivist", emails=["quentin@archive.example"])
    for migration in migrations:
        migration.forwards(None, editor)
    for word in ("gramophone", "needle", "museum", "maria", '"ancient gramophone"', '"needle stuck"'):
        assert found(admin, word) == [old.pk], word
    assert [c.pk for c in selectors.search(agent=admin, text="archivist").customers] == [older.pk]
    ticket_reply(ticket=old, author=agent, body="Replaced the stylus.")  # and the triggers are back
    assert found(admin, "stylus") == [old.pk]


def test_customers_created_in_bulk_are_indexed_with_their_addresses(admin, customer, support):
    """One INSERT statement of many customers and contact points (an incident's CSV import):
    every one is found, by name and address, and a requester's new address reaches her tickets."""
    from frontdesk.customers.services import email_points_get_or_create

    ticket = ticket_create(subject="Lost luggage", requester=customer, group=support, body="Bag missing.")
    email_points_get_or_create(emails={"una@bulk.example": "Una Bulk", "vic@bulk.example": "Vic Bulk"})
    assert {c.name for c in selectors.search(agent=admin, text="bulk").customers} == {"Una Bulk", "Vic Bulk"}
    customer_update(customer=customer, add_emails=["maria@second.example"])
    assert found(admin, "second") == [ticket.pk]


def test_tickets_created_in_bulk_are_indexed(admin, customer, support):
    """One INSERT statement of many tickets (an incident's people, each with a ticket): every
    one is found by subject and requester, and later writes to each are followed."""
    others = customer_create(name="Xenia Bulkwell", emails=["xenia@bulk.example"])
    tickets = Ticket.objects.bulk_create([
        Ticket(subject=f"Outage report {n}", requester=customer if n % 2 else others, group=support,
               status="open", channel="email") for n in range(6)])
    assert sorted(found(admin, "outage")) == sorted(t.pk for t in tickets)
    assert sorted(found(admin, "bulkwell outage")) == sorted(t.pk for t in tickets[::2])
    assert sorted(found(admin, '"outage report" maria')) == sorted(t.pk for t in tickets[1::2])
    Ticket.objects.filter(pk=tickets[0].pk).update(subject="Brownout")
    assert found(admin, "brownout") == [tickets[0].pk] and tickets[0].pk not in found(admin, "outage")
    Ticket.objects.filter(pk=tickets[1].pk).delete()
    assert tickets[1].pk not in found(admin, "outage")
