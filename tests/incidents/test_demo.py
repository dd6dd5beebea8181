"""``frontdesk demo`` has an incident with a linked ticket and affected customers, once."""

from __future__ import annotations

import pytest

from frontdesk.demo import DEMO_INCIDENT, load_demo
from frontdesk.incidents.models import AffectedCustomer, Incident

pytestmark = pytest.mark.django_db


def test_it_loads_an_incident_once(settings, tmp_path):
    settings.FRONTDESK_HOME = tmp_path
    load_demo()
    load_demo()
    incident = Incident.objects.get(title=DEMO_INCIDENT)
    assert incident.status == "identified" and incident.on_status_page
    assert incident.ticket_links.count() == 1
    rows = AffectedCustomer.objects.filter(incident=incident)
    assert set(rows.values_list("source", flat=True)) == {"ticket", "organization", "api"}
    assert rows.filter(group_key="BK-7731").count() == 2


def test_it_posts_one_update_on_the_demo_incident(settings, tmp_path):
    from django.test import Client

    from frontdesk.incidents.models import Broadcast

    settings.FRONTDESK_HOME = tmp_path
    load_demo()
    load_demo()
    [update] = Broadcast.objects.filter(incident__title=DEMO_INCIDENT)
    assert update.on_status_page and update.fanned_out_at is None  # the worker fans it out
    assert "card payments work again" in Client().get("/help/status").content.decode()
