"""Agent follow-ups (the tickle file) and scheduled sends, snoozes, post-solve check-ins,
and what a customer's message ends. Ladder and resolutions: ``ladder.py``; settings:
``config.py``.

Contract: keyword-only arguments; one transaction; the ticket row is locked first (the lock
every message insert takes), then this app's row; every change records a timeline event.
Permission to see the ticket is the caller's check (``selectors``); the rules of who may
change a follow-up are checked here.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from frontdesk.accounts.models import Agent
from frontdesk.accounts.permissions import check_full_agent
from frontdesk.core.errors import Conflict, DomainError, Forbidden, InvalidInput
from frontdesk.core.text import single_line
from frontdesk.notifications.services import notify_agents
from frontdesk.tickets.models import EventKind, Status, Ticket, TicketEvent
from frontdesk.tickets.selectors import tickets_visible_to
from frontdesk.tickets.services import MAX_BODY_CHARS, ticket_reply, ticket_send_automatic_message
from frontdesk.tickets.timeline import record_event

from .config import close_solved_after_hours, followup_settings, ticket_plan
from .ladder import APP_ACTOR
from .models import (
    OPEN_FOLLOW_UP_STATES,
    CheckIn,
    CheckInState,
    FollowUp,
    FollowUpKind,
    FollowUpState,
    Snooze,
)

logger = logging.getLogger(__name__)

MAX_NOTE = 2000
MAX_AHEAD = timedelta(days=5 * 365)


def newest_message_id(ticket: Ticket) -> int:
    return ticket.messages.order_by("-pk").values_list("pk", flat=True).first() or 0


def customer_wrote_since(ticket: Ticket, message_id: int) -> bool:
    """Has the requester or a CC written on ``ticket`` after message ``message_id``?"""
    return ticket.messages.filter(pk__gt=message_id, author_customer__isnull=False).exists()


def _locked_ticket(ticket_id: int) -> Ticket:
    return Ticket.objects.select_for_update(of=("self",)).select_related("requester", "group").get(pk=ticket_id)


def _ticket_url(ticket: Ticket) -> str:
    return reverse("desk:ticket", args=[ticket.reference])


def check_due_at(due_at: datetime | None, *, now: datetime | None = None) -> datetime:
    """A due time must be aware, in the future and within five years."""
    now = now or timezone.now()
    if due_at is None:
        raise InvalidInput("Choose when the follow-up is due.", code="due_missing")
    if timezone.is_naive(due_at):
        raise InvalidInput("The due time needs a time zone.", code="due_naive")
    if due_at <= now:
        raise InvalidInput(
            f"The due time {due_at:%Y-%m-%d %H:%M %Z} is in the past: choose a time after now "
            f"({now:%Y-%m-%d %H:%M %Z}).", code="due_in_past",
        )
    if due_at > now + MAX_AHEAD:
        raise InvalidInput("A follow-up can be due at most five years ahead.", code="due_too_far")
    return due_at


def _check_owner(owner: Agent, ticket: Ticket, kind: str) -> None:
    if not owner.is_active:
        raise InvalidInput(f"{owner.name} is deactivated.", code="invalid_owner")
    if kind == FollowUpKind.SCHEDULED_SEND and owner.is_light:
        raise InvalidInput(f"{owner.name} is a light agent and cannot reply to customers.", code="invalid_owner")
    if not tickets_visible_to(agent=owner).filter(pk=ticket.pk).exists():
        raise InvalidInput(f"{owner.name} cannot see this ticket.", code="invalid_owner")


def _event(ticket: Ticket, follow_up: FollowUp, actor, action: str, **extra) -> TicketEvent:
    return record_event(
        ticket=ticket, kind=EventKind.AGENT_FOLLOW_UP, actor=actor,
        after={"action": action, "id": follow_up.pk, "kind": follow_up.kind,
               "due": follow_up.due_at.isoformat(), "owner": follow_up.owner.name if follow_up.owner else None,
               "note": follow_up.note[:200], **extra},
    )


@transaction.atomic
def followup_create(
    *, ticket: Ticket, created_by: Agent, due_at: datetime | None, note: str = "", owner: Agent | None = None,
    kind: str = FollowUpKind.REMINDER, body: str = "", cancel_if_customer_writes: bool | None = None,
) -> FollowUp:
    """Schedule a follow-up on ``ticket`` for ``owner`` (default: its creator).

    A reminder notifies the owner at ``due_at``; a scheduled send posts ``body`` as the owner's
    public reply then, unless (``cancel_if_customer_writes``, default on for sends) the
    customer wrote in between. A due time in the past is refused (``due_in_past``).
    """
    if not created_by.is_active:
        raise Forbidden("This agent account is deactivated.")
    if kind not in FollowUpKind.values:
        raise InvalidInput(f"Unknown follow-up kind {kind!r}.", code="invalid_kind")
    if kind == FollowUpKind.SCHEDULED_SEND:
        check_full_agent(created_by)
    check_due_at(due_at)
    owner = owner or created_by
    note = (note or "").strip()
    body = (body or "").strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"A note is limited to {MAX_NOTE} characters.", code="invalid_note")
    if kind == FollowUpKind.SCHEDULED_SEND:
        if not body:
            raise InvalidInput("A scheduled send needs the message to send.", code="empty_body")
        if len(body) > MAX_BODY_CHARS:
            raise InvalidInput(f"A message body is limited to {MAX_BODY_CHARS} characters.")
    elif not note:
        raise InvalidInput("Say what to follow up on.", code="empty_note")
    ticket = _locked_ticket(ticket.pk)
    if ticket.status == Status.CLOSED and kind == FollowUpKind.SCHEDULED_SEND:
        raise Conflict("This ticket is closed: nothing can be sent on it.", code="ticket_closed")
    _check_owner(owner, ticket, kind)
    now = timezone.now()
    follow_up = FollowUp.objects.create(
        ticket=ticket, owner=owner, created_by=created_by, kind=kind, due_at=due_at, fire_at=due_at,
        note=note, body=body, created_at=now, updated_at=now, seen_message_id=newest_message_id(ticket),
        cancel_if_customer_writes=(kind == FollowUpKind.SCHEDULED_SEND) if cancel_if_customer_writes is None
        else cancel_if_customer_writes,
    )
    _event(ticket, follow_up, created_by, "scheduled")
    return follow_up


def _locked_for_change(follow_up: FollowUp, agent: Agent) -> tuple[Ticket, FollowUp]:
    """Its ticket and the follow-up, locked, if ``agent`` may change it: its owner, its
    creator or an administrator (seeing the ticket is the caller's check)."""
    if not agent.is_active:
        raise Forbidden("This agent account is deactivated.")
    ticket = _locked_ticket(follow_up.ticket_id)
    follow_up = FollowUp.objects.select_for_update(of=("self",)).select_related("owner").get(pk=follow_up.pk)
    if not (agent.is_admin or agent.pk in (follow_up.owner_id, follow_up.created_by_id)):
        raise Forbidden("Only its owner, its creator or an administrator can change this follow-up.")
    return ticket, follow_up


@transaction.atomic
def followup_reschedule(
    *, follow_up: FollowUp, agent: Agent, due_at: datetime | None, note: str | None = None
) -> FollowUp:
    """Move an open follow-up (scheduled or due) to a new, future due time."""
    check_due_at(due_at)
    ticket, follow_up = _locked_for_change(follow_up, agent)
    if not follow_up.is_open:
        raise Conflict(f"This follow-up is {follow_up.get_state_display().lower()}.", code="follow_up_closed")
    if note is not None:
        if not note.strip() and follow_up.kind == FollowUpKind.REMINDER:
            raise InvalidInput("Say what to follow up on.", code="empty_note")
        follow_up.note = note.strip()[:MAX_NOTE]
    follow_up.due_at = follow_up.fire_at = due_at
    follow_up.state, follow_up.updated_at = FollowUpState.SCHEDULED, timezone.now()
    follow_up.save()
    _event(ticket, follow_up, agent, "rescheduled")
    return follow_up


@transaction.atomic
def followup_mark_done(*, follow_up: FollowUp, agent: Agent) -> FollowUp:
    ticket, follow_up = _locked_for_change(follow_up, agent)
    if follow_up.kind != FollowUpKind.REMINDER or not follow_up.is_open:
        raise Conflict("Only an open reminder can be marked done.", code="follow_up_closed")
    now = timezone.now()
    follow_up.state, follow_up.done_at, follow_up.fire_at, follow_up.updated_at = FollowUpState.DONE, now, None, now
    follow_up.save()
    _event(ticket, follow_up, agent, "done")
    return follow_up


def _cancel(ticket: Ticket, follow_up: FollowUp, actor, reason: str) -> None:
    now = timezone.now()
    follow_up.state, follow_up.cancelled_at, follow_up.fire_at = FollowUpState.CANCELLED, now, None
    follow_up.cancel_reason, follow_up.updated_at = reason[:200], now
    follow_up.save()
    _event(ticket, follow_up, actor, "cancelled", reason=reason)


@transaction.atomic
def followup_cancel(*, follow_up: FollowUp, agent: Agent) -> FollowUp:
    ticket, follow_up = _locked_for_change(follow_up, agent)
    if not follow_up.is_open:
        raise Conflict(f"This follow-up is {follow_up.get_state_display().lower()}.", code="follow_up_closed")
    _cancel(ticket, follow_up, agent, f"cancelled by {agent.name}")
    return follow_up


def _notify_owner(ticket: Ticket, follow_up: FollowUp, text: str, suffix: str = "") -> None:
    notify_agents(agents=[follow_up.owner], kind="follow_up", text=text, ticket=ticket,
                  url=_ticket_url(ticket), key=f"followup:{follow_up.pk}{suffix}")


@transaction.atomic
def followup_fire(*, follow_up_id: int) -> str:
    """The due time of a follow-up has come (run by the clock's task). A reminder becomes
    due and notifies its owner; a scheduled send posts its reply as the owner — or is
    cancelled if the customer wrote since it was scheduled (when so configured) or the
    ticket is closed. Under the ticket's row lock, with the state change in the same
    transaction as the reply: a follow-up never fires twice."""
    follow_up = FollowUp.objects.filter(pk=follow_up_id).first()
    if follow_up is None:
        return "skipped: no such follow-up"
    ticket = _locked_ticket(follow_up.ticket_id)
    follow_up = FollowUp.objects.select_for_update(of=("self",)).select_related("owner").get(pk=follow_up_id)
    if follow_up.state != FollowUpState.SCHEDULED:
        return f"skipped: {follow_up.state}"
    now = timezone.now()
    if follow_up.due_at > now:  # claimed early, or rescheduled meanwhile
        follow_up.fire_at = follow_up.due_at
        follow_up.save(update_fields=["fire_at"])
        return "skipped: not yet due"
    follow_up.fired_at = now
    note = single_line(follow_up.note, max_length=200)
    if follow_up.kind == FollowUpKind.REMINDER:
        follow_up.state, follow_up.updated_at = FollowUpState.DUE, now
        follow_up.save()
        _event(ticket, follow_up, APP_ACTOR, "due")
        if follow_up.owner is None:
            logger.info("follow-up %s on ticket %s is due but has no owner", follow_up.pk, ticket.reference)
        else:
            _notify_owner(ticket, follow_up, f"Follow-up due on #{ticket.reference}: {note or ticket.subject}")
        return "due"
    if follow_up.cancel_if_customer_writes and customer_wrote_since(ticket, follow_up.seen_message_id):
        reason = "the customer wrote first"
    elif ticket.status == Status.CLOSED:
        reason = "the ticket is closed"
    elif follow_up.owner is None:
        reason = "it has no owner"
    else:
        reason = ""
        try:
            with transaction.atomic():
                message = ticket_reply(ticket=ticket, author=follow_up.owner, body=follow_up.body)
        except DomainError as exc:
            reason = exc.detail
    if reason:
        _cancel(ticket, follow_up, APP_ACTOR, f"not sent: {reason}")
        if follow_up.owner is not None:
            _notify_owner(ticket, follow_up, f"Scheduled reply on #{ticket.reference} not sent: {reason}")
        return f"cancelled: {reason}"
    follow_up.state, follow_up.message, follow_up.updated_at = FollowUpState.SENT, message, now
    follow_up.save()
    _event(ticket, follow_up, APP_ACTOR, "sent")
    return "sent"


@transaction.atomic
def followup_after_bad_rating(*, event_id: int) -> FollowUp | None:
    """A ``satisfaction`` event rated "bad": one follow-up, due now, for the ticket group's
    lead (else the assignee) quoting the comment. Once per event; nobody to own it → logged."""
    event = TicketEvent.objects.filter(pk=event_id, kind="satisfaction").first()
    after = event.after if event is not None and isinstance(event.after, dict) else {}
    if after.get("rating") != "bad":
        return None
    if isinstance(event.before, dict) and event.before.get("rating") == "bad":
        return None  # a comment edited on a rating that was already Bad: its follow-up exists
    if FollowUp.objects.filter(source_event=event).exists():
        return None
    ticket = _locked_ticket(event.ticket_id)
    lead = ticket.group.lead if ticket.group_id and ticket.group.lead_id else None
    owner = next((a for a in (lead, ticket.assignee) if a is not None and a.is_active), None)
    if owner is None:
        logger.warning("bad rating on ticket %s: no group lead or assignee to follow up", ticket.reference)
        return None
    comment = single_line(str(after.get("comment") or ""), max_length=500)
    now = timezone.now()
    try:
        with transaction.atomic():
            follow_up = FollowUp.objects.create(
                ticket=ticket, owner=owner, created_by=None, kind=FollowUpKind.REMINDER, due_at=now, fire_at=now,
                note=f"The customer rated this ticket Bad: \u201c{comment}\u201d" if comment
                else "The customer rated this ticket Bad (no comment).",
                source_event=event, created_at=now, updated_at=now,
            )
    except IntegrityError:  # a concurrent run made it
        return None
    _event(ticket, follow_up, APP_ACTOR, "scheduled")
    return follow_up


# ---- snooze ----

SNOOZABLE = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)


