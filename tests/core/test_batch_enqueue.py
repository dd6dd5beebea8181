"""``enqueue_batch_on_commit``: work queued while a run of the same task still waits joins
that run, never one a worker has claimed, and each run stays within its limit."""

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from frontdesk.core.tasks import enqueue_batch_on_commit
from tests.conftest import run_tasks

from . import flaky_tasks
from .flaky_tasks import record_items


def waiting() -> list[dict]:
    return [row.args_kwargs["kwargs"] for row in DBTaskResult.objects.filter(status="READY").order_by("enqueued_at")]


@pytest.mark.django_db
def test_it_joins_the_run_still_waiting():
    enqueue_batch_on_commit(record_items, key="items", items=[1, 2], limit=10)
    with transaction.atomic():
        enqueue_batch_on_commit(record_items, key="items", items=[2, 3], limit=10)

    assert waiting() == [{"items": [1, 2, 3]}]


@pytest.mark.django_db
def test_it_starts_a_new_run_beyond_the_limit_or_for_other_arguments():
    enqueue_batch_on_commit(record_items, key="items", items=[1, 2], limit=3)
    enqueue_batch_on_commit(record_items, key="items", items=[3, 4], limit=3)
    enqueue_batch_on_commit(record_items, key="items", items=[5], limit=3, label="other")

    assert waiting() == [{"items": [1, 2]}, {"items": [3, 4]}, {"items": [5], "label": "other"}]


@pytest.mark.django_db
def test_it_never_joins_a_claimed_run_or_a_retry():
    enqueue_batch_on_commit(record_items, key="items", items=[1], limit=10)
    DBTaskResult.objects.update(status="RUNNING")  # a worker has it
    record_items.enqueue(items=[2], attempt=2)  # a retry: its own run

    enqueue_batch_on_commit(record_items, key="items", items=[3], limit=10)

    assert waiting() == [{"items": [2], "attempt": 2}, {"items": [3]}]


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_the_joined_items_once():
    flaky_tasks.RECORDED.clear()
    for item in range(5):
        enqueue_batch_on_commit(record_items, key="items", items=[item], limit=10)

    run_tasks()

    assert flaky_tasks.RECORDED == [[0, 1, 2, 3, 4]]
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
