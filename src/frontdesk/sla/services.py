"""Every SLA write: applying ticket events to timers, the scheduler's evaluation (warning,
breach, escalation actions, the honest update to the customer), expediting a ticket.
Policy administration is in ``policy_services.py``.

Contract: keyword-only; one transaction each; the ticket row is locked first (then its
timers), the order every ticket service also follows; each timer change records an ``sla``
timeline event. All of them are safe to run twice.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from frontdesk.accounts.models import Agent, Group
from frontdesk.accounts.permissions import check_full_agent
from frontdesk.calendars.schedule import schedule_for
from frontdesk.core.errors import Conflict, NotFound
from frontdesk.tickets.models import EventKind, Status, Ticket, TicketEvent
from frontdesk.tickets.services import ticket_assign, ticket_set_priority, ticket_tag

from . import engine
from .models import (
    ActionKind,
    ExpediteCharge,
    Metric,
    SlaPolicy,
    SlaTimer,
    TicketSla,
    TimerState,
)
from .policies import policy_for_ticket, raised, ticket_facts
from .promise import format_local, promise_zone

logger = logging.getLogger(__name__)

# The ticket events that move timers; everything else is skipped (but still passed over).
HANDLED = (
    EventKind.CREATED, EventKind.REPLY, EventKind.CUSTOMER_MESSAGE, EventKind.STATUS,
    EventKind.PRIORITY, EventKind.GROUP, EventKind.TAGS,
)
# Tickets whose events one transaction of the fast path applies at most.
FAST_CHUNK = 50
# Extra business time promised when the honest update goes out: half the target, at least this.
MIN_UPDATE_EXTENSION_MINUTES = 30


def _lock_ticket(ticket_id: int) -> Ticket | None:
    return Ticket.objects.select_for_update().filter(pk=ticket_id).first()


def _state(ticket: Ticket) -> TicketSla:
    # Created under the ticket's row lock, so two workers cannot both insert it.
    state = TicketSla.objects.select_related("policy").filter(ticket=ticket).first()
    return state or TicketSla.objects.create(ticket=ticket, status=ticket.status)


@transaction.atomic
def sla_apply_events(*, ticket_id: int) -> int:
    """Apply every not yet applied timeline event of the ticket to its timers, in order; return
    how many were applied. Each subscribed event enqueues this; whichever task runs first
    applies all that committed, the others find nothing to do."""
    ticket = _lock_ticket(ticket_id)
    if ticket is None:
        return 0
    state = _state(ticket)
    before = state.last_event_id
    applied = _apply_pending(ticket, state)
    if state.last_event_id != before:
        state.save()
        engine.refresh_ticket_due(ticket)
    return applied


def sla_apply_events_many(*, ticket_ids: list[int]) -> tuple[int, list[int]]:
    """``sla_apply_events`` for many tickets (a mail batch's): returns (events applied, the
    tickets whose events could not be applied, for the caller to retry on their own).

    Fast path, a handful of queries per ``FAST_CHUNK`` tickets (a short transaction each): while
    no policy is active, a ticket without timers and without a policy has nothing to start, pause or
    re-target, so applying its events only moves ``TicketSla.status`` and ``last_event_id``
    (rows written in bulk) and keeps ``Ticket.sla_due_at`` empty. Every other ticket goes
    through ``sla_apply_events``, one transaction each, as a single event's task does."""
    ids = sorted(set(ticket_ids))
    applied, slow = 0, []
    for start in range(0, len(ids), FAST_CHUNK):  # short transactions: SQLite has one writer
        done, rest = _apply_without_policies(ids[start:start + FAST_CHUNK])
        applied += done
        slow += rest
    failed = []
    for ticket_id in slow:
        try:
            applied += sla_apply_events(ticket_id=ticket_id)
        except Exception:
            logger.exception("SLA events of ticket %s failed; retried on their own", ticket_id)
            failed.append(ticket_id)
    return applied, failed


