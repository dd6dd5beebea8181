"""The ticket page: conversation, composer, side panel, timeline, customer panel, and the
small endpoints its script polls (new messages, presence). Thin: parse → service/selector →
render. htmx requests get fragments; the same URLs work as plain form posts without script.
Signing in is enforced for the whole ``desk`` namespace by ``desk.middleware``.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from frontdesk.accounts.permissions import check_full_agent
from frontdesk.accounts.selectors import agent_get, group_get
from frontdesk.core.errors import DomainError, InvalidInput, NotFound
from frontdesk.tickets import selectors, services
from frontdesk.tickets.attachments import NewAttachment, download_response
from frontdesk.tickets.lifecycle import TRANSITIONS
from frontdesk.tickets.models import EventKind, Priority, Status, Ticket

from .people import people
from .presence import presence_beat, presence_leave, presence_others
from .ticket_display import (
    assignee_options,
    event_views,
    group_options,
    message_views,
    options_html,
)

MAX_UPLOADS = 20
CHANGES = ("status", "priority", "group", "assignee", "tags")


def _ticket(request, reference: str) -> Ticket:
    """The ticket if this agent may see it; 404 otherwise, exactly as if it did not exist."""
    try:
        return selectors.ticket_get_for_agent(agent=request.user, reference=reference, requester_email=False)
    except NotFound as exc:
        raise Http404("No such ticket.") from exc


def _int(value: str | None, *, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise InvalidInput(f"{field} must be a number.") from exc


def _local_time(time_zone: str) -> datetime | None:
    try:
        return timezone.now().astimezone(zoneinfo.ZoneInfo(time_zone)) if time_zone else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def customer_panel_context(*, agent, ticket: Ticket) -> dict:
    """The customer panel. The caller has loaded the requester's contact points (one query for
    every customer on the page, ``selectors.customers_with_contact_points``) and organization."""
    customer = ticket.requester
    return {
        "customer": customer,
        "customer_points": list(customer.contact_points.all()),
        "customer_org": customer.organization,
        "customer_local_time": _local_time(customer.time_zone),
        "customer_preferences": sorted((customer.preferences or {}).items()),
        "other_tickets": [
            {**brief, "status_label": Status(brief["status"]).label}
            for brief in selectors.ticket_briefs_of_customer(
                agent=agent, requester_id=customer.pk, exclude_id=ticket.pk, limit=10
            )
        ],
        "can_edit_customer": agent.is_active and not agent.is_light,
    }


def ticket_context(request, ticket: Ticket, *, new_after: int | None = None, **extra) -> dict:
    """Everything the page shows, in a fixed number of queries whatever the ticket's size."""
    agent = request.user
    messages = list(selectors.ticket_messages(ticket=ticket, contact_points=False))
    events = list(selectors.ticket_timeline(ticket=ticket, contact_points=False))
    # One query for the contact points of the requester and of every customer who wrote or acted,
    # each customer one instance (usually all the requester: prefetching costs per instance).
    customers = {ticket.requester.pk: ticket.requester}
    for message in messages:
        if message.author_customer_id:
            message.author_customer = customers.setdefault(message.author_customer_id, message.author_customer)
    for event in events:
        if event.actor_customer_id:
            event.actor_customer = customers.setdefault(event.actor_customer_id, event.actor_customer)
    selectors.customers_with_contact_points(list(customers.values()))
    conversation = message_views(messages, new_after=new_after)
    can_write = agent.is_active and not agent.is_light
    # Groups and agents: the side panel's choices, and the names in assignment events.
    team = people() if can_write or any(e.kind == EventKind.ASSIGNEE for e in events) else None
    context = {
        "ticket": ticket,
        # Not "messages": that name belongs to django.contrib.messages (the layout's flash notices).
        "conversation_messages": conversation,
        "last_message_id": conversation[-1].pk if conversation else 0,
        "events": event_views(events, people=team),
        "tags": sorted(ticket.tags.values_list("name", flat=True)),
        "can_write": can_write,
        "can_reply": can_write and ticket.status != Status.CLOSED,
        "reply_statuses": [(s, Status(s).label) for s in (Status.PENDING, Status.ON_HOLD, Status.SOLVED)],
        **(_property_options(ticket, team) if can_write else {}),
        "others": presence_others(ticket_id=ticket.pk, agent=agent),
        "composer": {"kind": "note" if not can_write else "reply", "body": ""},
        "max_upload_mb": settings.FRONTDESK_MAX_ATTACHMENT_BYTES // (1024 * 1024),
        **customer_panel_context(agent=agent, ticket=ticket),
    }
    context.update(extra)
    return context


