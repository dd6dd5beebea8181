"""Incident pages (mounted under /desk/ by desk/urls.py, so the desk's sign-in middleware
guards them): the list and the new-incident form, the detail page and its actions (edit,
status, link/unlink, suggestions), and linking from a ticket page. Affected customers and CSV
uploads are in views_affected.py; the `reach` side (updates, gesture, resolution) in
views_reach.py. Thin: parse → service/selector → render; refusals are flashed, never lost
(the form comes back filled)."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.http import Http404, HttpRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from frontdesk.accounts.models import Agent
from frontdesk.core.errors import DomainError, InvalidInput, NotFound
from frontdesk.tickets.selectors import ticket_get_for_agent

from . import selectors, services
from .models import IncidentStatus, Severity
from .suggestions import incident_suggestions

LIST_FILTERS = [("open", "Open"), *IncidentStatus.choices, ("all", "All")]
FORM_FIELDS = ("title", "severity", "public_description", "description", "started_at", "owner", "on_status_page")


def _incident(request: HttpRequest, incident_id: int):
    try:
        return selectors.incident_get_for_agent(agent=request.user, incident_id=incident_id)
    except NotFound as exc:
        raise Http404 from exc


def _can_write(agent) -> bool:
    return agent.is_active and not agent.is_light


def _back(request: HttpRequest, fallback: str):
    target = request.POST.get("return_to") or ""
    if target.startswith("/desk/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(fallback)


def _local_input(value: str, *, field: str) -> datetime | None:
    """A ``datetime-local`` field, read in the server's time zone (agents have none yet)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{field} must be a date and time.", code="invalid_time") from exc
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def _form_fields(post) -> dict:
    fields = {"title": post.get("title", ""), "severity": post.get("severity") or Severity.MAJOR,
              "public_description": post.get("public_description", ""), "description": post.get("description", ""),
              "on_status_page": post.get("on_status_page") == "on"}
    if started := _local_input(post.get("started_at", ""), field="Start"):
        fields["started_at"] = started
    if "owner" in post:
        owner_id = post.get("owner")
        fields["owner"] = selectors.incident_owner_get(owner_id=int(owner_id) if owner_id.isdigit() else 0) \
            if owner_id else None
    return fields


def _form_context(request, **extra) -> dict:
    return {"desk_section": "incidents", "severities": Severity.choices, "statuses": IncidentStatus.choices,
            "owners": Agent.objects.filter(is_active=True).order_by("name"), **extra}


def incident_list(request: HttpRequest):
    status = request.GET.get("status", "open")
    if status not in dict(LIST_FILTERS):
        status = "open"
    incidents = selectors.incident_list(agent=request.user, status="" if status == "all" else status)
    return render(request, "incidents/list.html", _form_context(
        request, incidents=incidents[:200], status=status, filters=LIST_FILTERS, can_write=_can_write(request.user),
    ))


def incident_new(request: HttpRequest):
    """GET: the form (``?ticket=REF`` prefills it from that ticket). POST: create."""
    agent = request.user
    source = None
    reference = request.GET.get("ticket") or request.POST.get("ticket") or ""
    if reference:
        try:
            source = ticket_get_for_agent(agent=agent, reference=reference)
        except NotFound as exc:
            raise Http404 from exc
    form = {"title": source.subject if source else ""}
    if request.method == "POST":
        form = {name: request.POST.get(name, "") for name in FORM_FIELDS}
        try:
            incident = services.incident_create(actor=agent, source_ticket=source, **_form_fields(request.POST))
        except DomainError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, f"{incident.reference} opened.")
            return redirect("desk:incident", incident_id=incident.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "incidents/new.html", _form_context(
        request, form=form, source=source, can_write=_can_write(agent)), status=status)


def incident_detail(request: HttpRequest, incident_id: int):
    incident = _incident(request, incident_id)
    agent = request.user
    return render(request, "incidents/detail.html", _form_context(
        request, incident=incident, can_write=_can_write(agent),
        tickets=selectors.incident_tickets_for_agent(agent=agent, incident=incident)[:200],
        affected_count=incident.affected.count(),
        activity=incident.activity.select_related("actor")[:30],
        imports=incident.imports.all()[:5],
    ))


