"""Workspace pages of the followups app: the ticket page's follow-up panel (loaded by htmx:
confirmation suggestion, ladder state, snooze, follow-ups, a promise in the composer turned
into a follow-up), the "Follow-ups" page and the administrators' settings page.

Thin: parse → followups service/selector → render. Refusals are shown in the fragment (200
for htmx, which drops 4xx answers). Times typed in forms are wall-clock times in the
server's time zone (``settings.TIME_ZONE``); agents have no time zone of their own yet.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from frontdesk.accounts.permissions import check_admin
from frontdesk.accounts.selectors import agent_get, agent_list
from frontdesk.core.errors import DomainError, Forbidden, InvalidInput, NotFound
from frontdesk.followups import config, ladder, selectors, services
from frontdesk.followups.models import FollowUpKind, LadderPolicy, LadderScope
from frontdesk.followups.promises import find_promise
from frontdesk.mail.models import Inbox
from frontdesk.tickets import selectors as ticket_selectors
from frontdesk.tickets.models import Ticket

FORM_FORMAT = "%Y-%m-%dT%H:%M"


def _ticket(request, reference: str) -> Ticket:
    try:
        return ticket_selectors.ticket_get_for_agent(agent=request.user, reference=reference)
    except NotFound as exc:
        raise Http404("No such ticket.") from exc


def _when(value: str | None, field: str = "Due time") -> datetime | None:
    """A ``datetime-local`` form value, as an aware time in the current time zone."""
    if not value:
        return None
    try:
        moment = datetime.strptime(value.strip()[:16], FORM_FORMAT)
    except ValueError as exc:
        raise InvalidInput(f"{field} must be a date and time (YYYY-MM-DDTHH:MM).") from exc
    return timezone.make_aware(moment)


def _local(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime(FORM_FORMAT) if moment else ""


def _owner(value: str | None):
    if not value:
        return None
    try:
        return agent_get(agent_id=int(value))
    except (ValueError, NotFound) as exc:
        raise InvalidInput("Choose an owner from the list.", code="invalid_owner") from exc


def panel_context(request, ticket: Ticket, **extra) -> dict:
    agent = request.user
    form = {"kind": FollowUpKind.REMINDER, "due_at": "", "note": "", "body": "", "owner": agent.pk,
            "cancel_if_customer_writes": True}
    form.update(extra.pop("form", {}))
    return {
        "ticket": ticket,
        "can_write": agent.is_active and not agent.is_light,
        "suggestion": selectors.confirmation_suggestion(ticket=ticket),
        "ladder": selectors.active_ladder(ticket=ticket),
        "snooze": selectors.snooze_of(ticket=ticket),
        "resolution": selectors.latest_resolution(ticket=ticket),
        "follow_ups": selectors.follow_up_list(agent=agent, scope="team", ticket=ticket),
        "owners": [a for a in agent_list() if a.is_active],
        "form": form,
        "kinds": FollowUpKind.choices,
        "now_local": _local(timezone.now()),
        **extra,
    }


def _panel(request, ticket: Ticket, status: int = 200, **extra):
    return render(request, "desk/followups/_panel.html", panel_context(request, ticket, **extra),
                  status=200 if request.htmx else status)


def _done(request, ticket: Ticket, **extra):
    """After a change: the panel for htmx, the ticket page otherwise."""
    if request.htmx:
        return _panel(request, ticket, **extra)
    return redirect("desk:ticket", ticket.reference)


@require_http_methods(["GET", "POST"])
def ticket_follow_ups(request, reference: str):
    """GET: the panel. POST: schedule a follow-up (reminder or scheduled send)."""
    ticket = _ticket(request, reference)
    if request.method == "GET":
        return _panel(request, ticket)
    post = request.POST
    form = {"kind": post.get("kind", FollowUpKind.REMINDER), "due_at": post.get("due_at", ""),
            "note": post.get("note", ""), "body": post.get("body", ""), "owner": post.get("owner", ""),
            "cancel_if_customer_writes": bool(post.get("cancel_if_customer_writes"))}
    try:
        services.followup_create(
            ticket=ticket, created_by=request.user, owner=_owner(form["owner"]), due_at=_when(form["due_at"]),
            note=form["note"], kind=form["kind"], body=form["body"],
            cancel_if_customer_writes=form["cancel_if_customer_writes"] if form["kind"] == FollowUpKind.SCHEDULED_SEND
            else False,
        )
    except DomainError as exc:
        return _panel(request, ticket, status=exc.status, form=form, error=exc.detail)
    return _done(request, ticket, notice="Follow-up scheduled.")


@require_POST
def ticket_promise(request, reference: str):
    """The composer's text → a pre-filled follow-up form (the due time the promise names)."""
    ticket = _ticket(request, reference)
    text = request.POST.get("body", "")
    promise = find_promise(text, now=timezone.now(), tz=timezone.get_current_timezone())
    if promise is None:
        return _panel(request, ticket, error="No promised time found in the reply (try “tomorrow”, “by Friday”, "
                                             "“next week” or a date).")
    return _panel(request, ticket, notice=f"Found “{promise.phrase}”: check the time and schedule it.",
                  form={"due_at": _local(promise.due_at), "note": f"Promised the customer: {promise.sentence}"})


