"""``{% sla_badge ticket %}``: time left or overdue from ``Ticket.sla_due_at`` — read from the
row already loaded, so an inbox page of any size costs no extra query."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()


def duration(seconds: int) -> str:
    minutes = max(1, abs(seconds) // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d}" if minutes else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


@register.simple_tag
def sla_badge(ticket) -> str:
    due = getattr(ticket, "sla_due_at", None)
    if due is None:
        return ""
    seconds = int((due - timezone.now()).total_seconds())
    if seconds <= 0:
        return format_html('<span class="sla-badge sla-overdue" data-sla="overdue" title="SLA due {} UTC">'
                           'Overdue {}</span>', due.strftime("%Y-%m-%d %H:%M"), duration(seconds))
    soon = " sla-soon" if seconds < 3600 else ""
    return format_html('<span class="sla-badge{}" data-sla="left" title="SLA due {} UTC">{} left</span>',
                       soon, due.strftime("%Y-%m-%d %H:%M"), duration(seconds))


@register.filter
def sla_duration(seconds) -> str:
    return duration(int(seconds)) if seconds is not None else ""


@register.simple_tag
def sla_team_back(ticket) -> str:
    """For the customer's page: "Monday 09:00" when we are away and they wait on us."""
    from frontdesk.sla.promise import team_back_for_ticket

    return team_back_for_ticket(ticket)
