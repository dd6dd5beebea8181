"""SLA fixtures: a Mon–Fri 09:00–17:00 UTC calendar, a Standard default policy and a
Premium policy for the "premium" plan, with time frozen on Monday 2 March 2026, 10:00 UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from frontdesk.calendars.selectors import calendar_default
from frontdesk.sla.policy_services import sla_policy_create

MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

STANDARD_TARGETS = {
    "first_response": {"low": 480, "normal": 240, "high": 120, "urgent": 60},
    "next_response": {"low": 480, "normal": 240, "high": 120, "urgent": 60},
    "resolution": {"low": 2400, "normal": 1440, "high": 960, "urgent": 480},
}


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY_10, tick=False) as traveller:
        yield traveller


@pytest.fixture
def calendar(db):
    return calendar_default()


@pytest.fixture
def standard(admin, calendar):
    return sla_policy_create(
        actor=admin, name="Standard", is_default=True, calendar_id=calendar.pk, targets=STANDARD_TARGETS,
    )


@pytest.fixture
def premium(admin, calendar, support):
    return sla_policy_create(
        actor=admin, name="Premium", position=10, calendar_id=calendar.pk,
        conditions={"plans": ["premium"]},
        targets={"first_response": {"normal": 120, "high": 60, "urgent": 30},
                 "next_response": {"normal": 120, "high": 60, "urgent": 30},
                 "resolution": {"normal": 960, "high": 480, "urgent": 240}},
        warning_actions=[{"kind": "notify"}],
        breach_actions=[{"kind": "notify"}, {"kind": "raise_priority"}, {"kind": "add_tag", "tag": "sla-missed"}],
    )
