"""Policies in the admin site: saved through the services, with their validation on the form."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from frontdesk.sla.models import SlaPolicy

pytestmark = pytest.mark.django_db


def form(calendar, **overrides):
    data = {
        "name": "Gold", "position": "10", "active": "on", "conditions": json.dumps({"plans": ["gold"]}),
        "calendar": str(calendar.pk), "targets": json.dumps({"first_response": {"normal": 60}}),
        "warning_share": "75", "warning_actions": "[]", "breach_actions": json.dumps([{"kind": "notify"}]),
        "expedite_currency": "EUR",
    }
    data.update(overrides)
    return data


def test_it_creates_a_policy_and_shows_validation_errors_on_the_form(admin, agent, calendar):
    browser = Client()
    browser.force_login(admin)
    refused = browser.post("/admin/sla/slapolicy/add/", form(calendar, targets=json.dumps(
        {"first_response": {"normal": 0}})))
    assert refused.status_code == 200
    assert "must be a positive number of business minutes" in refused.content.decode()
    assert not SlaPolicy.objects.exists()
    created = browser.post("/admin/sla/slapolicy/add/", form(calendar))
    assert created.status_code == 302, created.content.decode()[:2000]
    policy = SlaPolicy.objects.get()
    assert (policy.name, policy.conditions, policy.breach_actions) == ("Gold", {"plans": ["gold"]},
                                                                      [{"kind": "notify"}])
    changed = browser.post(f"/admin/sla/slapolicy/{policy.pk}/change/", form(calendar, warning_share="50"))
    assert changed.status_code == 302
    assert SlaPolicy.objects.get().warning_share == 50
    outsider = Client()
    outsider.force_login(agent)
    assert outsider.get("/admin/sla/slapolicy/").status_code == 302  # to the admin login: agents stay out