def _property_options(ticket: Ticket, team) -> dict:
    """The side panel's choices, as ``<option>`` elements with the ticket's value selected."""
    statuses = [(s, Status(s).label) for s in Status.values if s == ticket.status or s in TRANSITIONS[ticket.status]]
    return {
        "status_options": options_html(statuses, selected=ticket.status),
        "priority_options": options_html(Priority.choices, selected=ticket.priority),
        "group_options": options_html(group_options(team), selected=ticket.group_id, empty="— none (triage) —"),
        "assignee_options": options_html(
            assignee_options(team, ticket=ticket), selected=ticket.assignee_id, empty="— unassigned —"
        ),
    }


@require_GET
def ticket_page(request, reference: str):
    ticket = _ticket(request, reference)
    return render(request, "desk/ticket/page.html", ticket_context(request, ticket))


def _uploads(files) -> list[NewAttachment]:
    if len(files) > MAX_UPLOADS:
        raise InvalidInput(f"Attach at most {MAX_UPLOADS} files to one message.")
    attachments = []
    for upload in files:
        if upload.size > settings.FRONTDESK_MAX_ATTACHMENT_BYTES:
            raise InvalidInput(
                f"{upload.name} is larger than {settings.FRONTDESK_MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB.",
                code="attachment_too_large",
            )
        attachments.append(
            NewAttachment(filename=upload.name, content=upload.read(), content_type=upload.content_type or "")
        )
    return attachments


@require_POST
def ticket_send(request, reference: str):
    """Send a public reply (optionally setting a status) or add an internal note.

    The form carries ``seen_message_id``, the newest message on the agent's screen: a reply
    is refused when the customer wrote after it (unless ``force``), and the page shows the
    new message with the draft kept.
    """
    ticket = _ticket(request, reference)
    agent = request.user
    kind = request.POST.get("kind", "reply")
    body = request.POST.get("body", "")
    status = request.POST.get("status", "")
    if request.POST.get("force"):  # "send anyway" repeats the status the refused send asked for
        status = status or request.POST.get("force_status", "")
    composer = {"kind": kind, "body": body, "status": status}
    try:
        seen = _int(request.POST.get("seen_message_id"), field="seen_message_id")
        attachments = _uploads(request.FILES.getlist("attachments"))
        if kind == "note":
            if status:
                raise InvalidInput("A note does not change the status; use the side panel.")
            message = services.ticket_add_note(ticket=ticket, author=agent, body=body, attachments=attachments)
        elif kind == "reply":
            message = services.ticket_reply(
                ticket=ticket, author=agent, body=body, attachments=attachments, status=status or None,
                seen_message_id=None if request.POST.get("force") else seen,
            )
        else:
            raise InvalidInput(f"Unknown message kind {kind!r}.")
    except services.UnseenCustomerMessage as exc:
        return _send_refused(request, ticket, exc, composer, seen=seen, conflict=True)
    except DomainError as exc:
        return _send_refused(request, ticket, exc, composer)
    if not request.htmx:
        return redirect(reverse("desk:ticket", args=[ticket.reference]) + f"#m{message.pk}")
    ticket = _fresh_or_none(request, ticket)
    if ticket is None:
        return _gone(request)
    response = render(request, "desk/ticket/_after_send.html", ticket_context(request, ticket))
    response["HX-Retarget"] = "#composer"
    response["HX-Reswap"] = "outerHTML"
    return response


def _send_refused(request, ticket, exc: DomainError, composer: dict, *, seen=None, conflict=False):
    ticket = _fresh_or_none(request, ticket) or ticket
    context = ticket_context(
        request, ticket, new_after=seen if conflict else None, composer=composer,
        composer_error=exc.detail, composer_conflict=conflict,
    )
    if request.htmx:  # a fragment htmx swaps in: 200, or htmx would drop it (and log an error)
        return render(request, "desk/ticket/_send_refused.html", context)
    return render(request, "desk/ticket/page.html", context, status=exc.status)


