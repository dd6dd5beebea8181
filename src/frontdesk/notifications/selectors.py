"""Reads of an agent's own notifications (nobody reads anyone else's)."""

from __future__ import annotations

from frontdesk.accounts.models import Agent

from .models import Notification

UNREAD_COUNT_CAP = 99


def unread_count(*, agent: Agent) -> int:
    """Unread notifications, capped (the header shows "99+")."""
    unread = Notification.objects.filter(agent=agent, read_at__isnull=True).values("pk")[: UNREAD_COUNT_CAP + 1]
    return Notification.objects.filter(pk__in=unread).count()


def notifications_for(*, agent: Agent, limit: int = 100) -> list[Notification]:
    return list(Notification.objects.filter(agent=agent).select_related("ticket")[:limit])
