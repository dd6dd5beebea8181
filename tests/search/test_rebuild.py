"""``search_rebuild`` and bulk loads: rows written while the index was suspended are found
after it, the triggers are back, and ``frontdesk search-rebuild`` does the same for an operator."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.db import connection

from frontdesk.search import selectors
from frontdesk.search.services import search_index_suspended, search_rebuild
from frontdesk.tickets.services import ticket_create, ticket_reply


def found(admin, text):
    return [t.pk for t in selectors.search(agent=admin, text=text).tickets]


def test_it_indexes_what_a_bulk_load_wrote_and_keeps_indexing_after(admin, agent, customer, support):
    with search_index_suspended():
        loaded = ticket_create(subject="Harpsichord tuning", requester=customer, group=support, body="Out of tune.")
        ticket_reply(ticket=loaded, author=agent, body="Tuner booked.")
        assert found(admin, "harpsichord") == []  # not kept meanwhile
    for word in ("harpsichord", "tune", "tuner", "maria"):
        assert found(admin, word) == [loaded.pk], word
    ticket_reply(ticket=loaded, author=agent, body="Quill replaced.")
    assert found(admin, "quill") == [loaded.pk]


def test_it_rebuilds_the_index_from_the_data(admin, customer, support):
    ticket = ticket_create(subject="Lost parcel", requester=customer, group=support, body="Tracking stuck.")
    with connection.cursor() as cursor:  # an index that drifted from the data
        table = "search_ticket_fts" if connection.vendor == "sqlite" else "search_ticket_document"
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608 — a constant
    assert found(admin, "parcel") == []
    report = search_rebuild()
    assert report.tickets == 1 and report.messages == 1 and report.seconds >= 0
    assert found(admin, "parcel") == found(admin, "tracking") == [ticket.pk]


@pytest.mark.slow
def test_it_rebuilds_from_the_command_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "FRONTDESK_"))}
    env["FRONTDESK_HOME"] = str(tmp_path / "home")
    run = [sys.executable, "-m", "frontdesk.cli"]
    subprocess.run([*run, "migrate"], env=env, check=True, capture_output=True, timeout=120)
    done = subprocess.run([*run, "search-rebuild"], env=env, check=True, capture_output=True, text=True,
                          timeout=120)
    assert "search index rebuilt: 0 tickets" in done.stdout and "[1/" in done.stderr
