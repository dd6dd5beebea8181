"""Reads of an agent's own notifications (nobody reads anyone else's)."""

from __future__ import annotations

from frontdesk.accounts.models import Agent

from .models import Notification

UNREAD_COUNT_CAP = 99


def unread_count(*, agent: Agent) -> int:
    """Unread notifications, capped (the header shows "99+"). Every workspace page asks: the
    ids of at most CAP + 1 index entries, counted here (a ``COUNT`` over a ``LIMIT`` subquery
    reads the same entries but costs the ORM twice the Python)."""
    unread = Notification.objects.filter(agent_id=agent.pk, read_at__isnull=True).order_by()
    return len(unread.values_list("pk", flat=True)[: UNREAD_COUNT_CAP + 1])


def notifications_for(*, agent: Agent, limit: int = 100) -> list[Notification]:
    return list(Notification.objects.filter(agent=agent).select_related("ticket")[:limit])
