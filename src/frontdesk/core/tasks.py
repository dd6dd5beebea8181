"""Background work: enqueue in the data's transaction, retry failures with backoff.

django-tasks runs a task once; a helpdesk must retry (a relay is down, a webhook times
out) and must show what failed. ``retrying_task`` adds both: a failed run is recorded as
FAILED with its traceback (visible in the admin and in /healthz), and a new attempt is
enqueued with exponential backoff until ``FRONTDESK_TASK_MAX_ATTEMPTS`` is reached.
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task as django_task
from django_tasks.base import Task

logger = logging.getLogger(__name__)

# Task priorities: a worker takes the ready task of highest priority first (then the oldest).
# Written down in DESIGN.md ("Task priorities"); keep the list short and deliberate.
PRIORITY_INTERACTIVE = 20  # someone waits for it now: an agent's reply on its way out, a link asked for
PRIORITY_INGEST = 10  # stored inbound mail becoming tickets (the SMTP listener's and the poller's)
PRIORITY_DEFAULT = 0  # everything else: SLA, follow-ups, bulk outbound mail (acknowledgements, broadcasts)

BASE_RETRY_DELAY_SECONDS = 15
MAX_RETRY_DELAY_SECONDS = 3600


def enqueue_on_commit(task: Task, **kwargs: Any) -> None:
    """Enqueue ``task(**kwargs)`` so that it runs only if the current transaction commits.

    With the database backend the task row is inserted inside the current transaction:
    it commits or rolls back together with the data it acts on, so a crash between the
    two can neither lose the job nor run it against data that never existed. Any other
    backend is handed the job after commit.
    """
    backend_path = settings.TASKS[task.backend]["BACKEND"]
    if backend_path.startswith("django_tasks_db"):
        task.enqueue(**kwargs)
    else:
        transaction.on_commit(lambda: task.enqueue(**kwargs))


def enqueue_batch_on_commit(task: Task, *, key: str, items: list, limit: int, **kwargs: Any) -> None:
    """``enqueue_on_commit(task, **{key: items}, **kwargs)``, unless a run of the same task with
    the same other arguments is still waiting (ready, no worker has claimed it): then ``items``
    join that run's ``key`` list, up to ``limit`` items per run.

    Under a burst the workers are busy and the waiting work of each kind gathers in one task,
    so it is done in bulk (one transaction, one relay connection) instead of once per
    enqueue, and costs one task's bookkeeping. The waiting row is locked first (PostgreSQL:
    ``FOR UPDATE SKIP LOCKED``, so a worker claiming it is never waited for and a row it
    holds is not joined; SQLite: the write lock serialises this with the worker's claim), so
    the items are either in the row a worker claims or in a new one, never lost. The task
    must take ``key`` as a list and be safe to run for any subset and order of its items.
    """
    backend_path = settings.TASKS[task.backend]["BACKEND"]
    if not backend_path.startswith("django_tasks_db") or not items:
        enqueue_on_commit(task, **{key: list(items)}, **kwargs)
        return
    from django_tasks_db.models import DBTaskResult, get_date_max

    with transaction.atomic():
        waiting = (
            DBTaskResult.objects.select_for_update(skip_locked=True)
            .filter(status="READY", task_path=task.module_path, queue_name=task.queue_name, priority=task.priority,
                    backend_name=task.backend, run_after=get_date_max())
            .order_by("-enqueued_at").values_list("pk", "args_kwargs")  # the newest has room, if any
        )
        for pk, args_kwargs in waiting[:3]:
            their = dict(args_kwargs.get("kwargs") or {})
            joined = their.pop(key, None)
            if args_kwargs.get("args") or their != kwargs or not isinstance(joined, list):
                continue  # another call (or a retry, with its attempt number)
            known = set(joined)
            new = [item for item in items if item not in known]
            if len(joined) + len(new) > limit:
                continue
            DBTaskResult.objects.filter(pk=pk).update(
                args_kwargs={"args": [], "kwargs": {**kwargs, key: [*joined, *new]}})
            return
        enqueue_on_commit(task, **{key: list(items)}, **kwargs)


def retry_delay(attempt: int) -> timedelta:
    """Exponential backoff with jitter: 15 s, 30 s, 1 min, 2 min … capped at one hour."""
    seconds = min(BASE_RETRY_DELAY_SECONDS * 2 ** (attempt - 1), MAX_RETRY_DELAY_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def retrying_task(func: Callable | None = None, *, max_attempts: int | None = None, priority: int = 0):
    """Decorator: a django-tasks task that re-enqueues itself with backoff when it raises.

    Task functions take keyword arguments (ids) and must be safe to run twice. Workers take
    ready tasks of higher ``priority`` first (-100 … 100).
    """

    def decorate(inner: Callable) -> Task:
        @functools.wraps(inner)
        def run(*, attempt: int = 1, **kwargs: Any) -> Any:
            try:
                return inner(**kwargs)
            except Exception:
                limit = max_attempts or settings.FRONTDESK_TASK_MAX_ATTEMPTS
                if attempt < limit:
                    delay = retry_delay(attempt)
                    task_obj.using(run_after=timezone.now() + delay).enqueue(
                        attempt=attempt + 1, **kwargs
                    )
                    logger.warning(
                        "task %s attempt %d/%d failed; retrying in %ds",
                        inner.__name__, attempt, limit, delay.total_seconds(),
                    )
                else:
                    logger.error("task %s failed %d times; giving up", inner.__name__, attempt)
                raise

        task_obj = django_task(priority=priority)(run)
        return task_obj

    return decorate(func) if func else decorate
