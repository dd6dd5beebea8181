"""Timeline lines for the followups app's events (ladder, resolution, agent follow-up,
snooze, check-in), for ``ticket_display.describe``. Without the actor: the template shows it."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from frontdesk.tickets.models import EventKind, TicketEvent

FOLLOWUP_EVENT_KINDS = {EventKind.LADDER, EventKind.RESOLUTION, EventKind.AGENT_FOLLOW_UP, EventKind.SNOOZE,
                        EventKind.CHECK_IN}


def _when(value) -> str:
    try:
        return timezone.localtime(datetime.fromisoformat(value)).strftime("%a %d %b, %H:%M")
    except (TypeError, ValueError):
        return "?"


def describe_followup_event(event: TicketEvent) -> str:
    after = event.after if isinstance(event.after, dict) else {}
    action, kind = after.get("action"), event.kind
    if kind == EventKind.LADDER:
        if action == "started":
            steps = after.get("steps") or []
            plan = ", ".join(
                f"{'solve' if s['action'] == 'auto_solve' else 'reminder'} {_when(s['due'])}" for s in steps)
            return f"started waiting on the customer ({plan})"
        if action == "reminder":
            return f"sent reminder {after.get('number', '')} to the customer"
        if action == "solved":
            return "solved the ticket: no answer from the customer (silent)"
        if action == "stopped":
            return f"stopped waiting on the customer: {after.get('reason', '')}"
    if kind == EventKind.RESOLUTION:
        return f"recorded the resolution: {str(after.get('label', after.get('kind', ''))).lower()}"
    if kind == EventKind.AGENT_FOLLOW_UP:
        what = "scheduled reply" if after.get("kind") == "scheduled_send" else "follow-up"
        owner = f" for {after['owner']}" if after.get("owner") else ""
        if action == "scheduled":
            return f"scheduled a {what}{owner}, due {_when(after.get('due'))}" + (
                f": {after['note']}" if after.get("note") else "")
        if action == "rescheduled":
            return f"moved the {what}{owner} to {_when(after.get('due'))}"
        if action == "cancelled":
            return f"cancelled the {what}{owner} ({after.get('reason', '')})"
        return {"due": f"{what}{owner} is due", "done": f"marked the {what}{owner} done",
                "sent": f"sent the {what}{owner}"}.get(action, what)
    if kind == EventKind.SNOOZE:
        if action == "snoozed":
            return f"snoozed the ticket until {_when(after.get('until'))}" + (
                f" ({after['note']})" if after.get("note") else "")
        return {"time": "woke the ticket: snooze time is up", "customer": "woke the ticket by writing",
                "agent": "woke the ticket"}.get(after.get("by"), "woke the ticket")
    if kind == EventKind.CHECK_IN:
        if action == "scheduled":
            return f"scheduled a check-in with the customer for {_when(after.get('due'))}"
        if action == "sent":
            return "asked the customer whether everything still works (check-in)"
        return f"skipped the check-in ({after.get('reason', '')})"
    return EventKind(kind).label