@transaction.atomic
def _apply_without_policies(ids: list[int]) -> tuple[int, list[int]]:
    """The fast path of ``sla_apply_events_many``: (events applied, tickets left to the
    general path). The tickets are locked first, as every SLA write does; one another
    transaction holds (PostgreSQL: a mail batch appending to several tickets in its own order)
    is skipped, not waited for — waiting while holding the others could deadlock — and left
    to the general path, which locks one ticket at a time."""
    statuses = dict(Ticket.objects.select_for_update(skip_locked=True).filter(pk__in=ids).order_by("pk")
                    .values_list("pk", "status"))
    skipped = set(ids) - set(statuses)
    if SlaPolicy.objects.filter(active=True).exists():
        return 0, list(ids)
    states = {state.ticket_id: state for state in TicketSla.objects.filter(ticket_id__in=statuses)}
    slow = {ticket_id for ticket_id, state in states.items() if state.policy_id is not None}
    # Any timer, finished ones included (a reopen resumes a satisfied resolution timer).
    slow |= set(SlaTimer.objects.filter(ticket_id__in=statuses).values_list("ticket_id", flat=True).distinct())
    slow |= skipped
    fast = [ticket_id for ticket_id in statuses if ticket_id not in slow]
    if not fast:
        return 0, sorted(slow)
    status = {t: states[t].status if t in states else statuses[t] for t in fast}
    last = {t: states[t].last_event_id if t in states else 0 for t in fast}
    events = TicketEvent.objects.filter(ticket_id__in=fast, pk__gt=min(last.values())).order_by("pk")
    applied = 0
    for pk, ticket_id, kind, after in events.values_list("pk", "ticket_id", "kind", "after"):
        if pk <= last[ticket_id]:
            continue
        # What ``_apply`` does without a policy or timers: only the status it tracks moves.
        if kind == EventKind.CREATED:
            status[ticket_id] = (after or {}).get("status", statuses[ticket_id])
        elif kind == EventKind.STATUS:
            status[ticket_id] = after
        applied += kind in HANDLED
        last[ticket_id] = pk
    TicketSla.objects.bulk_create([
        TicketSla(ticket_id=t, status=status[t], last_event_id=last[t]) for t in fast if t not in states])
    moved = [t for t in fast if t in states and (status[t], last[t]) != (states[t].status, states[t].last_event_id)]
    if moved:
        table, quote = TicketSla._meta.db_table, connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {quote(table)} SET {quote('status')} = %s, {quote('last_event_id')} = %s "  # noqa: S608
                f"WHERE {quote('ticket_id')} = %s", [(status[t], last[t], t) for t in moved])
    # No timer runs on these tickets: nothing is due (``engine.refresh_ticket_due``).
    Ticket.objects.filter(pk__in=fast, sla_due_at__isnull=False).update(sla_due_at=None)
    return applied, sorted(slow)


def _apply(ticket: Ticket, state: TicketSla, event: TicketEvent) -> None:
    at, kind = event.created_at, event.kind
    if kind == EventKind.CREATED:
        state.status = (event.after or {}).get("status", ticket.status)
        policy = policy_for_ticket(ticket, expedited=state.expedited_at is not None)
        state.policy = policy
        if policy is None:
            return
        plan_name = ticket_facts(ticket).plan  # a query for the tags: only when a timer starts
        engine.start_timer(ticket=ticket, state=state, metric=Metric.RESOLUTION, cycle=1, at=at,
                           policy=policy, plan_name=plan_name)
        if event.actor_customer_id:  # an agent opening a ticket has already answered
            engine.start_timer(ticket=ticket, state=state, metric=Metric.FIRST_RESPONSE, cycle=1, at=at,
                               policy=policy, plan_name=plan_name)
    elif kind == EventKind.REPLY and event.actor_agent_id:
        responses = [t for t in engine.active_timers(ticket)
                     if t.metric in (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE)]
        engine.satisfy(ticket, responses, at=at, reason="agent reply")
    elif kind == EventKind.CUSTOMER_MESSAGE:
        waiting = [t for t in engine.active_timers(ticket)
                   if t.metric in (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE)]
        if waiting or state.status == Status.CLOSED:
            return  # already waiting for our answer: this message joins that wait
        policy = state.policy or policy_for_ticket(ticket, expedited=state.expedited_at is not None)
        if policy is None:
            return
        state.next_cycle += 1
        # A customer message reopens a pending/solved ticket: the status event follows, but
        # this wait runs from the message.
        if state.status in engine.PAUSING_STATUSES and state.status != Status.ON_HOLD:
            state.status = Status.OPEN
        engine.start_timer(ticket=ticket, state=state, metric=Metric.NEXT_RESPONSE, cycle=state.next_cycle,
                           at=at, policy=policy, plan_name=ticket_facts(ticket).plan)
    elif kind == EventKind.STATUS:
        _apply_status(ticket, state, status=event.after, at=at)
    elif kind in (EventKind.PRIORITY, EventKind.GROUP, EventKind.TAGS):
        engine.retarget(ticket, state, at=at, reason=f"{kind} changed")


