"""The reach panels of the incident page (updates, gesture, resolution): htmx-loaded partials
and their forms. Thin: parse → service/report → render. A refused form comes back filled, with
the reason; without htmx the page is redirected with the message flashed."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from frontdesk.core.errors import DomainError, NotFound
from frontdesk.goodwill.mandates import base_currency, known_currencies
from frontdesk.goodwill.models import Gesture

from . import broadcasts, distribution, reports, resolution
from .models import GestureState, IncidentStatus
from .views import _can_write, _incident

UPDATE_STATUSES = [(v, label) for v, label in IncidentStatus.choices if v != IncidentStatus.RESOLVED]


def _done(request: HttpRequest, incident, text: str, render_panel):
    if request.htmx:
        return render_panel(notice=text)
    messages.success(request, text)
    return redirect("desk:incident", incident_id=incident.pk)


def _refused(request: HttpRequest, incident, error: DomainError, render_panel):
    if request.htmx:
        return render_panel(error=error.detail, form=request.POST)
    messages.error(request, error.detail)
    return redirect("desk:incident", incident_id=incident.pk)


def _updates(request: HttpRequest, incident, **extra):
    lines = reports.updates_for_incident(incident=incident)
    return render(request, "incidents/_updates.html#panel", {
        "incident": incident, "can_write": _can_write(request.user), "updates": lines,
        "sending": any(line.pending or not line.broadcast.fanned_out_at for line in lines), "statuses": UPDATE_STATUSES,
        "affected_count": incident.affected.count(), **extra,
    })


def updates_panel(request: HttpRequest, incident_id: int):
    return _updates(request, _incident(request, incident_id))


@require_POST
def update_post(request: HttpRequest, incident_id: int):
    incident = _incident(request, incident_id)
    panel = lambda **extra: _updates(request, incident, **extra)  # noqa: E731
    try:
        broadcasts.broadcast_post(incident=incident, actor=request.user, body=request.POST.get("body", ""),
                                  status=request.POST.get("status", ""),
                                  on_status_page=request.POST.get("on_status_page") == "on")
    except DomainError as error:
        return _refused(request, incident, error, panel)
    before = incident.status
    incident.refresh_from_db()
    # A status change also refreshes the header's status badge (out of band).
    return _done(request, incident, "Update sent; it is going out to every affected customer.",
                 lambda **extra: panel(status_changed=incident.status != before, **extra))


def _gesture(request: HttpRequest, incident, **extra):
    report = distribution.gesture_report(incident=incident)
    row = report["gesture"]
    total = distribution.gesture_total(row) if row is not None and row.state == GestureState.PROPOSED else None
    return render(request, "incidents/_gesture.html#panel", {
        "incident": incident, "can_write": _can_write(request.user), "report": report, "row": row,
        "total": total, "base_currency": base_currency(), "currencies": known_currencies(),
        "catalog": Gesture.objects.filter(active=True).order_by("name"), **extra,
    })


def gesture_panel(request: HttpRequest, incident_id: int):
    return _gesture(request, _incident(request, incident_id))


@require_POST
def gesture_action(request: HttpRequest, incident_id: int, action: str):
    if action not in ("attach", "approve", "withdraw"):
        raise Http404
    incident = _incident(request, incident_id)
    panel = lambda **extra: _gesture(request, incident, **extra)  # noqa: E731
    try:
        if action == "attach":
            gesture = Gesture.objects.filter(pk=request.POST.get("gesture") or 0, active=True).first()
            if gesture is None:
                raise NotFound("Choose a gesture from the catalog.")
            distribution.incident_gesture_attach(
                incident=incident, actor=request.user, gesture=gesture, value=request.POST.get("value", ""),
                currency=request.POST.get("currency", ""), note=request.POST.get("note", ""))
            text = "Gesture proposed; it needs one approval."
        elif action == "approve":
            distribution.incident_gesture_approve(incident=incident, actor=request.user)
            text = "Approved: every affected customer is being granted the gesture."
        else:
            distribution.incident_gesture_withdraw(incident=incident, actor=request.user)
            text = "Gesture withdrawn."
    except DomainError as error:
        return _refused(request, incident, error, panel)
    return _done(request, incident, text, panel)


def _resolve(request: HttpRequest, incident, **extra):
    final = incident.broadcasts.filter(kind="resolution").first()
    return render(request, "incidents/_resolve.html#panel", {
        "incident": incident, "can_write": _can_write(request.user), "final": final,
        "template": resolution.DEFAULT_TEMPLATE, "affected_count": incident.affected.count(), **extra,
    })


def resolve_panel(request: HttpRequest, incident_id: int):
    return _resolve(request, _incident(request, incident_id))


@require_POST
def resolve(request: HttpRequest, incident_id: int):
    incident = _incident(request, incident_id)
    panel = lambda **extra: _resolve(request, incident, **extra)  # noqa: E731
    try:
        resolution.incident_resolve(
            incident=incident, actor=request.user, what_happened=request.POST.get("what_happened", ""),
            what_changed=request.POST.get("what_changed", ""), template=request.POST.get("template", ""),
            on_status_page=request.POST.get("on_status_page") == "on")
    except DomainError as error:
        return _refused(request, incident, error, panel)
    messages.success(request, "Resolved; the final update is going out to every affected customer.")
    if request.htmx:  # the whole page changes (status, banner, linked tickets): load it again
        response = panel()
        response["HX-Redirect"] = reverse("desk:incident", args=[incident.pk])
        return response
    return redirect("desk:incident", incident_id=incident.pk)
