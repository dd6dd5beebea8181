"""Search index maintenance. The index follows every write by itself (SQL triggers, see
``index.py``); these are for operators and bulk loads."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from django.db import connection

from . import index


@dataclass
class RebuildReport:
    tickets: int
    messages: int
    customers: int
    seconds: float


def search_rebuild(*, step: Callable[[str], None] | None = None) -> RebuildReport:
    """Rebuild the whole search index from the data in one transaction, with bulk
    statements (searches keep answering from the old index until it commits). For an index
    suspended by a bulk load, or one suspected to have drifted. ``step(label)`` reports
    progress before each statement."""
    started = time.perf_counter()
    index.rebuild(step=step)
    with connection.cursor() as cursor:
        counts = []
        for table in ("tickets_ticket", "tickets_message", "customers_customer"):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 — constant table names
            counts.append(cursor.fetchone()[0])
    return RebuildReport(*counts, seconds=time.perf_counter() - started)


def search_index_suspended(*, step: Callable[[str], None] | None = None) -> AbstractContextManager:
    """For bulk loads (bench/seed.py): the index is not kept while inside; on leaving, also
    on an error, the triggers are back and the index is rebuilt (``search_rebuild``)."""
    return index.suspended(step=step)


def search_rebuild_steps() -> int:
    return index.rebuild_steps()
