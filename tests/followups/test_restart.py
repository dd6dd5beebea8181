"""Restarts: due rows claimed by a scheduler that dies are done by the next one, once.

Two ways to die: before the claim commits (the claim and its task roll back together: the
row is still due for the next tick), and after it (a real ``frontdesk scheduler`` process,
killed: the task rows it committed with the claims wait for a worker; a second scheduler
claims nothing twice)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from frontdesk.core.clock import clock_tick
from frontdesk.followups.models import FollowUp, FollowUpKind, FollowUpState, Ladder, Snooze
from frontdesk.followups.services import followup_create, ticket_snooze
from frontdesk.tickets.models import EventKind, Message, Status
from frontdesk.tickets.services import ticket_set_status
from tests.conftest import run_tasks

from .conftest import settle
from .shared_db import database_url, in_memory_sqlite, needs_shared_database, rerun_on_sqlite_file

pytestmark = pytest.mark.django_db(transaction=True)


class Crash(Exception):
    pass


def test_it_leaves_rows_claimed_in_a_rolled_back_tick_for_the_next_tick(clock, ticket, agent):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.PENDING)
    settle()
    ladder = Ladder.objects.get(ticket=ticket)
    clock.move_to(ladder.next_step_at)
    with pytest.raises(Crash), transaction.atomic():
        assert clock_tick() == 1
        raise Crash  # the scheduler dies before its claims commit
    ladder.refresh_from_db()
    assert ladder.next_step_at is not None and ladder.step == 0
    settle()
    settle()
    assert Message.objects.filter(ticket=ticket, automatic="reminder").count() == 1


def test_it_runs_these_restarts_on_a_sqlite_file(tmp_path):
    if not in_memory_sqlite():
        pytest.skip("this run's database is shared already: the restart test ran directly")
    rerun_on_sqlite_file(__file__, tmp_path)


def _scheduler(tmp_path, name: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "FRONTDESK_"))}
    env.update(DATABASE_URL=database_url(), FRONTDESK_HOME=str(tmp_path / name), FRONTDESK_SCHEDULER_INTERVAL="1")
    return subprocess.Popen([sys.executable, "-m", "frontdesk.cli", "scheduler"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_until(condition, *, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the scheduler did not claim the due rows"
        time.sleep(0.2)


def test_it_does_each_action_once_after_a_scheduler_is_killed(tmp_path, ticket, agent, customer):
    needs_shared_database()
    past = datetime(2020, 1, 6, 10, 0, tzinfo=UTC)  # a Monday; everything below is long due now
    with time_machine.travel(past, tick=False):
        ticket_set_status(ticket=ticket, actor=agent, status=Status.PENDING)
        run_tasks()
        follow_up = followup_create(ticket=ticket, created_by=agent, due_at=past + timedelta(hours=1),
                                    note="Call the depot", kind=FollowUpKind.REMINDER)
        ticket_snooze(ticket=ticket, agent=agent, until=past + timedelta(hours=2))
    ladder = Ladder.objects.get(ticket=ticket)

    def claimed() -> bool:
        return (Ladder.objects.filter(pk=ladder.pk, next_step_at__isnull=True).exists()
                and FollowUp.objects.filter(pk=follow_up.pk, fire_at__isnull=True).exists()
                and Snooze.objects.filter(ticket=ticket, wake_at__isnull=True).exists())

    first = _scheduler(tmp_path, "first")
    try:
        _wait_until(claimed)
    finally:
        first.send_signal(signal.SIGKILL)  # dies before any worker ran what it claimed
        first.wait(10)
    assert Message.objects.filter(ticket=ticket, automatic="reminder").count() == 0

    second = _scheduler(tmp_path, "second")  # nothing it could claim again
    time.sleep(2.5)
    second.send_signal(signal.SIGKILL)
    second.wait(10)
    assert claimed()

    run_tasks()  # the worker: each claimed job once
    run_tasks()
    assert Message.objects.filter(ticket=ticket, automatic="reminder").count() == 1
    follow_up.refresh_from_db()
    assert follow_up.state == FollowUpState.DUE
    assert not Snooze.objects.filter(ticket=ticket).exists()
    assert ticket.events.filter(kind=EventKind.SNOOZE, after__action="woken").count() == 1
    assert ticket.events.filter(kind=EventKind.AGENT_FOLLOW_UP, after__action="due").count() == 1
    assert ticket.events.filter(kind=EventKind.LADDER, after__action="reminder").count() == 1
