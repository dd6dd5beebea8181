"""FRONTDESK_BROADCAST_PER_MINUTE bounds the whole instance's incident mail: two incidents'
updates fanned out at the same moment, by two workers, share one pace (``MailPace``) instead of
each sending at the full rate."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from frontdesk.customers.services import customer_create
from frontdesk.incidents.affected import AffectedEntry, affected_customers_add
from frontdesk.incidents.broadcasts import broadcast_fan_out, broadcast_post
from frontdesk.incidents.distribution import incident_gesture_approve, incident_gesture_attach
from frontdesk.incidents.models import BroadcastDelivery, DeliveryStatus, GestureDelivery
from frontdesk.incidents.services import incident_create
from tests.conftest import run_tasks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _slow_pace(settings, tmp_path):
    settings.FRONTDESK_HOME = tmp_path
    settings.FRONTDESK_SMTP_URL = ""
    settings.FRONTDESK_BROADCAST_CHUNK = 2
    settings.FRONTDESK_BROADCAST_PER_MINUTE = 2  # one chunk of two a minute, for the whole instance


def incident_with_customers(agent, name: str, count: int):
    incident = incident_create(actor=agent, title=f"{name} outage", severity="major")
    customers = [customer_create(name=f"{name} {n}", emails=[f"{name.lower()}{n}@example.org"]) for n in range(count)]
    affected_customers_add(incident=incident, entries=[AffectedEntry(customer_id=c.pk) for c in customers],
                           source="api", actor=None)
    return incident


def fan_out_at_once(broadcast_ids: list[int]) -> None:
    """Each fan-out on its own thread and database connection, started together."""
    barrier = threading.Barrier(len(broadcast_ids))
    errors: list[BaseException] = []

    def work(broadcast_id: int) -> None:
        try:
            barrier.wait(timeout=10)
            broadcast_fan_out(broadcast_id=broadcast_id)
        except BaseException as error:  # reported by the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(pk,)) for pk in broadcast_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


def sent(model) -> int:
    return model.objects.filter(status=DeliveryStatus.SENT).count()


def test_two_incidents_updated_at_once_share_the_rate(agent):
    billing = incident_with_customers(agent, "Billing", 4)
    login = incident_with_customers(agent, "Login", 4)
    run_tasks()
    start = timezone.now()
    updates = [broadcast_post(incident=incident, actor=agent, body="We are on it.") for incident in (billing, login)]
    fan_out_at_once([u.pk for u in updates])
    assert BroadcastDelivery.objects.count() == 8

    # Eight customers, two a minute: four minutes, whichever incident they belong to.
    for minute, expected in enumerate([2, 4, 6, 8, 8]):
        with time_machine.travel(start + timedelta(minutes=minute, seconds=1)):
            run_tasks()
            assert sent(BroadcastDelivery) == expected, f"minute {minute}"
    per_incident = {i.pk: BroadcastDelivery.objects.filter(broadcast__incident=i, status="sent").count()
                    for i in (billing, login)}
    assert per_incident == {billing.pk: 4, login.pk: 4}


def test_a_gesture_waits_behind_another_incidents_update(agent, admin, settings):
    from decimal import Decimal

    from frontdesk.goodwill.models import Gesture

    gift = Gesture.objects.create(name="Flowers", kind="physical_gift", currency="EUR", value=Decimal("30"),
                                  fulfilment="manual", snippet="We are sending you flowers.")
    billing = incident_with_customers(agent, "Billing", 4)
    login = incident_with_customers(agent, "Login", 2)
    run_tasks()
    start = timezone.now()
    broadcast_post(incident=billing, actor=agent, body="We are on it.")
    run_tasks()  # the update's fan-out: its two chunks take minutes 0 and 1
    incident_gesture_attach(incident=login, actor=agent, gesture=gift, value="30", currency="EUR")
    incident_gesture_approve(incident=login, actor=admin)
    run_tasks()
    assert (sent(BroadcastDelivery), sent(GestureDelivery)) == (2, 0)
    with time_machine.travel(start + timedelta(minutes=1, seconds=1)):
        run_tasks()
        assert (sent(BroadcastDelivery), sent(GestureDelivery)) == (4, 0)
    with time_machine.travel(start + timedelta(minutes=2, seconds=1)):
        run_tasks()
        assert (sent(BroadcastDelivery), sent(GestureDelivery)) == (4, 2)
