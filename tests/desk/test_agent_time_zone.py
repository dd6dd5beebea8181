"""Each agent sees the workspace in their own time zone (``Agent.time_zone``, set on their account
page or by an administrator), else the instance's (``FRONTDESK_TIME_ZONE``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from frontdesk.accounts.models import Agent
from frontdesk.tickets.services import ticket_create
from tests.desk.conftest import client_for

pytestmark = pytest.mark.django_db

OPENED = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 10:30 in Tokyo, 02:30 in Berlin


@pytest.fixture
def early_ticket(customer, support):
    with time_machine.travel(OPENED, tick=False):
        return ticket_create(subject="Charged twice", requester=customer, body="Twice!", group=support)


def opened_at(client, ticket) -> str:
    page = client.get(f"/desk/tickets/{ticket.reference}/")
    assert page.status_code == 200
    html = page.content.decode()
    start = html.index("· opened <time")
    return html[start:html.index("</time>", start)]


def test_an_agent_in_tokyo_sees_the_ticket_in_tokyo_time(early_ticket, agent, light):
    client = client_for(agent)
    response = client.post("/desk/account/", {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    assert Agent.objects.get(pk=agent.pk).time_zone == "Asia/Tokyo"

    tokyo = opened_at(client, early_ticket)
    assert 'datetime="2026-03-02T10:30:00+09:00"' in tokyo and "2 Mar 2026, 10:30" in tokyo
    assert "2 Mar 2026, 01:30" in opened_at(client_for(light), early_ticket)  # the instance's: UTC
    inbox = client.get("/desk/views/unassigned/").content.decode()
    assert 'datetime="2026-03-02T10:30:00+09:00"' in inbox  # the inbox row's time
    assert "2026-03-02 10:30 JST" in inbox  # its title names the zone, not "UTC"


def test_without_one_an_agent_sees_the_instance_time_zone(early_ticket, agent, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    assert "2 Mar 2026, 02:30" in opened_at(client_for(agent), early_ticket)


def test_the_time_zone_does_not_leak_into_the_next_request(early_ticket, agent, light):
    client_for(agent).post("/desk/account/", {"time_zone": "Asia/Tokyo"})
    tokyo, utc = client_for(agent), client_for(light)
    assert "10:30" in opened_at(tokyo, early_ticket)
    assert "01:30" in opened_at(utc, early_ticket)
    assert "10:30" in opened_at(tokyo, early_ticket)


def test_the_account_page_refuses_a_name_that_is_not_a_time_zone(agent):
    client = client_for(agent)
    assert 'value="Asia/Tokyo"' in client.get("/desk/account/").content.decode()
    for bad in ("Mars/Olympus_Mons", "../../etc/passwd", "Asia/Tokyo" + "x" * 80):
        response = client.post("/desk/account/", {"time_zone": bad})
        assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert Agent.objects.get(pk=agent.pk).time_zone == ""
    assert client.post("/desk/account/", {"time_zone": ""}).status_code == 302  # back to the instance's


def test_administrators_set_it_in_the_admin_and_it_is_checked_there(agent, admin):
    path = f"/admin/accounts/agent/{agent.pk}/change/"
    form = {"email": agent.email, "name": agent.name, "role": agent.role, "is_active": "on",
            "groups": [g.pk for g in agent.groups.all()], "date_joined_0": "2026-01-01", "date_joined_1": "09:00:00"}
    refused = client_for(admin).post(path, {**form, "time_zone": "Nowhere/Special"})
    assert refused.status_code == 200 and "Unknown time zone" in refused.content.decode()
    assert client_for(admin).post(path, {**form, "time_zone": "America/New_York"}).status_code == 302
    assert Agent.objects.get(pk=agent.pk).time_zone == "America/New_York"
    assert client_for(agent).get(path).status_code == 302  # agents do not enter the admin
