"""Notifying agents. Callers (SLA warnings, due follow-ups, approvals) decide who; this decides
nothing else: one row per agent, at most once per ``key``.

A caller may also ask for the notification by email (``email=True``). This app never imports
``mail``: each new row is handed, on commit, to the tasks that ``frontdesk.subscriptions``
lists for the ``email`` channel (``mail`` queues it on the same outbound path as every other
email: the relay or the outbox, retried, its delivery on the ticket's timeline)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from frontdesk.accounts.models import Agent
from frontdesk.core.errors import InvalidInput
from frontdesk.core.text import single_line

from .models import Notification


@transaction.atomic
def notify_agents(
    *, agents: Iterable[Agent | None], kind: str, text: str, ticket=None, url: str = "", key: str = "",
    email: bool = False, detail: str = "",
) -> int:
    """Notify each active agent in ``agents`` (``None`` entries and duplicates are skipped) and
    return how many new notifications were written. With ``key``, an agent who already had a
    notification with that key gets none (safe for tasks that run twice, even concurrently).
    With ``email``, each new notification is also emailed (``text`` as the subject, ``detail``
    and the link in the body); an emailed notification needs its ``ticket`` (the email is filed
    on it, like every email we send)."""
    kind, text = kind.strip(), single_line(text, max_length=500)
    if not kind or not text:
        raise InvalidInput("A notification needs a kind and a text.")
    if email and ticket is None:
        raise InvalidInput("An emailed notification needs its ticket.")
    recipients = {agent.pk: agent for agent in agents if agent is not None and agent.is_active}
    if key:
        already = set(Notification.objects.filter(key=key, agent_id__in=recipients).values_list("agent_id", flat=True))
        recipients = {pk: agent for pk, agent in recipients.items() if pk not in already}
    now = timezone.now()
    if email:
        return _notify_by_email(recipients.values(), kind=kind, text=text, ticket=ticket, url=url, key=key,
                                detail=detail.strip(), now=now)
    Notification.objects.bulk_create(
        [Notification(agent=agent, kind=kind, text=text, ticket=ticket, url=url, key=key, created_at=now)
         for agent in recipients.values()],
        # A concurrent run with the same key lost the race above: its rows stay the only ones.
        ignore_conflicts=bool(key),
    )
    return len(recipients)


def _notify_by_email(agents, *, now, **fields) -> int:
    """One row at a time (the email task needs each row's id), each in a savepoint: a concurrent
    run that wrote the same key first keeps the only row, and the only email."""
    from frontdesk.subscriptions import notify_channel

    written = 0
    for agent in agents:
        try:
            with transaction.atomic():
                notification = Notification.objects.create(agent=agent, created_at=now, **fields)
        except IntegrityError:
            continue
        notify_channel("email", notification)
        written += 1
    return written


def notifications_mark_read(*, agent: Agent, ids: Iterable[int] | None = None) -> int:
    """Mark ``agent``'s notifications read (all unread ones when ``ids`` is None)."""
    unread = Notification.objects.filter(agent=agent, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())
