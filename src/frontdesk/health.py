"""What /healthz and `frontdesk check` report, assembled from each part (like api.py, this
top-level module may import every app; the apps never import it)."""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from frontdesk.core.health import database_report, queue_report
from frontdesk.mail.health import smtp_report
from frontdesk.mail.imap import imap_health


def health_report() -> dict:
    database = database_report()
    if database["status"] != "ok":
        return {"status": "error", "database": database}
    return {
        "status": "ok",
        "database": database,
        "queue": queue_report(),
        "smtp": smtp_report(),
        "imap": imap_health(),
    }


@require_GET
@never_cache
def healthz(request):
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
