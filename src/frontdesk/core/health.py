"""The kernel's part of /healthz: can we reach the database, is work piling up, has work
failed. The whole report is assembled in ``frontdesk/health.py``."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from .models import WorkerHeartbeat


def database_report() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # the report itself must not fail
        return {"status": "error", "detail": exc.__class__.__name__}
    return {"status": "ok", "vendor": connection.vendor}


def queue_report() -> dict:
    return {
        "ready": DBTaskResult.objects.filter(status=TaskResultStatus.READY).count(),
        "running": DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).count(),
        "failed": DBTaskResult.objects.filter(status=TaskResultStatus.FAILED).count(),
        "workers": WorkerHeartbeat.objects.filter(
            beat_at__gte=timezone.now() - timedelta(seconds=settings.FRONTDESK_WORKER_DEAD_AFTER)
        ).count(),
    }
