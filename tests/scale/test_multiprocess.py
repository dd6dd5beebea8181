"""Many workers and schedulers against one PostgreSQL database, as a scaled deployment runs:
every task and every due row is handled exactly once, and a worker killed with SIGKILL
mid-task loses nothing (its task runs again elsewhere and completes once).

Real ``frontdesk worker`` / ``frontdesk scheduler`` processes on the test database. Only on
PostgreSQL: SQLite is one machine's embedded mode (one worker process in ``frontdesk run``).
FRONTDESK_SCALE_ROWS sets the number of tasks and of due rows (default 10,000 each).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from frontdesk.customers.services import customer_create
from frontdesk.tickets.models import EventKind, Status, Ticket, TicketEvent

from .probe_tasks import record_run, slow_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROWS = int(os.environ.get("FRONTDESK_SCALE_ROWS", "10000"))
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("multi-process correctness runs against PostgreSQL (set DATABASE_URL=postgres://…)")


@pytest.fixture
def probe_log(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "runs.log"
    path.touch()
    monkeypatch.setenv("FRONTDESK_PROBE_LOG", str(path))
    return path


@pytest.fixture
def spawn(tmp_path, probe_log):
    """``spawn(role, **env)`` starts ``frontdesk <role>`` on the test database; all are killed at the end."""
    db = connection.settings_dict
    url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    processes: list[subprocess.Popen] = []

    def start(role: str, **extra: str) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "FRONTDESK_"))}
        env.update(
            DATABASE_URL=url, FRONTDESK_HOME=str(tmp_path / "home"), FRONTDESK_PROBE_LOG=str(probe_log),
            FRONTDESK_WORKER_NICE="0", FRONTDESK_LOG_LEVEL="WARNING",
            PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "src"), env.get("PYTHONPATH", "")]), **extra,
        )
        command = [sys.executable, "-m", "frontdesk.cli", role, "--interval", "0.2" if role == "worker" else "1"]
        log = open(tmp_path / f"{role}-{len(processes)}.log", "w")  # noqa: SIM115 — closed with the process
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _seed_due_tickets(count: int) -> list[int]:
    """``count`` solved tickets whose auto-close is overdue: due rows for the schedulers."""
    customer = customer_create(name="Scale", emails=["scale@example.net"])
    past = timezone.now() - timedelta(days=30)
    Ticket.objects.bulk_create(
        [Ticket(subject=f"Due {n}", requester=customer, status=Status.SOLVED, solved_at=past, auto_close_at=past)
         for n in range(count)],
        batch_size=2000,
    )
    return list(Ticket.objects.values_list("pk", flat=True))


def test_it_handles_every_task_and_due_row_exactly_once_with_two_workers_and_two_schedulers(spawn, probe_log):
    ticket_ids = _seed_due_tickets(ROWS)
    for start in range(0, ROWS, 1000):
        DBTaskResult.objects.bulk_create([
            DBTaskResult(**_task_row(record_run, n=n)) for n in range(start, min(start + 1000, ROWS))
        ])

    with connection.cursor() as cursor:  # as autovacuum would after a burst: the claim query needs fresh statistics
        cursor.execute("ANALYZE django_tasks_database_dbtaskresult; ANALYZE tickets_ticket")
    for role in ("scheduler", "scheduler", "worker", "worker"):
        spawn(role)
    # The probe runs and the auto-closes (ticket events also queue their subscribers' tasks, e.g. SLA).
    ours = DBTaskResult.objects.filter(
        Q(task_path=record_run.module_path) | Q(task_path__endswith=".ticket_auto_close"))
    _wait_for(
        lambda: ours.filter(status=TaskResultStatus.SUCCESSFUL).count() >= 2 * ROWS,
        timeout=900, what=f"{2 * ROWS} tasks to succeed",
    )
    time.sleep(2)  # anything run twice would show up now

    runs = Counter(probe_log.read_text().splitlines())
    assert len(runs) == ROWS and set(runs.values()) == {1}
    assert ours.count() == 2 * ROWS  # no due row was claimed twice
    assert not ours.exclude(status=TaskResultStatus.SUCCESSFUL).exists()
    assert Ticket.objects.filter(pk__in=ticket_ids, status=Status.CLOSED).count() == ROWS
    closes = Counter(
        TicketEvent.objects.filter(kind=EventKind.STATUS, after="closed").values_list("ticket_id", flat=True)
    )
    assert len(closes) == ROWS and set(closes.values()) == {1}
    workers = Counter(worker_ids[0] for worker_ids in ours.values_list("worker_ids", flat=True))
    assert len(workers) == 2 and all(count > 0 for count in workers.values())  # both workers took work


def test_it_runs_the_task_of_a_worker_killed_mid_task_again_once(spawn, probe_log):
    doomed = spawn("worker", FRONTDESK_PROBE_SLEEP="600", FRONTDESK_WORKER_HEARTBEAT="1")
    result = slow_run.enqueue(n=7)
    _wait_for(lambda: "start 7" in probe_log.read_text(), timeout=60, what="the task to start")

    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    spawn("worker", FRONTDESK_PROBE_SLEEP="0", FRONTDESK_WORKER_HEARTBEAT="1")
    spawn("scheduler", FRONTDESK_WORKER_DEAD_AFTER="3")
    _wait_for(lambda: "end 7" in probe_log.read_text(), timeout=120, what="the task to run again and finish")

    row = DBTaskResult.objects.get(pk=result.id)
    _wait_for(lambda: DBTaskResult.objects.get(pk=result.id).status == TaskResultStatus.SUCCESSFUL,
              timeout=30, what="the task to be recorded as successful")
    row.refresh_from_db()
    assert probe_log.read_text().splitlines() == ["start 7", "start 7", "end 7"]
    assert len(row.worker_ids) == 2 and row.worker_ids[0] != row.worker_ids[1]


def _task_row(task, **kwargs) -> dict:
    """The row django-tasks-db writes for ``task.enqueue(**kwargs)``, for bulk inserts."""
    from django_tasks_db.models import get_date_max

    return {
        "status": TaskResultStatus.READY, "args_kwargs": {"args": [], "kwargs": kwargs},
        "priority": task.priority, "task_path": task.module_path, "queue_name": task.queue_name,
        "backend_name": task.backend, "run_after": get_date_max(), "exception_class_path": "", "traceback": "",
    }
