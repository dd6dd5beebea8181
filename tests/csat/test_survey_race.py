"""Exactly once under concurrency: two clocks ticking at once, two workers running the same
survey task, two mail tasks for the same survey event (run on SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from django.db import OperationalError, connection

from frontdesk.core.clock import clock_tick
from frontdesk.csat.models import Survey
from frontdesk.csat.services import survey_send_if_due
from frontdesk.mail.models import OutboundMessage
from frontdesk.mail.survey_mail import outbound_queue_survey
from frontdesk.tickets.models import EventKind

from .helpers import T0, solve

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(work: Callable[[], object], *, times: int = 2) -> list:
    """Run ``work`` in ``times`` threads released together; their results (or exceptions).

    A run that fails with a database ``OperationalError`` (the test suite's in-memory SQLite
    answers "database table is locked" to a second writer instead of waiting) is run again,
    as ``@retrying_task`` would: the outcome must still be exactly once."""
    barrier = threading.Barrier(times)
    results: list = []

    def run():
        try:
            barrier.wait()
            for _ in range(50):
                try:
                    results.append(work())
                    return
                except OperationalError:
                    time.sleep(0.02)
            results.append("gave up")
        except Exception as exc:  # noqa: BLE001 - reported through the results
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def due_survey(ticket, agent):
    with time_machine.travel(T0, tick=False):
        solve(ticket, agent)
    return Survey.objects.get(ticket=ticket)


def test_it_claims_a_due_survey_once_when_two_clocks_tick_at_once(due_survey):
    due = T0 + timedelta(hours=1)

    results = at_once(lambda: clock_tick(now=due))

    assert sorted(results) == [0, 1]
    due_survey.refresh_from_db()
    assert due_survey.send_at is None


def test_it_sends_once_when_two_workers_run_the_same_survey(due_survey, ticket):
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        results = at_once(lambda: survey_send_if_due(survey_id=due_survey.pk))

    assert sorted(map(str, results)) == ["sent", "skipped: already sent"], results
    assert ticket.events.filter(kind=EventKind.SURVEY).count() == 1


def test_it_queues_one_email_when_mail_runs_twice_at_once(due_survey, ticket):
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        survey_send_if_due(survey_id=due_survey.pk)
        event = ticket.events.get(kind=EventKind.SURVEY)
        results = at_once(lambda: outbound_queue_survey(event_id=event.pk))

    assert sum(isinstance(result, OutboundMessage) for result in results) == 1
    assert [r for r in results if not isinstance(r, OutboundMessage)] == [None]
    assert OutboundMessage.objects.filter(ticket=ticket).count() == 1