def _fresh_or_none(request, ticket: Ticket) -> Ticket | None:
    """The ticket re-read after a change; None if the change took it out of the agent's sight
    (e.g. moved to a group they are not in)."""
    try:
        return selectors.ticket_get_for_agent(agent=request.user, reference=ticket.reference, requester_email=False)
    except NotFound:
        return None


def _gone(request) -> HttpResponse:
    """After a change that hid the ticket from this agent: back to the inbox."""
    inbox = reverse("desk:inbox")
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = inbox
        return response
    return redirect(inbox)


def _apply_change(request, ticket: Ticket, change: str) -> None:
    agent, post = request.user, request.POST
    check_full_agent(agent)
    if change == "status":
        services.ticket_set_status(ticket=ticket, actor=agent, status=post.get("status", ""))
    elif change == "priority":
        services.ticket_set_priority(ticket=ticket, actor=agent, priority=post.get("priority", ""))
    elif change == "group":
        group_id = _int(post.get("group_id"), field="Group")
        group = group_get(group_id=group_id) if group_id is not None else None
        services.ticket_assign(ticket=ticket, actor=agent, group=group)
    elif change == "assignee":
        assignee_id = _int(post.get("assignee_id"), field="Assignee")
        assignee = agent_get(agent_id=assignee_id) if assignee_id is not None else None
        services.ticket_assign(ticket=ticket, actor=agent, assignee=assignee)
    elif change == "tags":
        add = post.get("add", "").replace(",", " ").split()
        services.ticket_tag(ticket=ticket, actor=agent, add=add, remove=post.getlist("remove"))


@require_POST
def ticket_change(request, reference: str, change: str):
    """One side-panel change (status, priority, group, assignee, tags), recorded in the
    timeline by its service; a refused change is shown next to its field."""
    if change not in CHANGES:
        raise Http404("No such change.")
    ticket = _ticket(request, reference)
    error, status = None, 200
    try:
        _apply_change(request, ticket, change)
    except DomainError as exc:
        error, status = exc.detail, exc.status
    fresh = _fresh_or_none(request, ticket)
    if fresh is None:
        return _gone(request)
    if not request.htmx and error is None:
        return redirect("desk:ticket", fresh.reference)
    context = ticket_context(request, fresh, change_error=error, change_field=change)
    if request.htmx:  # the refusal is in the fragment, next to its field
        return render(request, "desk/ticket/_after_change.html", context)
    return render(request, "desk/ticket/page.html", context, status=status)


@require_GET
def ticket_new_messages(request, reference: str):
    """Messages added after ``after`` (the newest one on the page), with the timeline: polled
    by the page so an agent sees what arrives while they write. 204 when there is nothing."""
    ticket = _ticket(request, reference)
    try:
        after = _int(request.GET.get("after"), field="after") or 0
    except InvalidInput as exc:
        raise Http404("Bad message id.") from exc
    messages = message_views(selectors.ticket_messages(ticket=ticket, after_id=after), new_after=after)
    if not messages:
        return HttpResponse(status=204)
    context = ticket_context(request, ticket)
    context["new_messages"] = messages
    return render(request, "desk/ticket/_new_messages.html", context)


@require_POST
def ticket_presence(request, reference: str):
    """Heartbeat of an open ticket page: records this agent (and whether they are typing)
    and answers with who else is here. ``leave`` ends the agent's presence at once."""
    ticket = _ticket(request, reference)
    if request.POST.get("leave"):
        presence_leave(ticket_id=ticket.pk, agent=request.user)
        return HttpResponse(status=204)
    others = presence_beat(ticket_id=ticket.pk, agent=request.user, typing=request.POST.get("typing", ""))
    return render(request, "desk/ticket/_presence.html", {"others": others, "ticket": ticket})


@require_GET
def attachment_download(request, public_id: str):
    """The file, as a download (never rendered inline), if the agent may see its ticket."""
    try:
        attachment = selectors.attachment_get_for_agent(agent=request.user, public_id=public_id)
    except NotFound as exc:
        raise Http404("No such attachment.") from exc
    return download_response(attachment)

