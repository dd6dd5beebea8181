"""The public status page, /help/status: no login, nothing internal.

Shows the incidents an agent opted in (``Incident.on_status_page``): running ones and those
resolved in the last ``FRONTDESK_STATUS_PAGE_RESOLVED_DAYS`` days, newest first, each with its
public description, status and the updates marked for the status page (their ``public_text``,
never a personal message nor the internal description). Cache-friendly: the same answer for
everyone (no cookie, no session read), ``Cache-Control: public`` for a short while, and an
ETag from the newest change so a reload costs one small query and a 304."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db.models import Count, Max
from django.shortcuts import render
from django.urls import path
from django.utils.cache import patch_cache_control
from django.views.decorators.http import condition, require_safe

from .models import Broadcast
from .reports import status_page_incidents, visible_incidents

MAX_AGE_SECONDS = 30


def _etag(request) -> str:
    """Changes when anything shown changes: an incident edited, an update posted, or a
    resolved incident leaving the window (the count of incidents shown)."""
    shown = visible_incidents(resolved_days=settings.FRONTDESK_STATUS_PAGE_RESOLVED_DAYS)
    incidents = shown.aggregate(n=Count("id"), at=Max("updated_at"))
    updates = Broadcast.objects.filter(incident__in=shown, on_status_page=True).aggregate(
        n=Count("id"), at=Max("created_at"))
    key = f"{incidents['n']}:{incidents['at']}:{updates['n']}:{updates['at']}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@require_safe
@condition(etag_func=_etag)
def status_page(request):
    days = settings.FRONTDESK_STATUS_PAGE_RESOLVED_DAYS
    entries = status_page_incidents(resolved_days=days)
    response = render(request, "incidents/status.html", {
        "running": [(i, u) for i, u in entries if i.status != "resolved"],
        "resolved": [(i, u) for i, u in entries if i.status == "resolved"],
        "resolved_days": days,
        # No form here: without a CSRF token the page sets no cookie and varies on none, so
        # shared caches can keep one copy for everybody.
        "csrf_token": "",
    })
    patch_cache_control(response, public=True, max_age=MAX_AGE_SECONDS)
    return response


urlpatterns = [path("status", status_page, name="status-page")]
