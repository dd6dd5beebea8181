"""Worker heartbeats, and handing the tasks of dead workers back to the queue.

django-tasks-db marks a task RUNNING when a worker claims it and never looks at it again: a
worker killed mid-task (SIGKILL, OOM, power) leaves it RUNNING for ever — an email that is
never processed, a reminder never sent. Every ``frontdesk worker`` therefore registers a
heartbeat row and refreshes it from a thread; each scheduler tick puts back to READY the
RUNNING tasks whose worker has not beaten for ``FRONTDESK_WORKER_DEAD_AFTER`` seconds (with a
conditional UPDATE, so two schedulers requeue a task once). Tasks are written to be safe to
run twice, so a worker that was only stalled, not dead, does no harm.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def heartbeat_register(*, worker_id: str) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"hostname": socket.gethostname()[:255], "pid": os.getpid(), "started_at": now, "beat_at": now},
    )


def heartbeat_beat(*, worker_id: str) -> None:
    """Refresh the beat; re-register if a scheduler removed the row while we were stalled."""
    if not WorkerHeartbeat.objects.filter(worker_id=worker_id).update(beat_at=timezone.now()):
        heartbeat_register(worker_id=worker_id)


def heartbeat_remove(*, worker_id: str) -> None:
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


class Heartbeat:
    """A daemon thread beating for ``worker_id`` every ``interval`` seconds (own DB connection)."""

    def __init__(self, *, worker_id: str, interval: float):
        self.worker_id, self.interval = worker_id, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        heartbeat_register(worker_id=self.worker_id)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                close_old_connections()
                heartbeat_beat(worker_id=self.worker_id)
            except Exception:
                # A database restart must not kill the thread: the next beat retries.
                logger.exception("worker heartbeat failed; retrying")
        connection.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)
        try:
            heartbeat_remove(worker_id=self.worker_id)
        except Exception:
            logger.exception("could not remove the heartbeat of %s", self.worker_id)


def requeue_orphaned_tasks(*, now: datetime | None = None) -> int:
    """Put back to READY every task RUNNING for longer than the dead-after period whose worker
    (the last id in ``worker_ids``) has no recent heartbeat. Returns how many were requeued."""
    now = now or timezone.now()
    dead_before = now - timedelta(seconds=settings.FRONTDESK_WORKER_DEAD_AFTER)
    alive = set(WorkerHeartbeat.objects.filter(beat_at__gte=dead_before).values_list("worker_id", flat=True))
    suspects = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=dead_before).values_list(
        "pk", "worker_ids", "started_at"
    )
    requeued = 0
    for pk, worker_ids, started_at in suspects:
        if worker_ids and worker_ids[-1] in alive:
            continue
        with transaction.atomic():
            # Only if nobody finished or re-claimed it since we looked.
            won = DBTaskResult.objects.filter(
                pk=pk, status=TaskResultStatus.RUNNING, started_at=started_at
            ).update(status=TaskResultStatus.READY, started_at=None)
        if won:
            requeued += 1
            logger.warning("task %s was left running by dead worker %s; requeued", pk, (worker_ids or ["?"])[-1])
    if requeued or suspects:
        WorkerHeartbeat.objects.filter(beat_at__lt=dead_before).delete()
    return requeued
