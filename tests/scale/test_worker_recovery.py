"""A task left running by a dead worker goes back to the queue, once; live workers keep theirs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from frontdesk.core.models import WorkerHeartbeat
from frontdesk.core.workers import heartbeat_register, requeue_orphaned_tasks
from tests.conftest import run_tasks

from .probe_tasks import record_run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def probe_log(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "runs.log"
    monkeypatch.setenv("FRONTDESK_PROBE_LOG", str(path))
    return path


def _running(*, worker_id: str, minutes_ago: float) -> DBTaskResult:
    result = record_run.enqueue(n=1)
    DBTaskResult.objects.filter(pk=result.id).update(
        status=TaskResultStatus.RUNNING, worker_ids=[worker_id],
        started_at=timezone.now() - timedelta(minutes=minutes_ago),
    )
    return DBTaskResult.objects.get(pk=result.id)


def test_it_requeues_a_task_whose_worker_stopped_beating_and_it_then_runs_once(settings, probe_log):
    settings.FRONTDESK_WORKER_DEAD_AFTER = 60
    heartbeat_register(worker_id="gone")
    WorkerHeartbeat.objects.filter(pk="gone").update(beat_at=timezone.now() - timedelta(minutes=5))
    task = _running(worker_id="gone", minutes_ago=5)

    assert requeue_orphaned_tasks() == 1
    assert requeue_orphaned_tasks() == 0  # a second scheduler finds nothing left to do
    task.refresh_from_db()
    assert task.status == TaskResultStatus.READY
    assert not WorkerHeartbeat.objects.filter(pk="gone").exists()
    run_tasks()
    task.refresh_from_db()
    assert task.status == TaskResultStatus.SUCCESSFUL
    assert probe_log.read_text() == "run 1\n"


def test_it_leaves_tasks_of_live_workers_and_recent_tasks_alone(settings):
    settings.FRONTDESK_WORKER_DEAD_AFTER = 60
    heartbeat_register(worker_id="alive")
    long_task_of_live_worker = _running(worker_id="alive", minutes_ago=30)
    just_started_elsewhere = _running(worker_id="unknown", minutes_ago=0.2)

    assert requeue_orphaned_tasks() == 0
    for task in (long_task_of_live_worker, just_started_elsewhere):
        task.refresh_from_db()
        assert task.status == TaskResultStatus.RUNNING
