"""The promise: when the customer will hear from us, in their words and their time zone.

``promise_for_ticket`` is what the acknowledgement email, the contact-form confirmation and
the customer's conversation page say. It reads the running response timer (its due time, or
the later time an honest update already told the customer); a ticket whose timers have not
been started yet (the acknowledgement goes out in the same transaction that creates the
ticket) gets the time its policy's first-response target gives from now.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, tzinfo

from django.conf import settings
from django.utils import timezone

from frontdesk.calendars.schedule import NoBusinessTime, schedule_for
from frontdesk.tickets.models import Status, Ticket

from .models import Metric, SlaTimer, TimerState


@dataclass(frozen=True)
class Promise:
    due_at: datetime  # aware UTC
    local: datetime  # the same instant in ``zone``
    zone: str
    back_at: datetime | None  # local time our team is back, when we are closed right now

    @property
    def when(self) -> str:
        """"Tuesday 3 March, 10:00 (Europe/Berlin)"."""
        return format_local(self.due_at, self.zone)

    @property
    def text(self) -> str:
        return f"You'll hear from us by {self.when}"

    @property
    def back_text(self) -> str:
        """"Monday 09:00" when the team is away, else ""."""
        return f"{self.back_at:%A} {self.back_at:%H:%M}" if self.back_at else ""

    def __str__(self) -> str:
        return self.text


def _zone(name: str) -> tzinfo | None:
    try:
        return zoneinfo.ZoneInfo(name) if name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def promise_zone(ticket: Ticket, calendar) -> str:
    """The customer's time zone if they have a valid one, else the calendar's, else the site's."""
    for name in (ticket.requester.time_zone, getattr(calendar, "time_zone", ""), settings.TIME_ZONE):
        if name and _zone(name):
            return name
    return "UTC"


def format_local(instant: datetime, zone: str) -> str:
    local = instant.astimezone(_zone(zone) or zoneinfo.ZoneInfo("UTC"))
    return f"{local:%A} {local.day} {local:%B}, {local:%H:%M} ({zone})"


def team_back_at(calendar, zone: str, *, now: datetime) -> datetime | None:
    """When the calendar next opens, in ``zone`` (None if it is open now or never opens)."""
    schedule = schedule_for(calendar)
    if schedule.is_open(now):
        return None
    try:
        return schedule.next_open(now).astimezone(_zone(zone))
    except NoBusinessTime:
        return None


def team_back_for_ticket(ticket: Ticket, *, now: datetime | None = None) -> str:
    """"Monday 09:00" when the ticket waits on us (not pending, solved or closed) and its
    calendar is closed now; "" otherwise. For the customer's page when no time is promised."""
    if ticket.status in (Status.SOLVED, Status.CLOSED, Status.PENDING):
        return ""
    timer = SlaTimer.objects.select_related("calendar").filter(ticket=ticket).order_by("-started_at", "-id").first()
    if timer is None:
        return ""
    back = team_back_at(timer.calendar, promise_zone(ticket, timer.calendar), now=now or timezone.now())
    return f"{back:%A} {back:%H:%M}" if back else ""


def promise_for_ticket(ticket: Ticket, *, now: datetime | None = None) -> Promise | None:
    """When the customer will hear from us; None when nothing is promised (solved or closed,
    waiting on the customer, no policy applies, or the time has already passed)."""
    if ticket.status in (Status.SOLVED, Status.CLOSED, Status.PENDING):
        return None
    now = now or timezone.now()
    timer = (SlaTimer.objects.select_related("calendar")
             .filter(ticket=ticket, metric__in=(Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE),
                     state__in=(TimerState.RUNNING, TimerState.PAUSED))
             .order_by("-started_at", "-id").first())
    if timer is not None:
        if timer.state != TimerState.RUNNING:
            return None
        return _promise(ticket, timer.promised_at, timer.calendar, now=now)
    if SlaTimer.objects.filter(ticket=ticket).exists():
        return None  # answered, and the customer has not written since
    return _policy_promise(ticket, None, now=now)


def promises_for_new_tickets(tickets: list[Ticket], *, now: datetime | None = None) -> list[Promise | None]:
    """``promise_for_ticket`` for tickets opened in the caller's transaction: their timers
    cannot have started (the SLA task runs after commit), so each promise comes from its
    policy's first-response target; the policies are read once for all of them."""
    from .policies import active_policies

    policies = active_policies()
    now = now or timezone.now()
    return [_policy_promise(ticket, policies, now=now) if policies else None for ticket in tickets]


def _policy_promise(ticket: Ticket, policies, *, now: datetime) -> Promise | None:
    from .policies import policy_for_ticket

    policy = policy_for_ticket(ticket, policies=policies)
    minutes = policy.target_for(Metric.FIRST_RESPONSE, ticket.priority) if policy else None
    if not minutes:
        return None
    try:
        due = schedule_for(policy.calendar).add_minutes(ticket.created_at, minutes)
    except NoBusinessTime:
        return None
    return _promise(ticket, due, policy.calendar, now=now)


def _promise(ticket: Ticket, due: datetime | None, calendar, *, now: datetime) -> Promise | None:
    if due is None or due <= now:
        return None
    zone = promise_zone(ticket, calendar)
    schedule = schedule_for(calendar)
    back_at = None
    if not schedule.is_open(now):
        back_at = team_back_at(calendar, zone, now=now)
    return Promise(due_at=due, local=due.astimezone(_zone(zone)), zone=zone, back_at=back_at)