def _apply_status(ticket: Ticket, state: TicketSla, *, status: str, at: datetime) -> None:
    previous, state.status = state.status, status
    timers = engine.active_timers(ticket)
    if status in engine.PAUSING_STATUSES:
        engine.pause(ticket, timers, at=at, reason=f"ticket {status}")
    elif status in (Status.NEW, Status.OPEN):
        paused = [t for t in timers if t.state == TimerState.PAUSED]
        if previous == Status.SOLVED:
            # A reopened ticket is not resolved after all: its resolution clock goes on from
            # the business minutes it had used.
            paused += list(SlaTimer.objects.select_for_update(of=("self",)).select_related("calendar").filter(
                ticket=ticket, metric=Metric.RESOLUTION, state=TimerState.SATISFIED))
        engine.resume(ticket, paused, at=at, reason="ticket reopened" if previous == Status.SOLVED else
                      f"ticket {status}")
    elif status == Status.SOLVED:
        engine.satisfy(ticket, [t for t in timers if t.metric == Metric.RESOLUTION], at=at, reason="solved")
        engine.stop(ticket, [t for t in timers if t.metric != Metric.RESOLUTION], at=at, reason="solved")
    elif status == Status.CLOSED:
        engine.stop(ticket, timers, at=at, reason="closed")


# --- the scheduler's evaluation ---------------------------------------------------------

@transaction.atomic
def sla_timer_evaluate(*, timer_id: int) -> str:
    """Record the warning and the breach of a running timer once their instants have passed
    (each exactly once: a conditional update on ``warned_at``/``breached_at``), run the
    policy's actions for each, and set the next instant to look again."""
    ticket_id = SlaTimer.objects.filter(pk=timer_id).values_list("ticket_id", flat=True).first()
    ticket = _lock_ticket(ticket_id) if ticket_id else None
    if ticket is None:
        return "gone"
    timer = SlaTimer.objects.select_for_update(of=("self",)).select_related("calendar", "policy").get(pk=timer_id)
    if timer.state != TimerState.RUNNING:
        return "skipped: not running"
    now = timezone.now()
    done = []
    if timer.warned_at is None and timer.warn_at and timer.warn_at <= now:
        if SlaTimer.objects.filter(pk=timer.pk, warned_at__isnull=True).update(warned_at=now):
            timer.warned_at = now
            engine.record_sla_event(ticket, "warning", metric=timer.metric, cycle=timer.cycle,
                                    due_at=engine._iso(timer.due_at), target_minutes=timer.target_minutes)
            _delay_update(ticket, timer, now=now)
            _run_actions(ticket, timer, actions=timer.policy.warning_actions if timer.policy else [],
                         moment="warning")
            done.append("warning")
    if timer.breached_at is None and timer.due_at and timer.due_at <= now:
        if SlaTimer.objects.filter(pk=timer.pk, breached_at__isnull=True).update(breached_at=now):
            timer.breached_at = now
            engine.record_sla_event(ticket, "breached", metric=timer.metric, cycle=timer.cycle,
                                    due_at=engine._iso(timer.due_at), target_minutes=timer.target_minutes)
            _run_actions(ticket, timer, actions=timer.policy.breach_actions if timer.policy else [],
                         moment="breach")
            done.append("breach")
    # The actions' own events re-target timers in their own task (after this commit), so the
    # row is still as read here: plan its next look from memory.
    engine.plan(timer)
    SlaTimer.objects.filter(pk=timer.pk).update(next_check_at=timer.next_check_at)
    engine.refresh_ticket_due(ticket)
    return ", ".join(done) or "nothing due"


def _notify(ticket: Ticket, timer: SlaTimer, *, moment: str) -> None:
    from frontdesk.notifications.services import notify_agents

    ticket = Ticket.objects.select_related("assignee", "group__lead").get(pk=ticket.pk)
    agents = [a for a in (ticket.assignee, ticket.group.lead if ticket.group else None) if a and a.is_active]
    agents = list({a.pk: a for a in agents}.values())
    if not agents:
        return
    label = Metric(timer.metric).label.lower()
    verb = "is about to miss" if moment == "warning" else "missed"
    notify_agents(
        agents=agents, kind=f"sla_{moment}", ticket=ticket,
        text=f"#{ticket.reference} {verb} its {label} target ({timer.policy_name}).",
        url=reverse("desk:ticket", args=[ticket.reference]), key=f"sla:{timer.pk}:{moment}",
    )


def _run_actions(ticket: Ticket, timer: SlaTimer, *, actions: list[dict], moment: str) -> None:
    """The policy's actions for this moment; an action that cannot apply (the group was
    deleted, the ticket was closed) is recorded and skipped, the others still run."""
    for action in actions:
        kind = action.get("kind")
        try:
            with transaction.atomic():
                if kind == ActionKind.NOTIFY:
                    _notify(ticket, timer, moment=moment)
                elif kind == ActionKind.RAISE_PRIORITY:
                    current = Ticket.objects.values_list("priority", flat=True).get(pk=ticket.pk)
                    ticket_set_priority(ticket=ticket, actor=engine.ACTOR, priority=raised(current))
                elif kind == ActionKind.MOVE_TO_GROUP:
                    group = Group.objects.filter(pk=action.get("group_id")).first()
                    if group is None:
                        raise NotFound("The escalation group no longer exists.")
                    ticket_assign(ticket=ticket, actor=engine.ACTOR, group=group)
                elif kind == ActionKind.ADD_TAG:
                    ticket_tag(ticket=ticket, actor=engine.ACTOR, add=[action["tag"]])
        except Exception as error:  # one failing action must not undo the recorded breach
            logger.warning("SLA %s action %s on %s failed: %s", moment, kind, ticket.reference, error)
            engine.record_sla_event(ticket, "action_failed", moment=moment, kind=kind, detail=str(error)[:200])