@transaction.atomic
def ticket_snooze(*, ticket: Ticket, agent: Agent, until: datetime | None, note: str = "") -> Snooze:
    """Hide ``ticket`` from the inbox views until ``until`` or until its customer writes,
    whichever comes first. Snoozing a snoozed ticket moves its wake-up time."""
    check_full_agent(agent)
    if until is None:
        raise InvalidInput("Choose until when to snooze.", code="due_missing")
    check_due_at(until)
    ticket = _locked_ticket(ticket.pk)
    if ticket.status not in SNOOZABLE:
        raise Conflict("Only unsolved tickets can be snoozed.", code="not_snoozable")
    snooze, _ = Snooze.objects.update_or_create(
        ticket=ticket,
        defaults={"until": until, "wake_at": until, "snoozed_by": agent, "note": single_line(note, max_length=200),
                  "created_at": timezone.now(), "seen_message_id": newest_message_id(ticket)},
    )
    record_event(ticket=ticket, kind=EventKind.SNOOZE, actor=agent,
                 after={"action": "snoozed", "until": until.isoformat(), "note": snooze.note})
    return snooze


def _wake(ticket: Ticket, snooze: Snooze, *, actor, by: str) -> None:
    snooze.delete()
    record_event(ticket=ticket, kind=EventKind.SNOOZE, actor=actor, after={"action": "woken", "by": by})