@require_POST
def ticket_snooze(request, reference: str):
    ticket = _ticket(request, reference)
    try:
        if request.POST.get("wake"):
            services.ticket_unsnooze(ticket=ticket, agent=request.user)
        else:
            services.ticket_snooze(ticket=ticket, agent=request.user, until=_when(request.POST.get("until"), "Until"),
                                   note=request.POST.get("note", ""))
    except DomainError as exc:
        return _panel(request, ticket, status=exc.status, snooze_error=exc.detail)
    return _done(request, ticket)


@require_POST
def ticket_solve_confirmed(request, reference: str):
    ticket = _ticket(request, reference)
    try:
        ladder.ticket_solve_as_confirmed(ticket=ticket, agent=request.user)
    except DomainError as exc:
        return _panel(request, ticket, status=exc.status, error=exc.detail)
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"  # status, header and timeline all changed
        return response
    return redirect("desk:ticket", ticket.reference)


# ---- the Follow-ups page ----

@require_GET
def follow_up_page(request):
    scope = request.GET.get("scope", "mine")
    if scope not in ("mine", "team"):
        scope = "mine"
    agent = request.user
    return render(request, "desk/followups/list.html", {
        "desk_section": "follow-ups", "scope": scope,
        "due": selectors.follow_up_list(agent=agent, scope=scope, when="due"),
        "upcoming": selectors.follow_up_list(agent=agent, scope=scope, when="upcoming"),
        "now_local": _local(timezone.now()),
    })


@require_POST
def follow_up_action(request, pk: int, action: str):
    """done / cancel / reschedule, from the Follow-ups page or the ticket panel (``next``)."""
    try:
        item = selectors.follow_up_get_for_agent(agent=request.user, follow_up_id=pk)
    except NotFound as exc:
        raise Http404("No such follow-up.") from exc
    try:
        if action == "done":
            services.followup_mark_done(follow_up=item, agent=request.user)
        elif action == "cancel":
            services.followup_cancel(follow_up=item, agent=request.user)
        elif action == "reschedule":
            services.followup_reschedule(follow_up=item, agent=request.user, due_at=_when(request.POST.get("due_at")))
        else:
            raise Http404("No such action.")
    except DomainError as exc:
        if request.htmx and request.POST.get("panel"):
            return _panel(request, item.ticket, error=exc.detail)
        messages.error(request, exc.detail)
        return redirect(reverse("desk:follow_ups") + f"?scope={request.POST.get('scope', 'mine')}")
    if request.htmx and request.POST.get("panel"):
        return _panel(request, item.ticket)
    if request.POST.get("panel"):
        return redirect("desk:ticket", item.ticket.reference)
    return redirect(reverse("desk:follow_ups") + f"?scope={request.POST.get('scope', 'mine')}")


