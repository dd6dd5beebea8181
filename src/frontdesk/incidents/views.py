"""Incident pages (mounted under /desk/ by desk/urls.py, so the desk's sign-in middleware
guards them): the list, the detail page and its panels. Thin: parse → service/selector →
render. The detail page includes three partials the `reach` side fills (updates, gesture,
resolution); their views live in views_reach.py."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.shortcuts import render

from frontdesk.core.errors import NotFound

from . import selectors
from .models import IncidentStatus, Severity

LIST_FILTERS = [("open", "Open"), *IncidentStatus.choices, ("all", "All")]


def _incident(request: HttpRequest, incident_id: int):
    try:
        return selectors.incident_get_for_agent(agent=request.user, incident_id=incident_id)
    except NotFound as exc:
        raise Http404 from exc


def incident_list(request: HttpRequest):
    status = request.GET.get("status", "open")
    if status not in dict(LIST_FILTERS):
        status = "open"
    incidents = selectors.incident_list(agent=request.user, status="" if status == "all" else status)
    return render(request, "incidents/list.html", {
        "desk_section": "incidents", "incidents": incidents[:200], "status": status, "filters": LIST_FILTERS,
        "can_write": request.user.is_active and not request.user.is_light,
    })


def incident_detail(request: HttpRequest, incident_id: int):
    incident = _incident(request, incident_id)
    agent = request.user
    return render(request, "incidents/detail.html", {
        "desk_section": "incidents", "incident": incident,
        "tickets": selectors.incident_tickets_for_agent(agent=agent, incident=incident)[:200],
        "affected": selectors.affected_for_incident(incident=incident)[:200],
        "affected_count": incident.affected.count(),
        "statuses": IncidentStatus.choices, "severities": Severity.choices,
        "can_write": agent.is_active and not agent.is_light,
    })
