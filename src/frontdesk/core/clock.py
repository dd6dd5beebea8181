"""The clock: turns due times stored on rows into tasks, exactly once.

Time-driven work (auto-close, reminders, SLA warnings, snoozes) is a nullable due-time
column on the row it concerns. Each tick reads due rows and claims each one with a
conditional UPDATE that clears the due time only if it still holds the value just read;
the claim and the enqueued task commit together. Any number of schedulers may run on
SQLite or PostgreSQL: a row is claimed by exactly one of them, and a crash before commit
leaves the due time in place for the next tick.

What is due where is listed once, in ``frontdesk/schedules.py``.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.db import close_old_connections, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from frontdesk.core.tasks import enqueue_on_commit
from frontdesk.core.workers import requeue_orphaned_tasks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DueWork:
    """``model``'s nullable ``due_field``; when due, ``task(<id_kwarg>=pk)`` runs once."""

    model: str
    due_field: str
    task: str
    id_kwarg: str


def claim_due(work: DueWork, *, now: datetime, batch: int) -> int:
    model = apps.get_model(work.model)
    task = import_string(work.task)
    due_rows = list(
        model.objects.filter(**{f"{work.due_field}__lte": now})
        .order_by(work.due_field)
        .values_list("pk", work.due_field)[:batch]
    )
    claimed = 0
    for pk, due in due_rows:
        with transaction.atomic():
            won = model.objects.filter(pk=pk, **{work.due_field: due}).update(
                **{work.due_field: None}
            )
            if won:
                enqueue_on_commit(task, **{work.id_kwarg: pk})
                claimed += 1
    return claimed


def clock_tick(*, now: datetime | None = None, batch: int = 500) -> int:
    """Claim everything due at ``now``; return how many jobs were handed to tasks."""
    from frontdesk.schedules import DUE_WORK

    now = now or timezone.now()
    return sum(claim_due(work, now=now, batch=batch) for work in DUE_WORK)


def run_scheduler(*, interval: float, stop: threading.Event | None = None) -> None:
    """Tick every ``interval`` seconds until SIGINT/SIGTERM (or ``stop`` is set)."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    logger.info("scheduler started, ticking every %ss", interval)
    while not stop.is_set():
        started = time.monotonic()
        try:
            close_old_connections()
            if claimed := clock_tick():
                logger.info("scheduler handed %d due jobs to workers", claimed)
            requeue_orphaned_tasks()
        except Exception:
            # A tick that fails (database restarting) must not end the loop.
            logger.exception("scheduler tick failed; retrying next interval")
        stop.wait(max(0.0, interval - (time.monotonic() - started)))
    logger.info("scheduler stopped")
