import pytest
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from frontdesk.health import health_report
from tests.conftest import run_tasks

from .flaky_tasks import deliver_to_unreachable_relay


def _make_due():
    DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(run_after=timezone.now())


@pytest.mark.django_db(transaction=True)
def test_it_retries_with_backoff_then_gives_up_visibly():
    deliver_to_unreachable_relay.enqueue(message_id=7)

    run_tasks()
    failed = DBTaskResult.objects.get(status=TaskResultStatus.FAILED)
    assert "relay refused message 7" in failed.traceback
    retry = DBTaskResult.objects.get(status=TaskResultStatus.READY)
    assert retry.args_kwargs["kwargs"] == {"message_id": 7, "attempt": 2}
    assert retry.run_after > timezone.now()  # backoff: not before its time

    run_tasks()  # not due yet: nothing runs
    assert DBTaskResult.objects.filter(status=TaskResultStatus.FAILED).count() == 1

    _make_due()
    run_tasks()
    _make_due()
    run_tasks()

    assert DBTaskResult.objects.filter(status=TaskResultStatus.FAILED).count() == 3
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.READY).exists()
    assert health_report()["queue"]["failed"] == 3
