"""The one list of which ticket timeline events start which tasks in other apps.

``tickets`` never imports a feature app; a feature app that must react to a ticket change
(send the reply by email, start an SLA timer…) adds ``event kind → task path`` here. Each
task receives ``event_id`` and is enqueued in the same transaction as the event.

``WANTS`` (task path → test on the event) lets a subscriber say which of its events it acts
on, so the others cost no task at all (a csat survey only follows a solve). Inside
``batched()`` (the mail pipeline writing many tickets in one transaction) the events are
collected and each subscriber gets one task for all of them: its own batch task (``MANY``),
else ``run_subscriber``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import transaction
from django.utils.module_loading import import_string

from frontdesk.core.tasks import enqueue_batch_on_commit, enqueue_on_commit, retrying_task

logger = logging.getLogger(__name__)

SUBSCRIPTIONS: dict[str, list[str]] = {
    "reply": ["frontdesk.mail.tasks.email_reply", "frontdesk.followups.tasks.on_agent_reply"],
    "automatic": ["frontdesk.mail.tasks.email_automatic"],
    "status": [
        "frontdesk.followups.tasks.on_status_event",
        "frontdesk.csat.tasks.survey_schedule_after_solve",
    ],
    "customer_message": ["frontdesk.followups.tasks.on_customer_message"],
    "survey": ["frontdesk.mail.tasks.email_survey"],
    "satisfaction": ["frontdesk.followups.tasks.followup_after_bad_rating"],
}

# SLA timers follow every ticket change that starts, pauses, satisfies or re-targets them
# (one task per event; whichever runs first applies all of the ticket's events in order).
for _kind in ("created", "reply", "customer_message", "status", "priority", "group", "tags"):
    SUBSCRIPTIONS.setdefault(_kind, []).append("frontdesk.sla.tasks.sla_on_ticket_event")


def _pending_or_solved_move(event) -> bool:
    # followups: a ladder starts on → pending and stops on pending → other; a solve is recorded.
    return event.after in ("pending", "solved") or event.before == "pending"


def _solve(event) -> bool:
    return event.after == "solved"


# Task path → the events it acts on (the task re-checks; this only spares the others a task).
# A test that needs a query names a function of the subscribing app.
WANTS: dict[str, Callable | str] = {
    "frontdesk.followups.tasks.on_status_event": _pending_or_solved_move,
    "frontdesk.csat.tasks.survey_schedule_after_solve": _solve,
    "frontdesk.followups.tasks.on_customer_message": "frontdesk.followups.selectors.customer_message_matters",
}

# Subscribers that act on all of a ticket's events not yet applied, whichever of them they are
# given (SLA: ``sla_apply_events``): in a batch they get one event per ticket, its last.
PER_TICKET: set[str] = {"frontdesk.sla.tasks.sla_on_ticket_event"}

# Subscribers with a task of their own for a batch's events (``event_ids``), which does the work
# for all of them at once instead of once per event (``run_subscriber``).
MANY: dict[str, str] = {"frontdesk.sla.tasks.sla_on_ticket_event": "frontdesk.sla.tasks.sla_on_ticket_events"}

BATCH_EVENTS = 500  # events one batch task takes at most

_batch = threading.local()


def _wants(task_path: str, event) -> bool:
    test = WANTS.get(task_path)
    if test is None:
        return True
    return (import_string(test) if isinstance(test, str) else test)(event)


def notify_subscribers(event) -> None:
    collected: dict[str, dict[int, int]] | None = getattr(_batch, "events", None)
    for task_path in SUBSCRIPTIONS.get(event.kind, ()):
        if not _wants(task_path, event):
            continue
        if collected is not None:
            key = event.ticket_id if task_path in PER_TICKET else event.pk
            collected.setdefault(task_path, {})[key] = event.pk  # a ticket's later event wins
        else:
            enqueue_on_commit(import_string(task_path), event_id=event.pk)


@contextmanager
def batched() -> Iterator[None]:
    """Collect the events recorded inside, then enqueue one task per subscriber for all of
    them (in the caller's transaction: use inside ``transaction.atomic``). A subscriber with
    a single event gets its own task, as outside a batch. Nothing is enqueued on error."""
    if getattr(_batch, "events", None) is not None:  # nested: the outer batch enqueues
        yield
        return
    _batch.events = {}
    try:
        yield
        collected, _batch.events = _batch.events, None
        for task_path, events in collected.items():
            event_ids = sorted(events.values())
            # One task per subscriber, joining one that still waits (core.tasks).
            if task_path in MANY:
                enqueue_batch_on_commit(import_string(MANY[task_path]), key="event_ids", items=event_ids,
                                        limit=BATCH_EVENTS)
            elif len(event_ids) == 1:
                enqueue_on_commit(import_string(task_path), event_id=event_ids[0])
            else:
                enqueue_batch_on_commit(run_subscriber, key="event_ids", items=event_ids, limit=BATCH_EVENTS,
                                        task_path=task_path)
    finally:
        _batch.events = None


@retrying_task
def run_subscriber(*, task_path: str, event_ids: list[int]) -> str:
    """Run one subscriber for many events, in order. An event whose run fails gets a task of
    its own (with its own retries and its failure visible), and the others go on."""
    task = import_string(task_path)
    run_one = getattr(task.func, "__wrapped__", task.func)  # without its own retry wrapper
    failed = 0
    for event_id in event_ids:
        try:
            with transaction.atomic():  # a failed run rolls back alone
                run_one(event_id=event_id)
        except Exception:
            failed += 1
            logger.exception("%s failed for event %s; retried as a task of its own", task_path, event_id)
            task.enqueue(event_id=event_id)
    return f"{len(event_ids) - failed} events, {failed} handed to their own task"


# Channels agent notifications go out through besides the in-app list (``notifications`` never
# imports ``mail``): a notification asked for by email enqueues these tasks with its id.
NOTIFICATION_CHANNELS: dict[str, list[str]] = {
    "email": ["frontdesk.mail.tasks.email_notification"],
}


def notify_channel(channel: str, notification) -> None:
    for task_path in NOTIFICATION_CHANNELS.get(channel, ()):
        enqueue_on_commit(import_string(task_path), notification_id=notification.pk)
