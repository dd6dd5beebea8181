"""The timers: started, paused, resumed, satisfied and re-targeted by ticket timeline events,
warned and breached by the scheduler.

Contract: every function here runs inside the caller's transaction, with the ticket's row
locked (``services`` takes the lock: ticket first, then timers, everywhere, so two
evaluations of one ticket serialise instead of deadlocking). Times are the instant the
change happened (the event's ``created_at``), not when a worker got round to it, so a busy
queue does not shift anybody's deadline.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Min

from frontdesk.calendars.schedule import NoBusinessTime, schedule_for
from frontdesk.tickets.models import Status, Ticket
from frontdesk.tickets.timeline import record_event

from .models import ACTIVE_STATES, Metric, SlaPolicy, SlaTimer, TicketSla, TimerState
from .policies import policy_for_ticket, ticket_facts

ACTOR = "sla"
EVENT_KIND = "sla"
PAUSING_STATUSES = (Status.PENDING, Status.ON_HOLD)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def record_sla_event(ticket: Ticket, action: str, **after) -> None:
    record_event(ticket=ticket, kind=EVENT_KIND, actor=ACTOR, after={"action": action, **after})


def consumed_at(timer: SlaTimer, at: datetime) -> int:
    """Business minutes the timer has used by ``at``."""
    if timer.state == TimerState.RUNNING and timer.resumed_at:
        return timer.consumed_minutes + schedule_for(timer.calendar).minutes_between(timer.resumed_at, at)
    return timer.consumed_minutes


def plan(timer: SlaTimer) -> None:
    """Due and warning instants of a running timer from what is left of its targets, and the
    next instant the scheduler must look at it (None once warned and breached)."""
    if timer.state != TimerState.RUNNING:
        timer.next_check_at = None
        return
    schedule = schedule_for(timer.calendar)
    try:
        timer.due_at = schedule.add_minutes(timer.resumed_at, max(0, timer.target_minutes - timer.consumed_minutes))
        timer.warn_at = schedule.add_minutes(timer.resumed_at, max(0, timer.warn_minutes - timer.consumed_minutes))
    except NoBusinessTime:
        # A calendar closed for months has no due time to give: the timer runs without one
        # (nothing to warn about, nothing promised) until the calendar or the policy changes.
        timer.due_at = timer.warn_at = timer.next_check_at = None
        return
    points = []
    if timer.warned_at is None:
        points.append(timer.warn_at)
    if timer.breached_at is None:
        points.append(timer.due_at)
    timer.next_check_at = min(points) if points else None


def warn_minutes(policy: SlaPolicy, target: int) -> int:
    return max(1, min(target, target * policy.warning_share // 100))


def start_timer(
    *, ticket: Ticket, state: TicketSla, metric: str, cycle: int, at: datetime, policy: SlaPolicy | None,
    plan_name: str,
) -> SlaTimer | None:
    """A new timer with the policy's target for the ticket's priority frozen into it; paused
    from the start when the ticket waits on the customer. None when the policy sets no target."""
    target = policy.target_for(metric, ticket.priority) if policy else None
    if not target:
        return None
    paused = state.status in PAUSING_STATUSES
    timer = SlaTimer(
        ticket=ticket, metric=metric, cycle=cycle, policy=policy, policy_name=policy.name,
        calendar=policy.calendar, priority=ticket.priority, plan=plan_name, target_minutes=target,
        warn_minutes=warn_minutes(policy, target), started_at=at,
        state=TimerState.PAUSED if paused else TimerState.RUNNING,
        resumed_at=None if paused else at, paused_at=at if paused else None,
    )
    plan(timer)
    timer.save()
    record_sla_event(
        ticket, "started", metric=metric, cycle=cycle, policy=policy.name, priority=ticket.priority,
        target_minutes=target, warn_minutes=timer.warn_minutes, calendar=policy.calendar.name,
        due_at=_iso(timer.due_at), paused=paused,
    )
    return timer


def active_timers(ticket: Ticket) -> list[SlaTimer]:
    return list(SlaTimer.objects.select_for_update(of=("self",)).select_related("calendar").filter(
        ticket=ticket, state__in=ACTIVE_STATES).order_by("id"))


def _finish(timer: SlaTimer, *, at: datetime, state: str) -> None:
    timer.consumed_minutes = consumed_at(timer, at)
    timer.state = state
    timer.next_check_at = None
    if state == TimerState.SATISFIED:
        timer.satisfied_at = at
        timer.elapsed_minutes = timer.consumed_minutes
    else:
        timer.stopped_at = at
    timer.save()


def satisfy(ticket: Ticket, timers: list[SlaTimer], *, at: datetime, reason: str) -> None:
    for timer in timers:
        _finish(timer, at=at, state=TimerState.SATISFIED)
    if timers:
        record_sla_event(ticket, "satisfied", reason=reason, metrics=[
            {"metric": t.metric, "cycle": t.cycle, "business_minutes": t.elapsed_minutes,
             "within_target": t.breached_at is None} for t in timers])


def stop(ticket: Ticket, timers: list[SlaTimer], *, at: datetime, reason: str) -> None:
    for timer in timers:
        _finish(timer, at=at, state=TimerState.STOPPED)
    if timers:
        record_sla_event(ticket, "stopped", reason=reason, metrics=[t.metric for t in timers])


def pause(ticket: Ticket, timers: list[SlaTimer], *, at: datetime, reason: str) -> None:
    running = [t for t in timers if t.state == TimerState.RUNNING]
    for timer in running:
        timer.consumed_minutes = consumed_at(timer, at)
        timer.state, timer.paused_at, timer.resumed_at = TimerState.PAUSED, at, None
        plan(timer)
        timer.save()
    if running:
        record_sla_event(ticket, "paused", reason=reason, metrics=[
            {"metric": t.metric, "consumed_minutes": t.consumed_minutes} for t in running])


def resume(ticket: Ticket, timers: list[SlaTimer], *, at: datetime, reason: str) -> None:
    for timer in timers:
        timer.state, timer.resumed_at, timer.paused_at = TimerState.RUNNING, at, None
        timer.satisfied_at = timer.elapsed_minutes = None
        plan(timer)
        timer.save()
    if timers:
        record_sla_event(ticket, "resumed", reason=reason, metrics=[
            {"metric": t.metric, "consumed_minutes": t.consumed_minutes, "due_at": _iso(t.due_at)}
            for t in timers])


def retarget(ticket: Ticket, state: TicketSla, *, at: datetime, reason: str) -> None:
    """Re-apply the policy after a change its choice or targets depend on (priority, group,
    tags, expedite): running timers take the new targets, keeping the minutes already used."""
    policy = policy_for_ticket(ticket, expedited=state.expedited_at is not None)
    if policy != state.policy:
        state.policy = policy
    changed = []
    for timer in active_timers(ticket):
        target = policy.target_for(timer.metric, ticket.priority) if policy else None
        if not target:
            continue  # no target for this metric and priority now: it keeps the one it has
        new_warn = warn_minutes(policy, target)
        if (timer.policy_id, timer.target_minutes, timer.warn_minutes, timer.calendar_id) == (
                policy.pk, target, new_warn, policy.calendar_id):
            continue
        if timer.calendar_id != policy.calendar_id:
            # Minutes used so far were counted on the old calendar: fold them in, and count
            # on from now on the new one. Same calendar: the anchor stays, so a target that
            # is already exceeded puts the due time where it was crossed, not at "now".
            timer.consumed_minutes = consumed_at(timer, at)
            if timer.state == TimerState.RUNNING:
                timer.resumed_at = at
        timer.policy, timer.policy_name, timer.calendar = policy, policy.name, policy.calendar
        timer.priority, timer.target_minutes, timer.warn_minutes = ticket.priority, target, new_warn
        plan(timer)
        timer.save()
        changed.append(timer)
    if changed:
        record_sla_event(ticket, "retargeted", reason=reason, policy=policy.name, priority=ticket.priority,
                         metrics=[{"metric": t.metric, "target_minutes": t.target_minutes,
                                   "consumed_minutes": consumed_at(t, at), "due_at": _iso(t.due_at)}
                                  for t in changed])
    # Timers the old policy did not define but the new one does (e.g. a plain ticket expedited
    # onto a policy with a resolution target) start now.
    if policy:
        _start_missing(ticket, state, policy=policy, at=at)


def _start_missing(ticket: Ticket, state: TicketSla, *, policy: SlaPolicy, at: datetime) -> None:
    if ticket.status in (Status.SOLVED, Status.CLOSED):
        return
    existing = set(SlaTimer.objects.filter(ticket=ticket).values_list("metric", flat=True))
    plan_name = ticket_facts(ticket).plan
    if Metric.RESOLUTION not in existing:
        start_timer(ticket=ticket, state=state, metric=Metric.RESOLUTION, cycle=1, at=at, policy=policy,
                    plan_name=plan_name)
    if Metric.FIRST_RESPONSE not in existing and ticket.last_agent_reply_at is None:
        start_timer(ticket=ticket, state=state, metric=Metric.FIRST_RESPONSE, cycle=1, at=at, policy=policy,
                    plan_name=plan_name)


def refresh_ticket_due(ticket: Ticket) -> None:
    """Keep ``Ticket.sla_due_at`` (the inbox's sort key and badge) at the earliest due time of
    the ticket's running timers, overdue ones included; None when nothing runs."""
    due = SlaTimer.objects.filter(ticket=ticket, state=TimerState.RUNNING).aggregate(due=Min("due_at"))["due"]
    Ticket.objects.filter(pk=ticket.pk).exclude(sla_due_at=due).update(sla_due_at=due) if due else \
        Ticket.objects.filter(pk=ticket.pk, sla_due_at__isnull=False).update(sla_due_at=None)
    ticket.sla_due_at = due
