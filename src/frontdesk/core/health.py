"""What /healthz and `frontdesk check` report: can we reach the database, is work piling up,
has work failed."""

from __future__ import annotations

from django.db import connection
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult


def health_report() -> dict:
    report: dict = {"status": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        report["database"] = {"status": "ok", "vendor": connection.vendor}
    except Exception as exc:  # the report itself must not fail
        report["status"] = "error"
        report["database"] = {"status": "error", "detail": exc.__class__.__name__}
        return report
    report["queue"] = {
        "ready": DBTaskResult.objects.filter(status=TaskResultStatus.READY).count(),
        "running": DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).count(),
        "failed": DBTaskResult.objects.filter(status=TaskResultStatus.FAILED).count(),
    }
    # The SMTP listener arrives with the email capability; until then it is reported absent.
    report["smtp"] = {"status": "not_configured"}
    return report
