"""Helpers of the followups tests: frozen time that moves, the clock, the worker."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from frontdesk.core.clock import clock_tick
from tests.conftest import run_tasks

# A Monday morning, UTC (the default calendar is Mon–Fri 09:00–17:00 in settings.TIME_ZONE, UTC).
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    """Frozen time starting on ``MONDAY``; ``clock.move_to(dt)`` jumps."""
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


def settle() -> None:
    """What the scheduler and a worker would do now: claim due rows, run every ready task
    (twice: tasks enqueue tasks, e.g. a reminder's email)."""
    clock_tick()
    run_tasks()
    clock_tick()
    run_tasks()
