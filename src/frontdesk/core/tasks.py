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
