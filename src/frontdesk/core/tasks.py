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
from django.db import connection, transaction
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
    with transaction.atomic():
        # Only the newest run: a run never gets items newer than a later run's (a processing
        # task's messages are all older than the next task's, so a worker that processes an
        # original from another task first only ever waits for an older task, never in a
        # cycle with it).
        for pk, args_kwargs in _waiting_runs(task, count=1):
            their = dict(args_kwargs.get("kwargs") or {})
            joined = their.pop(key, None)
            if args_kwargs.get("args") or their != kwargs or not isinstance(joined, list):
                continue  # another call (or a retry, with its attempt number)
            known = set(joined)
            new = [item for item in items if item not in known]
            if len(joined) + len(new) > limit:
                continue
            _set_arguments(pk, {"args": [], "kwargs": {**kwargs, key: [*joined, *new]}})
            return
        enqueue_on_commit(task, **{key: list(items)}, **kwargs)


def _waiting_runs(task: Task, count: int) -> list[tuple[Any, dict]]:
    """(id, arguments) of the newest ready runs of ``task`` not due later, locked (PostgreSQL:
    skipping rows a worker holds). Plain SQL: this runs in every transaction of a mail batch
    and in the SMTP listener's group commit, where building an ORM query costs more than
    running it."""
    from django_tasks_db.models import DBTaskResult, get_date_max

    meta, quote = DBTaskResult._meta, connection.ops.quote_name
    columns = {name: quote(meta.get_field(name).column) for name in (
        "id", "args_kwargs", "status", "task_path", "queue_name", "priority", "backend_name", "run_after",
        "enqueued_at")}
    sql = (
        f"SELECT {columns['id']}, {columns['args_kwargs']} FROM {quote(meta.db_table)} "  # noqa: S608 model names
        f"WHERE {columns['status']} = %s AND {columns['task_path']} = %s AND {columns['queue_name']} = %s "
        f"AND {columns['priority']} = %s AND {columns['backend_name']} = %s AND {columns['run_after']} = %s "
        f"ORDER BY {columns['enqueued_at']} DESC LIMIT {int(count)}"
    )
    if connection.features.has_select_for_update_skip_locked:
        sql += " FOR UPDATE SKIP LOCKED"
    run_after = meta.get_field("run_after").get_db_prep_value(get_date_max(), connection)
    field = meta.get_field("args_kwargs")
    with connection.cursor() as cursor:
        cursor.execute(sql, ["READY", task.module_path, task.queue_name, task.priority, task.backend, run_after])
        rows = cursor.fetchall()
    return [(pk, field.from_db_value(value, None, connection)) for pk, value in rows]


def _set_arguments(pk: Any, args_kwargs: dict) -> None:
    from django_tasks_db.models import DBTaskResult

    meta, quote = DBTaskResult._meta, connection.ops.quote_name
    field = meta.get_field("args_kwargs")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET {quote(field.column)} = %s "  # noqa: S608 model names
            f"WHERE {quote(meta.pk.column)} = %s",
            [field.get_db_prep_save(args_kwargs, connection), pk])


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