# ---- settings (administrators) ----

def _int(value: str | None, field: str, *, default: int | None = None) -> int | None:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise InvalidInput(f"{field} must be a whole number.") from exc


def _policy_fields(post) -> dict:
    return {
        "enabled": bool(post.get("enabled")),
        "first_reminder_days": _int(post.get("first_reminder_days"), "First reminder", default=0),
        "second_reminder_days": _int(post.get("second_reminder_days"), "Second reminder", default=0),
        "solve_after_days": _int(post.get("solve_after_days"), "Solve after", default=0),
        "calendar_id": _int(post.get("calendar_id"), "Calendar"),
        "reminder_text": post.get("reminder_text") or None,
        "solve_text": post.get("solve_text") or None,
    }


@require_http_methods(["GET", "POST"])
def followup_settings(request):
    """Ladder (default + per inbox / per plan), solved→closed period, check-ins."""
    try:
        check_admin(request.user)
    except Forbidden as exc:
        raise Http404("No such page.") from exc
    from frontdesk.calendars.models import BusinessCalendar

    error = ""
    if request.method == "POST":
        post, section = request.POST, request.POST.get("section")
        try:
            if section == "ladder":
                policy = LadderPolicy.objects.filter(pk=_int(post.get("policy_id"), "Ladder")).first()
                if policy is None:
                    raise InvalidInput("No such ladder.")
                config.ladder_policy_save(agent=request.user, policy=policy, scope=policy.scope,
                                          inbox_id=policy.inbox_id, plan=policy.plan, **_policy_fields(post))
            elif section == "ladder_add":
                scope = post.get("scope", "")
                config.ladder_policy_save(agent=request.user, scope=scope,
                                          inbox_id=_int(post.get("inbox_id"), "Inbox"), plan=post.get("plan", ""),
                                          **_policy_fields(post))
            elif section == "ladder_delete":
                config.ladder_policy_delete(agent=request.user, policy_id=_int(post.get("policy_id"), "Ladder"))
            elif section == "closing":
                hours = _int(post.get("close_solved_after_hours"), "Hours")
                config.followup_settings_update(agent=request.user, close_solved_after_hours=hours)
            elif section == "check_in":
                config.followup_settings_update(
                    agent=request.user, check_in_enabled=bool(post.get("check_in_enabled")),
                    check_in_days=_int(post.get("check_in_days"), "Days", default=3),
                    check_in_plans=post.get("check_in_plans", "").replace(",", " ").split(),
                    check_in_tags=post.get("check_in_tags", "").replace(",", " ").split(),
                    check_in_text=post.get("check_in_text") or None,
                )
            else:
                raise InvalidInput("Unknown settings section.")
        except DomainError as exc:
            error = exc.detail
        else:
            messages.success(request, "Saved.")
            return redirect("desk:followup_settings")
    config.default_policy()
    inboxes = {inbox.pk: inbox for inbox in Inbox.objects.order_by("name")}
    policies = list(LadderPolicy.objects.select_related("calendar").order_by("scope", "plan", "inbox_id", "pk"))
    for policy in policies:
        policy.inbox_label = str(inboxes[policy.inbox_id]) if policy.inbox_id in inboxes else ""
    row = config.followup_settings()
    return render(request, "desk/followups/settings.html", {
        "desk_section": "follow-ups", "error": error, "policies": policies, "inboxes": inboxes.values(),
        "calendars": BusinessCalendar.objects.order_by("name"), "scopes": [LadderScope.INBOX, LadderScope.PLAN],
        "settings_row": row, "close_hours": config.close_solved_after_hours(),
        "check_in_plans": " ".join(row.check_in_plans), "check_in_tags": " ".join(row.check_in_tags),
    }, status=400 if error else 200)