@require_POST
def incident_edit(request: HttpRequest, incident_id: int):
    incident = _incident(request, incident_id)
    try:
        services.incident_update(incident=incident, actor=request.user, **_form_fields(request.POST))
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Incident saved.")
    return redirect("desk:incident", incident_id=incident.pk)


@require_POST
def incident_status(request: HttpRequest, incident_id: int):
    incident = _incident(request, incident_id)
    try:
        incident = services.incident_set_status(incident=incident, actor=request.user,
                                                status=request.POST.get("status", ""))
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Status: {incident.get_status_display()}.")
    return _back(request, reverse("desk:incident", args=[incident.pk]))


@require_POST
def incident_link(request: HttpRequest, incident_id: int):
    """Link tickets by reference: one typed on the page, a suggestion's one-click button, or a
    selection (inbox, search results: ``t`` repeated, or ``references`` split on spaces)."""
    incident = _incident(request, incident_id)
    references = request.POST.getlist("t") + request.POST.get("references", "").replace(",", " ").split()
    try:
        result = services.incident_link_tickets(incident=incident, actor=request.user, references=references)
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        if result.linked:
            messages.success(request, f"Linked to {incident.reference}: " + ", ".join(f"#{r}" for r in result.linked))
        if result.already:
            messages.info(request, "Already linked: " + ", ".join(f"#{r}" for r in result.already))
        for reference, why in result.failed:
            messages.error(request, f"#{reference}: {why}")
    return _back(request, reverse("desk:incident", args=[incident.pk]))


def _linked_ticket(request, reference: str):
    try:
        return ticket_get_for_agent(agent=request.user, reference=reference)
    except NotFound as exc:
        raise Http404 from exc


@require_POST
def incident_unlink(request: HttpRequest, incident_id: int, reference: str):
    incident = _incident(request, incident_id)
    ticket = _linked_ticket(request, reference)
    try:
        done = services.incident_unlink_ticket(incident=incident, ticket=ticket, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        if done:
            messages.success(request, f"#{ticket.reference} unlinked from {incident.reference}.")
    return _back(request, reverse("desk:incident", args=[incident.pk]))


@require_POST
def incident_exclude(request: HttpRequest, incident_id: int, reference: str):
    incident = _incident(request, incident_id)
    ticket = _linked_ticket(request, reference)
    try:
        services.incident_set_exclude_from_solve(incident=incident, ticket=ticket, actor=request.user,
                                                 exclude=request.POST.get("exclude") == "1")
    except DomainError as exc:
        messages.error(request, exc.detail)
    return redirect(reverse("desk:incident", args=[incident.pk]) + "#incident-tickets")


def incident_suggestions_panel(request: HttpRequest, incident_id: int):
    """The suggestions (htmx-loaded: a few searches, kept off the detail page's own load)."""
    incident = _incident(request, incident_id)
    return render(request, "incidents/_suggestions.html", {
        "incident": incident, "can_write": _can_write(request.user),
        "suggestions": incident_suggestions(incident=incident, agent=request.user),
    })


@require_POST
def ticket_link(request: HttpRequest, reference: str):
    """From the ticket page's banner: link this ticket to the chosen incident."""
    ticket = _linked_ticket(request, reference)
    incident_id = request.POST.get("incident", "")
    back = reverse("desk:ticket", args=[ticket.reference])
    try:
        incident = selectors.incident_get_for_agent(agent=request.user, incident_id=int(incident_id or 0))
        services.incident_link_ticket(incident=incident, ticket=ticket, actor=request.user)
    except ValueError:
        messages.error(request, "Choose an incident.")
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Linked to {incident.reference}.")
    return redirect(back)


def incident_choices(request: HttpRequest):
    """The "link the selection to an incident" control of the inbox and search bulk bars,
    loaded by htmx so those pages keep their query counts."""
    from .templatetags.incidents_banner import open_incidents

    label = request.GET.get("label", "Link to incident")[:80]
    return render(request, "incidents/_choices.html", {
        "choices": open_incidents() if _can_write(request.user) else [], "label": label,
        "uid": "search" if request.GET.get("label") else "inbox",
    })
