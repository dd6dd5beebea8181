"""Notifying agents. Callers (SLA warnings, due follow-ups, approvals) decide who; this decides
nothing else: one row per agent, at most once per ``key``."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from frontdesk.accounts.models import Agent
from frontdesk.core.errors import InvalidInput
from frontdesk.core.text import single_line

from .models import Notification


@transaction.atomic
def notify_agents(
    *, agents: Iterable[Agent | None], kind: str, text: str, ticket=None, url: str = "", key: str = ""
) -> int:
    """Notify each active agent in ``agents`` (``None`` entries and duplicates are skipped) and
    return how many new notifications were written. With ``key``, an agent who already had a
    notification with that key gets none (safe for tasks that run twice, even concurrently)."""
    kind, text = kind.strip(), single_line(text, max_length=500)
    if not kind or not text:
        raise InvalidInput("A notification needs a kind and a text.")
    recipients = {agent.pk: agent for agent in agents if agent is not None and agent.is_active}
    if key:
        already = set(Notification.objects.filter(key=key, agent_id__in=recipients).values_list("agent_id", flat=True))
        recipients = {pk: agent for pk, agent in recipients.items() if pk not in already}
    now = timezone.now()
    Notification.objects.bulk_create(
        [Notification(agent=agent, kind=kind, text=text, ticket=ticket, url=url, key=key, created_at=now)
         for agent in recipients.values()],
        # A concurrent run with the same key lost the race above: its rows stay the only ones.
        ignore_conflicts=bool(key),
    )
    return len(recipients)


def notifications_mark_read(*, agent: Agent, ids: Iterable[int] | None = None) -> int:
    """Mark ``agent``'s notifications read (all unread ones when ``ids`` is None)."""
    unread = Notification.objects.filter(agent=agent, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())
