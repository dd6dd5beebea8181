"""Workspace pages of goodwill (mounted under /desk/ by desk/urls.py, so the desk's sign-in
middleware guards them): the ticket panel (htmx), approvals, the signed approval link, needs
attention, the customer panel and reports. Thin: parse → service/selector → render."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from frontdesk.core.errors import DomainError, NotFound
from frontdesk.customers.models import Customer
from frontdesk.tickets.selectors import ticket_get_for_agent

from . import links, reports, selectors, services
from .mandates import budget_for, known_currencies
from .models import Gesture, Grant, GrantStatus, Reason
from .snippets import fill_snippet
from .suggestions import suggestions_for


def _ticket(request, reference: str):
    try:
        return ticket_get_for_agent(agent=request.user, reference=reference)
    except NotFound as exc:
        raise Http404 from exc


def _panel_context(request, ticket, **extra) -> dict:
    agent = request.user
    grants = selectors.grants_for_ticket(ticket=ticket)
    return {
        "ticket": ticket, "gestures": selectors.gestures_offered(), "reasons": Reason.choices,
        "currencies": known_currencies(), "budget": budget_for(agent=agent, ticket=ticket),
        "grants": [{"grant": g, "snippet": fill_snippet(g) if g.status in (
            GrantStatus.GRANTED, GrantStatus.FULFILLED, GrantStatus.FAILED) else ""} for g in grants],
        "suggestions": suggestions_for(ticket), "can_grant": agent.is_active and not agent.is_light,
        "form": {}, **extra,
    }


def ticket_panel(request: HttpRequest, reference: str):
    """GET: the goodwill panel of a ticket. POST: grant (or ask for approval of) a gesture."""
    ticket = _ticket(request, reference)
    if request.method != "POST":
        return render(request, "goodwill/ticket_panel.html", _panel_context(request, ticket))
    form = {key: request.POST.get(key, "") for key in ("gesture", "value", "currency", "reason", "note")}
    result, error = None, ""
    try:
        gesture = Gesture.objects.filter(pk=int(form["gesture"] or 0), active=True).first()
        if gesture is None:
            raise NotFound("Choose a gesture from the list.")
        result = services.gesture_grant(
            ticket=ticket, agent=request.user, gesture=gesture, value=form["value"] or (gesture.value or ""),
            currency=form["currency"] or gesture.currency, reason=form["reason"], note=form["note"],
        )
    except ValueError:
        error = "Choose a gesture from the list."
    except DomainError as exc:
        error = exc.detail
    snippet = fill_snippet(result) if result and result.status != GrantStatus.PENDING_APPROVAL else ""
    pending = (
        f"To make up for this we have asked for a {result.gesture.get_kind_display().lower()} "
        f"({result.value} {result.currency}) for you; it is being approved and we will confirm it shortly."
        if result and result.status == GrantStatus.PENDING_APPROVAL else ""
    )
    context = _panel_context(request, ticket, form={} if result else form, error=error, result=result,
                             result_snippet=snippet, pending_snippet=pending)
    # 200 even when refused: htmx swaps only successful answers, and the refusal is the content.
    return render(request, "goodwill/ticket_panel.html", context)


def approvals(request: HttpRequest):
    return render(request, "goodwill/approvals.html", {
        "desk_section": "approvals", "approvals": selectors.approvals_for(agent=request.user),
        "mine": selectors.my_requests(agent=request.user),
    })


def _decide(request, grant_id: int) -> str:
    grant = selectors.grant_get_for_agent(agent=request.user, grant_id=grant_id)
    note = request.POST.get("note", "")
    if request.POST.get("decision") == "approve":
        services.gesture_approve(grant=grant, agent=request.user, note=note)
        return "approved"
    if request.POST.get("decision") == "deny":
        services.gesture_deny(grant=grant, agent=request.user, note=note)
        return "denied"
    raise NotFound("Choose approve or deny.")


@require_POST
def approval_decide(request: HttpRequest, grant_id: int):
    try:
        outcome = _decide(request, grant_id)
    except NotFound as exc:
        raise Http404 from exc
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Request {outcome}.")
    return redirect("desk:goodwill_approvals")


def approval_link(request: HttpRequest, token: str):
    """The approver's signed link: GET shows a confirm page, POST decides. Anything wrong — a
    tampered or expired token, someone else signed in, a request already decided — gets the
    same neutral page and changes nothing."""
    read = links.approval_token_read(token)
    grant = None
    if read and read[1] == request.user.pk:
        grant = Grant.objects.select_related("gesture", "ticket", "agent", "customer").filter(
            pk=read[0], status=GrantStatus.PENDING_APPROVAL).first()
    if grant is None:
        return render(request, "goodwill/link_invalid.html", status=400)
    if request.method == "POST":
        try:
            outcome = _decide(request, grant.pk)
        except DomainError:
            return render(request, "goodwill/link_invalid.html", status=400)
        messages.success(request, f"Request {outcome}.")
        return redirect("desk:goodwill_approvals")
    return render(request, "goodwill/link_confirm.html", {"grant": grant, "token": token})


def attention(request: HttpRequest):
    return render(request, "goodwill/attention.html", {
        "desk_section": "attention", **selectors.needs_attention(agent=request.user),
    })


@require_POST
def attention_act(request: HttpRequest, grant_id: int):
    try:
        grant = Grant.objects.select_related("gesture", "ticket").filter(pk=grant_id).first()
        if grant is None:
            raise NotFound("No such gesture.")
        if request.POST.get("action") == "retry":
            services.grant_retry(grant=grant, agent=request.user)
            messages.success(request, "Fulfilment queued again.")
        else:
            services.grant_task_done(grant=grant, agent=request.user)
            messages.success(request, "Marked done.")
    except NotFound as exc:
        raise Http404 from exc
    except DomainError as exc:
        messages.error(request, exc.detail)
    return redirect("desk:goodwill_attention")


def customer_panel(request: HttpRequest, customer_id: int):
    if not Customer.objects.filter(pk=customer_id).exists():
        raise Http404
    return render(request, "goodwill/customer_panel.html", {
        "rows": selectors.grants_for_customer(agent=request.user, customer_id=customer_id),
    })


def report_page(request: HttpRequest):
    if not request.user.is_admin:
        raise Http404
    return render(request, "goodwill/reports.html", {
        "desk_section": "goodwill_reports", "report": _with_outcome_rows(reports.full_report()),
    })


def _with_outcome_rows(report: dict) -> dict:
    outcome = report["outcome"]
    outcome["rows"] = [("With a gesture", outcome["with_gesture"]), ("Without", outcome["without_gesture"])]
    return report