@transaction.atomic
def ticket_unsnooze(*, ticket: Ticket, agent: Agent) -> None:
    check_full_agent(agent)
    ticket = _locked_ticket(ticket.pk)
    snooze = Snooze.objects.select_for_update().filter(ticket=ticket).first()
    if snooze is None:
        raise Conflict("This ticket is not snoozed.", code="not_snoozed")
    _wake(ticket, snooze, actor=agent, by="agent")


@transaction.atomic
def snooze_wake_if_due(*, ticket_id: int) -> str:
    """The snooze's time is up (run by the clock's task): the ticket is back in the inbox and
    its assignee is told. Safe to run twice; a snooze moved later waits for its new time."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("assignee").filter(pk=ticket_id).first()
    snooze = Snooze.objects.select_for_update().filter(ticket_id=ticket_id).first() if ticket else None
    if snooze is None:
        return "skipped: not snoozed"
    if snooze.until > timezone.now():
        snooze.wake_at = snooze.until
        snooze.save(update_fields=["wake_at"])
        return "skipped: not yet due"
    until = snooze.until
    _wake(ticket, snooze, actor=APP_ACTOR, by="time")
    notify_agents(agents=[ticket.assignee], kind="snooze", ticket=ticket, url=_ticket_url(ticket),
                  text=f"Snooze ended on #{ticket.reference}: {ticket.subject}",
                  key=f"snooze:{ticket.pk}:{until.isoformat()}")
    return "woken"


# ---- what a customer message ends ----

@transaction.atomic
def customer_wrote(*, event_id: int) -> dict:
    """A ``customer_message`` event: the ticket's snooze ends, and scheduled sends that are to
    be cancelled when the customer writes are cancelled. (The ladder stops through the status
    event of the reopen; its step also re-checks.) Safe to run twice."""
    event = TicketEvent.objects.filter(pk=event_id, kind=EventKind.CUSTOMER_MESSAGE).first()
    if event is None:
        return {}
    ticket = _locked_ticket(event.ticket_id)
    done = {"woken": 0, "cancelled": 0}
    message_id = event.message_id or 0
    snooze = Snooze.objects.select_for_update().filter(ticket=ticket, seen_message_id__lt=message_id).first()
    if snooze is not None:
        _wake(ticket, snooze, actor=event.actor_customer or APP_ACTOR, by="customer")
        done["woken"] = 1
    sends = FollowUp.objects.select_for_update(of=("self",)).select_related("owner").filter(
        ticket=ticket, kind=FollowUpKind.SCHEDULED_SEND, state=FollowUpState.SCHEDULED,
        cancel_if_customer_writes=True, seen_message_id__lt=message_id,
    )
    for follow_up in sends:
        _cancel(ticket, follow_up, APP_ACTOR, "not sent: the customer wrote first")
        if follow_up.owner is not None:
            _notify_owner(ticket, follow_up,
                          f"Scheduled reply on #{ticket.reference} cancelled: the customer wrote first")
        done["cancelled"] += 1
    return done


# ---- solved: close period and check-in ----

def _wants_check_in(ticket: Ticket, row) -> bool:
    if not row.check_in_enabled:
        return False
    if row.check_in_plans and ticket_plan(ticket) not in row.check_in_plans:
        return False
    if row.check_in_tags and not ticket.tags.filter(name__in=row.check_in_tags).exists():
        return False
    return True


@transaction.atomic
def solved_for_event(*, event_id: int) -> CheckIn | None:
    """A status event that solved a ticket: apply the configured solved→closed period, and
    schedule the check-in when the settings ask for one for this ticket. Safe to run twice."""
    from frontdesk.tickets.services import ticket_reschedule_auto_close

    event = TicketEvent.objects.filter(pk=event_id, kind=EventKind.STATUS).first()
    if event is None or event.after != Status.SOLVED:
        return None
    ticket = (Ticket.objects.select_for_update(of=("self",)).select_related("requester", "organization")
              .get(pk=event.ticket_id))
    if ticket.status != Status.SOLVED or ticket.events.filter(kind=EventKind.STATUS, pk__gt=event.pk).exists():
        return None
    hours = close_solved_after_hours()
    ticket_reschedule_auto_close(ticket_id=ticket.pk, close_after_hours=hours)
    row = followup_settings()
    if not _wants_check_in(ticket, row) or CheckIn.objects.filter(solve_event=event).exists():
        return None
    due = event.created_at + timedelta(days=row.check_in_days)
    check_in = CheckIn.objects.create(ticket=ticket, solve_event=event, due_at=due, send_at=due)
    record_event(ticket=ticket, kind=EventKind.CHECK_IN, actor=APP_ACTOR,
                 after={"action": "scheduled", "due": due.isoformat()})
    return check_in


@transaction.atomic
def check_in_send_if_due(*, check_in_id: int) -> str:
    """Send the check-in (run by the clock's task) if the ticket is still solved since the
    solve that scheduled it. A reopened or closed ticket skips it (the timeline says why)."""
    check_in = CheckIn.objects.filter(pk=check_in_id).first()
    if check_in is None:
        return "skipped: no such check-in"
    ticket = _locked_ticket(check_in.ticket_id)
    check_in = CheckIn.objects.select_for_update().get(pk=check_in_id)
    if check_in.state != CheckInState.SCHEDULED:
        return f"skipped: {check_in.state}"
    if check_in.due_at > timezone.now():
        check_in.send_at = check_in.due_at
        check_in.save(update_fields=["send_at"])
        return "skipped: not yet due"
    if ticket.events.filter(kind=EventKind.STATUS, pk__gt=check_in.solve_event_id).exists() \
            or ticket.status != Status.SOLVED:
        reason = "closed" if ticket.status == Status.CLOSED else "no longer solved"
        check_in.state, check_in.reason = CheckInState.SKIPPED, reason
        check_in.save(update_fields=["state", "reason"])
        record_event(ticket=ticket, kind=EventKind.CHECK_IN, actor=APP_ACTOR,
                     after={"action": "skipped", "reason": reason})
        return f"skipped: {reason}"
    row = followup_settings()
    from .ladder import fill_text

    message = ticket_send_automatic_message(ticket=ticket, body=fill_text(row.check_in_text, ticket),
                                            purpose="check_in", actor=APP_ACTOR)
    check_in.state, check_in.message = CheckInState.SENT, message
    check_in.save(update_fields=["state", "message"])
    record_event(ticket=ticket, kind=EventKind.CHECK_IN, actor=APP_ACTOR, message=message, after={"action": "sent"})
    return "sent"


def open_follow_up_count(*, ticket: Ticket) -> int:
    return FollowUp.objects.filter(ticket=ticket, state__in=OPEN_FOLLOW_UP_STATES).count()




@transaction.atomic
def check_in_schedule_after_solve(*, ticket: Ticket, days: int | None = None) -> CheckIn | None:
    """A check-in after the ticket's latest solve, whatever the check-in settings say: for a
    feature that knows the customer should hear from us again (an incident's resolution asks
    "is everything working again?"). ``days`` defaults to the settings' delay. One per solve:
    the settings' own rule (``solved_for_event``) finds it and adds none. Safe to run twice."""
    event = ticket.events.filter(kind=EventKind.STATUS).order_by("-pk").first()
    if event is None or event.after != Status.SOLVED:
        return None
    existing = CheckIn.objects.filter(solve_event=event).first()
    if existing is not None:
        return existing
    due = event.created_at + timedelta(days=days or followup_settings().check_in_days)
    check_in = CheckIn.objects.create(ticket=ticket, solve_event=event, due_at=due, send_at=due)
    record_event(ticket=ticket, kind=EventKind.CHECK_IN, actor=APP_ACTOR,
                 after={"action": "scheduled", "due": due.isoformat()})
    return check_in
