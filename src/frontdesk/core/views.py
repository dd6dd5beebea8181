import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
@never_cache
def livez(request):
    """The process answers; touches nothing else (load balancers, baseline benchmark)."""
    return HttpResponse("ok", content_type="text/plain")


@require_GET
def home(request):
    """The site's front door is the customers' help center; agents go to /desk/."""
    return redirect("/help/")


# Rendered without templates, context processors or the database: they may be what failed.
_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} · Frontdesk</title></head>
<body><h1>{title}</h1><p>{detail}</p></body></html>"""
RETRY_AFTER_SECONDS = 30
DATABASE_ERRORS = (OperationalError, InterfaceError)
DATABASE_UNAVAILABLE = "Frontdesk cannot reach its database right now. Nothing was saved; please try again in a minute."


def server_error(request):
    """``handler500``: a database that cannot be reached (restarting, failing over) is a 503 with
    ``Retry-After`` and a plain explanation — nothing was saved, try again shortly — instead of
    a bare 500. Any other error stays a 500."""
    unavailable = isinstance(sys.exc_info()[1], DATABASE_ERRORS)
    if unavailable:
        status, code = 503, "database_unavailable"
        title = "Temporarily unavailable"
        detail = DATABASE_UNAVAILABLE
    else:
        status, code = 500, "server_error"
        title, detail = "Something went wrong", "The error has been logged. Please try again."
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": code, "detail": detail}, status=status)
    else:
        response = HttpResponse(_PAGE.format(title=title, detail=detail), status=status)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
