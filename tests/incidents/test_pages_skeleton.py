"""The incident list and detail pages (skeleton)."""

from __future__ import annotations

import pytest

from frontdesk.incidents.models import Incident
from tests.desk.conftest import client_for

pytestmark = pytest.mark.django_db


def test_it_lists_incidents_with_status_and_severity(agent, admin):
    incident = Incident.objects.create(title="Payments down", created_by=admin, severity="critical")
    page = client_for(agent).get("/desk/incidents/").content.decode()
    assert f"INC-{incident.pk} Payments down" in page and "Critical" in page and "Investigating" in page
    detail = client_for(agent).get(f"/desk/incidents/{incident.pk}/")
    assert detail.status_code == 200 and "Linked tickets" in detail.content.decode()
    assert client_for(agent).get("/desk/incidents/999999/").status_code == 404
