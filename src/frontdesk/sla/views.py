"""Workspace pages of the SLA app, mounted under /desk/ (frontdesk/desk/urls.py), so the desk
access middleware guards them: the ticket's SLA panel (an htmx fragment), expediting, the
report page and the billing export. Thin: parse → selector/service → render."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, time, timedelta

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from frontdesk.core.errors import DomainError, Forbidden, NotFound
from frontdesk.tickets.selectors import ticket_get_for_agent

from . import selectors, services
from .reports import GROUPINGS, report_chart_svg, sla_report


def _panel(request: HttpRequest, reference: str, *, notice: str = "", error: str = ""):
    try:
        ticket, state, timers = selectors.ticket_sla_for_agent(agent=request.user, reference=reference)
    except NotFound as exc:
        raise Http404("No such ticket.") from exc
    return render(request, "sla/_ticket_panel.html", {
        "ticket": ticket, "sla_state": state, "timers": timers, "notice": notice, "error": error,
        "can_expedite": not request.user.is_light and ticket.status != "closed"
        and not (state and state.expedited_at),
    })


@require_GET
def ticket_sla_panel(request: HttpRequest, reference: str):
    return _panel(request, reference)


@require_POST
def ticket_expedite(request: HttpRequest, reference: str):
    """Expedite from the ticket page; htmx swaps the panel, a plain post goes back to the page.
    Refusals answer 200 inside the fragment (htmx drops 4xx answers)."""
    try:
        ticket = selectors.check_can_expedite(agent=request.user, reference=reference)
        services.ticket_expedite(ticket=ticket, agent=request.user)
    except NotFound as exc:
        raise Http404("No such ticket.") from exc
    except DomainError as error:
        if request.htmx:
            return _panel(request, reference, error=error.detail)
        messages.error(request, error.detail)
        return redirect("desk:ticket", reference=reference)
    notice = "Expedited: the expedited policy now applies."
    try:
        ticket_get_for_agent(agent=request.user, reference=reference)
    except NotFound:
        # Routed to the expedited group, which this agent is not in: it left their view.
        notice = "Expedited and routed to the expedited group; it is no longer in your view."
        if request.htmx:
            return HttpResponse(format_html('<section id="ticket-sla" class="card ticket-sla">'
                                            '<p class="notice success" role="status">{}</p></section>', notice))
        messages.success(request, notice)
        return redirect("desk:inbox")
    if request.htmx:
        return _panel(request, reference, notice=notice)
    messages.success(request, notice)
    return redirect("desk:ticket", reference=reference)


def _day(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


def period(request: HttpRequest) -> tuple[datetime, datetime]:
    """[from, to] days from the query (default: the last 30 days), as UTC instants."""
    today = timezone.now().date()
    start = _day(request.GET.get("from"), today - timedelta(days=29))
    end = _day(request.GET.get("to"), today)
    return datetime.combine(start, time(0), UTC), datetime.combine(end + timedelta(days=1), time(0), UTC)


@require_GET
def report_page(request: HttpRequest):
    start, end = period(request)
    group_by = request.GET.get("group_by") if request.GET.get("group_by") in GROUPINGS else "policy"
    error, report = "", None
    try:
        report = sla_report(agent=request.user, start=start, end=end, group_by=group_by,
                            policy=request.GET.get("policy", ""), plan=request.GET.get("plan", ""))
    except Forbidden as exc:
        raise Http404("No such page.") from exc
    except DomainError as exc:
        error = exc.detail
    return render(request, "sla/report.html", {
        "desk_section": "reports", "report": report, "error": error, "group_by": group_by,
        "groupings": list(GROUPINGS), "start": start.date(), "end": (end - timedelta(days=1)).date(),
        # Built from escaped text only (reports.report_chart_svg).
        "chart": mark_safe(report_chart_svg(report)) if report and report.rows else "",  # noqa: S308
        "is_admin": request.user.is_admin,
    }, status=400 if error else 200)


CSV_COLUMNS = ["created_at", "ticket", "customer_id", "customer", "organization", "policy", "price", "currency",
               "requested_by"]


def charge_rows(charges):
    for charge in charges:
        yield [charge.created_at.isoformat(), charge.ticket.reference, charge.customer_id, str(charge.customer),
               charge.organization.name if charge.organization else "", charge.policy_name,
               "" if charge.price is None else str(charge.price), charge.currency, charge.requested_by_label]


def csv_safe(value) -> str:
    """Cells a spreadsheet would run as a formula get a leading quote (customer names are hostile)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@require_GET
def expedites_csv(request: HttpRequest):
    start, end = period(request)
    try:
        charges = selectors.expedite_charges(agent=request.user, start=start, end=end)
    except Forbidden as exc:
        raise Http404("No such page.") from exc
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="expedited-{start:%Y%m%d}-{end:%Y%m%d}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for row in charge_rows(charges.iterator()):
        writer.writerow([csv_safe(cell) for cell in row])
    return response