def _delay_update(ticket: Ticket, timer: SlaTimer, *, now: datetime) -> None:
    """Before a response promise is missed, tell the customer honestly when to expect us, once
    per cycle (conditional update on ``update_sent_at``)."""
    policy = timer.policy
    if not (policy and policy.send_delay_update and timer.metric in (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE)):
        return
    schedule = schedule_for(timer.calendar)
    extension = max(MIN_UPDATE_EXTENSION_MINUTES, timer.target_minutes // 2)
    revised = schedule.add_minutes(max(timer.due_at, now), extension)
    if not SlaTimer.objects.filter(pk=timer.pk, update_sent_at__isnull=True).update(
            update_sent_at=now, revised_due_at=revised):
        return
    timer.update_sent_at, timer.revised_due_at = now, revised
    from frontdesk.tickets.services import ticket_send_automatic_message

    zone = promise_zone(ticket, timer.calendar)
    body = (
        f"Hello {ticket.requester.name or 'there'},\n\n"
        f"We are sorry: we will not manage to answer your request [#{ticket.reference}] "
        f"“{ticket.subject}” in the time we told you. "
        f"You'll hear from us by {format_local(revised, zone)}.\n\n"
        "Thank you for your patience."
    )
    ticket_send_automatic_message(ticket=ticket, body=body, purpose="sla_update", actor=engine.ACTOR)
    engine.record_sla_event(ticket, "update_sent", metric=timer.metric, cycle=timer.cycle,
                            revised_due_at=revised.isoformat())


# --- expedite ---------------------------------------------------------------------------

class AlreadyExpedited(Conflict):
    code = "already_expedited"


class NoExpeditedPolicy(Conflict):
    code = "no_expedited_policy"


@transaction.atomic
def ticket_expedite(*, ticket: Ticket, agent: Agent) -> ExpediteCharge:
    """Mark the ticket expedited (paid per-incident priority): it switches to the expedited
    policy (running timers keep the minutes used), is routed to that policy's group, and one
    billing row records who, when, for whom and at what price. Visibility of the ticket is the
    caller's check; a ticket is expedited once."""
    check_full_agent(agent)
    ticket = _lock_ticket(ticket.pk)
    if ticket.status == Status.CLOSED:
        raise Conflict("A closed ticket cannot be expedited.", code="ticket_closed")
    policy = SlaPolicy.objects.filter(is_expedited=True, active=True).select_related("calendar").first()
    if policy is None:
        raise NoExpeditedPolicy("No expedited SLA policy is configured.")
    state = _state(ticket)
    if state.expedited_at is not None:
        raise AlreadyExpedited("This ticket is already expedited.")
    now = timezone.now()
    state.expedited_at = now
    requester = ticket.requester
    charge = ExpediteCharge.objects.create(
        ticket=ticket, customer=requester, organization_id=ticket.organization_id or requester.organization_id,
        policy=policy, policy_name=policy.name,
        price=policy.expedite_price, currency=policy.expedite_currency if policy.expedite_price is not None else "",
        requested_by=agent, requested_by_label=f"{agent.name} <{agent.email}>", created_at=now,
    )
    engine.record_sla_event(ticket, "expedited", policy=policy.name, by=agent.email,
                            price=str(policy.expedite_price) if policy.expedite_price is not None else None,
                            currency=charge.currency)
    # Apply what happened so far first (in order), so the switch keeps every minute used;
    # then the expedited policy.
    _apply_pending(ticket, state)
    engine.retarget(ticket, state, at=now, reason="expedited")
    state.save()
    engine.refresh_ticket_due(ticket)
    if policy.expedite_group_id and policy.expedite_group_id != ticket.group_id:
        ticket_assign(ticket=ticket, actor=agent, group=policy.expedite_group)
    return charge


def _apply_pending(ticket: Ticket, state: TicketSla) -> int:
    """Apply the ticket's events after ``state.last_event_id`` in order (caller saves state)."""
    applied = 0
    for event in TicketEvent.objects.filter(ticket=ticket, pk__gt=state.last_event_id).order_by("pk"):
        if event.kind in HANDLED:
            _apply(ticket, state, event)
            applied += 1
        state.last_event_id = event.pk
    return applied
