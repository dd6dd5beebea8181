from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import health_report


@require_GET
@never_cache
def healthz(request):
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


@require_GET
@never_cache
def livez(request):
    """The process answers; touches nothing else (load balancers, baseline benchmark)."""
    return HttpResponse("ok", content_type="text/plain")


@require_GET
def home(request):
    return redirect("/api/v1/docs")
