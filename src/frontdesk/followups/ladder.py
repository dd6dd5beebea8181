"""Waiting on the customer: the ladder of reminders and the silent solve, and the record of
how each ticket was solved (confirmed by the customer, silent, by an agent).

A ladder starts from the ``status`` event that made a ticket pending (subscription → task →
``ladder_start_for_event``). Its steps are computed once, in business days of the policy's
calendar (holidays count as closed days). The clock claims ``Ladder.next_step_at`` and
``ladder_advance`` does the step under the ticket's row lock — the lock every customer
message takes — after checking that the ticket is still pending and that the customer has
not written since the ladder started. So a reply racing a due reminder either stops it, or
arrives after it was sent and reopens the ticket as any reply does.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from frontdesk.accounts.models import Agent
from frontdesk.core.errors import Conflict
from frontdesk.tickets.models import EventKind, Status, Ticket, TicketEvent
from frontdesk.tickets.services import ticket_send_automatic_message, ticket_set_status
from frontdesk.tickets.timeline import record_event

from .config import default_policy, policy_for
from .models import Ladder, LadderPolicy, LadderState, Resolution, ResolutionKind

logger = logging.getLogger(__name__)

# The actor of the status event when the ladder solves a ticket: how reports tell a
# silent solve from an agent's.
LADDER_ACTOR = "ladder"
APP_ACTOR = "followups"


def _schedule(policy: LadderPolicy):
    """The business schedule the policy counts days in (its calendar, else the default)."""
    from frontdesk.calendars.schedule import schedule_for
    from frontdesk.calendars.selectors import calendar_default

    return schedule_for(policy.calendar if policy.calendar_id else calendar_default())


def ladder_steps(*, policy: LadderPolicy, start: datetime) -> list[dict]:
    """The steps of a ladder started at ``start``: each ``{"action", "days", "due"}``, due on
    the ``days``-th business day after ``start`` (same local time). Days of 0 are skipped."""
    schedule = _schedule(policy)
    steps = []
    for action, days in (("reminder", policy.first_reminder_days), ("reminder", policy.second_reminder_days),
                         ("auto_solve", policy.solve_after_days)):
        if days:
            steps.append({"action": action, "days": days, "due": schedule.add_days(start, days).isoformat()})
    return steps


def _due(step: dict) -> datetime:
    return datetime.fromisoformat(step["due"])


def _end(ladder: Ladder, *, state: str, reason: str) -> None:
    ladder.state, ladder.end_reason = state, reason[:100]
    ladder.ended_at, ladder.next_step_at = timezone.now(), None
    ladder.save(update_fields=["state", "end_reason", "ended_at", "next_step_at"])


def _stop(ticket: Ticket, ladder: Ladder, reason: str) -> None:
    _end(ladder, state=LadderState.STOPPED, reason=reason)
    record_event(ticket=ticket, kind=EventKind.LADDER, actor=APP_ACTOR,
                 after={"action": "stopped", "reason": reason})


@transaction.atomic
def ladder_start_for_event(*, event_id: int) -> Ladder | None:
    """Start the ladder for the status event that made a ticket pending, or restart it for
    an agent's public reply on a ticket that stays pending (the customer has something new to
    answer: counting starts again). Safe to run twice (one ladder per event); does nothing if
    the ticket has moved on since, or if the policy is switched off or has no step."""
    event = TicketEvent.objects.filter(pk=event_id, kind__in=[EventKind.STATUS, EventKind.REPLY]).first()
    if event is None or (event.kind == EventKind.STATUS and event.after != Status.PENDING):
        return None
    ticket = (Ticket.objects.select_for_update(of=("self",)).select_related("requester", "organization")
              .get(pk=event.ticket_id))
    if existing := Ladder.objects.filter(start_event=event).first():
        return existing
    if ticket.status != Status.PENDING or ticket.events.filter(kind=EventKind.STATUS, pk__gt=event.pk).exists():
        return None  # changed again since (or "reply and set pending"): a later event decides
    if Ladder.objects.filter(ticket=ticket, start_event__gt=event.pk).exists():
        return None  # a later event started one already
    reason = "the agent replied again" if event.kind == EventKind.REPLY else "pending again"
    for active in Ladder.objects.select_for_update().filter(ticket=ticket, state=LadderState.ACTIVE):
        _stop(ticket, active, f"{reason}: a new ladder starts")
    policy = policy_for(ticket)
    if not policy.enabled:
        return None
    steps = ladder_steps(policy=policy, start=event.created_at)
    if not steps:
        return None
    ladder = Ladder.objects.create(
        ticket=ticket, start_event=event, policy=policy, started_at=event.created_at, steps=steps,
        next_step_at=_due(steps[0]),
        # Still pending with no later status event: every customer message so far came before
        # the ladder's start (one after it would have reopened the ticket).
        seen_message_id=ticket.messages.order_by("-pk").values_list("pk", flat=True).first() or 0,
    )
    record_event(ticket=ticket, kind=EventKind.LADDER, actor=APP_ACTOR,
                 after={"action": "started", "steps": [{"action": s["action"], "due": s["due"]} for s in steps]})
    return ladder


def _stop_reason(ticket: Ticket, ladder: Ladder) -> str:
    if ticket.merged_into_id:
        return "ticket merged"
    if ticket.status != Status.PENDING:
        return f"ticket is {Status(ticket.status).label.lower()}"
    if ticket.messages.filter(pk__gt=ladder.seen_message_id, author_customer__isnull=False).exists():
        return "the customer wrote"
    return ""


def fill_text(template: str, ticket: Ticket) -> str:
    values = {"name": ticket.requester.name or "there", "subject": ticket.subject, "reference": ticket.reference}
    try:
        return template.format_map(values)
    except (KeyError, ValueError, IndexError):  # validated on save; an old row may predate that
        return template


@transaction.atomic
def ladder_advance(*, ladder_id: int) -> str:
    """Do the ladder's next step if it is due and still wanted (run by the clock's task).

    Under the ticket's row lock: a ticket no longer pending, or whose customer wrote since
    the ladder started, stops the ladder instead. Each step is recorded with the step
    counter in the same transaction as its message, so a step never happens twice.
    """
    ladder = Ladder.objects.filter(pk=ladder_id).first()
    if ladder is None:
        return "skipped: no such ladder"
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("requester").get(pk=ladder.ticket_id)
    ladder = Ladder.objects.select_for_update(of=("self",)).select_related("policy").get(pk=ladder_id)
    if ladder.state != LadderState.ACTIVE or ladder.step >= len(ladder.steps):
        return "skipped: ended"
    if reason := _stop_reason(ticket, ladder):
        _stop(ticket, ladder, reason)
        return f"stopped: {reason}"
    step = ladder.steps[ladder.step]
    if _due(step) > timezone.now():  # claimed early (clocks differ): wait for the due time
        ladder.next_step_at = _due(step)
        ladder.save(update_fields=["next_step_at"])
        return "skipped: not yet due"
    policy = ladder.policy or default_policy()
    ladder.step += 1
    if step["action"] == "reminder":
        number = sum(1 for s in ladder.steps[: ladder.step] if s["action"] == "reminder")
        message = ticket_send_automatic_message(
            ticket=ticket, body=fill_text(policy.reminder_text, ticket), purpose="reminder", actor=LADDER_ACTOR)
        record_event(ticket=ticket, kind=EventKind.LADDER, actor=LADDER_ACTOR, message=message,
                     after={"action": "reminder", "number": number})
        if ladder.step < len(ladder.steps):
            ladder.next_step_at = _due(ladder.steps[ladder.step])
            ladder.save(update_fields=["step", "next_step_at"])
        else:
            ladder.save(update_fields=["step"])
            _end(ladder, state=LadderState.FINISHED, reason="last reminder sent")
        return f"reminder {number} sent"
    message = ticket_send_automatic_message(
        ticket=ticket, body=fill_text(policy.solve_text, ticket), purpose="auto_solve", actor=LADDER_ACTOR)
    ticket_set_status(ticket=ticket, actor=LADDER_ACTOR, status=Status.SOLVED)
    record_event(ticket=ticket, kind=EventKind.LADDER, actor=LADDER_ACTOR, message=message,
                 after={"action": "solved"})
    ladder.save(update_fields=["step"])
    _end(ladder, state=LadderState.FINISHED, reason="solved without an answer")
    return "solved"


@transaction.atomic
def ladder_stop_for_event(*, event_id: int) -> int:
    """A status event that took a ticket out of pending ends its ladder (the timeline says
    why). The step task re-checks anyway; this makes the stop visible at once."""
    event = TicketEvent.objects.filter(pk=event_id, kind=EventKind.STATUS).first()
    if event is None or event.before != Status.PENDING or event.after == Status.PENDING:
        return 0
    ticket = Ticket.objects.select_for_update().get(pk=event.ticket_id)
    if ticket.status == Status.PENDING:
        return 0
    stopped = 0
    for ladder in Ladder.objects.select_for_update().filter(ticket=ticket, state=LadderState.ACTIVE):
        who = "the customer" if event.actor_customer_id else (event.actor_label if event.actor_agent_id else "")
        reason = f"ticket is {Status(ticket.status).label.lower()}" + (f" ({who})" if who else "")
        _stop(ticket, ladder, reason)
        stopped += 1
    return stopped


# ---- how tickets were solved ----

def _kind_of(event: TicketEvent) -> str:
    if event.actor_customer_id:
        return ResolutionKind.CONFIRMED
    if event.actor_system == LADDER_ACTOR:
        return ResolutionKind.SILENT
    return ResolutionKind.AGENT


def _record_resolution(
    *, ticket: Ticket, event: TicketEvent, kind: str, agent: Agent | None, actor
) -> Resolution | None:
    try:
        with transaction.atomic():
            resolution = Resolution.objects.create(
                ticket=ticket, status_event=event, kind=kind, solved_at=event.created_at, solved_by=agent)
    except IntegrityError:  # recorded already (a second run, or "solve as confirmed")
        return None
    record_event(ticket=ticket, kind=EventKind.RESOLUTION, actor=actor,
                 after={"kind": kind, "label": ResolutionKind(kind).label})
    return resolution


@transaction.atomic
def resolution_record_for_event(*, event_id: int) -> Resolution | None:
    """Record how the ticket of a solving status event was solved. Safe to run twice."""
    event = TicketEvent.objects.select_related("actor_agent").filter(pk=event_id, kind=EventKind.STATUS).first()
    if event is None or event.after != Status.SOLVED or Resolution.objects.filter(status_event=event).exists():
        return None
    ticket = Ticket.objects.select_for_update().get(pk=event.ticket_id)
    return _record_resolution(ticket=ticket, event=event, kind=_kind_of(event),
                              agent=event.actor_agent, actor=APP_ACTOR)


@transaction.atomic
def ticket_solve_as_confirmed(*, ticket: Ticket, agent: Agent) -> Resolution:
    """An agent solves a ticket whose customer said it is solved ("thanks, that fixed it"):
    recorded as *confirmed by customer*, with the agent who acted on it."""
    if Ticket.objects.select_for_update().get(pk=ticket.pk).status == Status.SOLVED:
        raise Conflict("This ticket is already solved.", code="already_solved")
    ticket = ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    event = ticket.events.filter(kind=EventKind.STATUS).order_by("-pk").first()
    resolution = _record_resolution(ticket=ticket, event=event, kind=ResolutionKind.CONFIRMED,
                                    agent=agent, actor=agent)
    assert resolution is not None  # the event is new, in this transaction
    return resolution
