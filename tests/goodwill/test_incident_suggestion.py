"""The incident rule: a ticket linked to an incident (the incidents app's ``incident`` timeline
events, recorded here exactly as its contract says) suggests a gesture, explained in one line."""

from __future__ import annotations

import pytest

from frontdesk.goodwill.suggestions import linked_incident, suggestions_for
from frontdesk.tickets.timeline import record_event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _only_this_rule(settings):
    settings.FRONTDESK_GOODWILL_HIGH_VALUE_PLANS = []
    settings.FRONTDESK_GOODWILL_TICKETS_PER_MONTH = 0


def incident_event(ticket, agent, action, *, incident=12, title="Payment outage", severity="major",
                   status="investigating", **extra):
    return record_event(ticket=ticket, kind="incident", actor=agent, after={
        "incident": incident, "reference": f"INC-{incident}", "title": title, "severity": severity,
        "status": status, "action": action, "summary": f"{action} INC-{incident}", **extra,
    })


def test_it_suggests_a_gesture_on_a_ticket_linked_to_an_incident(ticket, agent):
    assert suggestions_for(ticket) == []
    incident_event(ticket, agent, "linked")
    assert suggestions_for(ticket) == ["suggested because this ticket is linked to INC-12 Payment outage (major)"]


def test_it_stops_suggesting_once_the_ticket_is_unlinked(ticket, agent):
    incident_event(ticket, agent, "linked")
    incident_event(ticket, agent, "unlinked")
    assert suggestions_for(ticket) == []
    incident_event(ticket, agent, "linked")  # linked again
    assert linked_incident(ticket) is not None


def test_later_updates_keep_it_linked_and_carry_the_current_title_and_severity(ticket, agent):
    incident_event(ticket, agent, "linked")
    incident_event(ticket, agent, "update", title="Card payments failing", severity="critical",
                   status="identified", broadcast=3)
    incident_event(ticket, agent, "resolved", title="Card payments failing", severity="critical", status="resolved")
    expected = "suggested because this ticket is linked to INC-12 Card payments failing (critical)"
    assert linked_incident(ticket) == expected


def test_an_update_without_a_link_suggests_nothing(ticket, agent):
    """An update on an incident this ticket was unlinked from (or never linked to) says nothing."""
    incident_event(ticket, agent, "update", broadcast=3)
    assert linked_incident(ticket) is None


def test_with_two_incidents_it_names_the_one_still_linked(ticket, agent):
    incident_event(ticket, agent, "linked", incident=12)
    incident_event(ticket, agent, "linked", incident=14, title="Login errors", severity="critical")
    incident_event(ticket, agent, "unlinked", incident=14, title="Login errors", severity="critical")
    assert linked_incident(ticket) == "suggested because this ticket is linked to INC-12 Payment outage (major)"


def test_the_severities_are_configurable_and_empty_turns_the_rule_off(ticket, agent, settings):
    incident_event(ticket, agent, "linked", severity="minor")
    assert linked_incident(ticket) is None  # default: major and critical
    settings.FRONTDESK_GOODWILL_INCIDENT_SEVERITIES = ["minor", "major", "critical"]
    assert linked_incident(ticket) == "suggested because this ticket is linked to INC-12 Payment outage (minor)"
    settings.FRONTDESK_GOODWILL_INCIDENT_SEVERITIES = []
    assert linked_incident(ticket) is None


def test_the_ticket_panel_shows_the_incident_suggestion(ticket, agent):
    from tests.desk.conftest import client_for

    incident_event(ticket, agent, "linked")
    page = client_for(agent).get(f"/desk/tickets/{ticket.reference}/goodwill/").content.decode()
    assert "linked to INC-12 Payment outage (major)" in page
