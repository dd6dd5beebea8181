"""Affected customers of an incident in the workspace: the list (companions together, who has
a ticket, who was notified, who received the gesture), adding one person, an organization, a
CSV upload with its preview, confirmation and progress. Thin: parse → service/selector →
render."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from frontdesk.core.errors import DomainError, NotFound
from frontdesk.customers.models import Organization

from . import imports, selectors, services
from .models import AffectedImport, AffectedSource, ImportStatus
from .roster import roster_row
from .views import _can_write, _incident

PAGE = 100


def affected_panel(request: HttpRequest, incident_id: int):
    incident = _incident(request, incident_id)
    query = request.GET.get("q", "")[:200]
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    rows = list(selectors.affected_for_incident(incident=incident, query=query)[(page - 1) * PAGE: page * PAGE + 1])
    return render(request, "incidents/_affected.html", {
        "incident": incident, "can_write": _can_write(request.user), "q": query, "page": page,
        "rows": selectors.affected_views(agent=request.user, rows=rows[:PAGE]), "more": len(rows) > PAGE,
        "total": incident.affected.count(),
        "organizations": Organization.objects.filter(merged_into__isnull=True).order_by("name")[:500],
    })


def _to_affected(incident) -> str:
    return reverse("desk:incident", args=[incident.pk]) + "#incident-affected"


@require_POST
def affected_add(request: HttpRequest, incident_id: int):
    """One person by email (a customer is created for an unknown address)."""
    incident = _incident(request, incident_id)
    try:
        row = roster_row({key: request.POST.get(key, "") for key in ("email", "name", "external_id", "group_key")})
        result = services.incident_add_people(incident=incident, actor=request.user, rows=[row],
                                              source=AffectedSource.MANUAL)
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"{row.email} added." if result.added else f"{row.email} was already affected.")
    return redirect(_to_affected(incident))


@require_POST
def affected_add_organization(request: HttpRequest, incident_id: int):
    incident = _incident(request, incident_id)
    organization = Organization.objects.filter(pk=request.POST.get("organization") or 0,
                                               merged_into__isnull=True).first() \
        if (request.POST.get("organization") or "").isdigit() else None
    if organization is None:
        messages.error(request, "Choose an organization.")
        return redirect(_to_affected(incident))
    try:
        created = services.incident_add_organization(incident=incident, organization=organization, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"{organization.name}: {len(created)} customers added.")
    return redirect(_to_affected(incident))


@require_POST
def import_upload(request: HttpRequest, incident_id: int):
    incident = _incident(request, incident_id)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a CSV file to upload.")
        return redirect(_to_affected(incident))
    try:
        job = imports.import_upload(incident=incident, actor=request.user, filename=upload.name,
                                    chunks=upload.chunks())
    except DomainError as exc:
        messages.error(request, f"{upload.name}: {exc.detail}")
        return redirect(_to_affected(incident))
    return redirect("desk:incident_import", incident_id=incident.pk, public_id=job.public_id)


def _job(incident, public_id) -> AffectedImport:
    try:
        return selectors.import_job_get(incident=incident, public_id=public_id)
    except NotFound as exc:
        raise Http404 from exc


def import_page(request: HttpRequest, incident_id: int, public_id):
    """The preview (waiting for confirmation) or the progress; ``?partial=1`` (htmx polling)
    answers the progress block alone."""
    incident = _incident(request, incident_id)
    job = _job(incident, public_id)
    percent = int(100 * job.processed_rows / job.valid_rows) if job.valid_rows else 100
    context = {"desk_section": "incidents", "incident": incident, "job": job, "percent": percent,
               "can_write": _can_write(request.user),
               "polling": job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)}
    if request.GET.get("partial"):
        return render(request, "incidents/_import_progress.html", context)
    return render(request, "incidents/import.html", context)


@require_POST
def import_decide(request: HttpRequest, incident_id: int, public_id):
    incident = _incident(request, incident_id)
    job = _job(incident, public_id)
    try:
        if request.POST.get("decision") == "confirm":
            imports.import_confirm(affected_import=job, actor=request.user)
        elif request.POST.get("decision") == "cancel":
            imports.import_cancel(affected_import=job, actor=request.user)
            messages.info(request, "Upload cancelled; nothing was imported.")
            return redirect(_to_affected(incident))
        else:
            raise NotFound("Choose confirm or cancel.")
    except DomainError as exc:
        messages.error(request, exc.detail)
    return redirect("desk:incident_import", incident_id=incident.pk, public_id=job.public_id)
