"""Running the background work of SLA tests the way the worker and the scheduler do."""

from __future__ import annotations

from django_tasks_db.models import DBTaskResult

from frontdesk.core.clock import clock_tick


def drain(*, rounds: int = 20) -> int:
    """Run every ready task (and those they enqueue) in this test's transaction, in the
    worker's order; return how many ran. Failures raise, so a test sees them."""
    ran = 0
    for _ in range(rounds):
        rows = list(DBTaskResult.objects.ready())
        if not rows:
            return ran
        for row in rows:
            kwargs = (row.args_kwargs or {}).get("kwargs", {})
            DBTaskResult.objects.filter(pk=row.pk).delete()
            row.task.func(**kwargs)
            ran += 1
    raise AssertionError("tasks keep enqueueing tasks")


def tick() -> int:
    """One scheduler tick, then the tasks it handed out (and what they enqueue)."""
    claimed = clock_tick()
    drain()
    return claimed
