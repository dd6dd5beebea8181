"""CSAT numbers: good / (good + bad) by period, group, agent, plan and channel, with comments;
the JSON API and the desk page, and who sees what."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from frontdesk.csat.services import rating_record
from frontdesk.customers.services import customer_create
from frontdesk.tickets.models import Status
from frontdesk.tickets.services import ticket_create, ticket_set_status
from tests.desk.conftest import client_for

from .helpers import T0

pytestmark = pytest.mark.django_db


def rate(*, requester, group, assignee, score, when, channel="web", comment=""):
    with time_machine.travel(when, tick=False):
        ticket = ticket_create(subject=f"{score} ticket", body="Help", requester=requester, group=group,
                               assignee=assignee, channel=channel)
        ticket_set_status(ticket=ticket, actor=assignee, status=Status.SOLVED)
        rating_record(ticket=ticket, customer=requester, score=score, comment=comment)
    return ticket


@pytest.fixture
def ratings(agent, outsider, support, billing, customer):
    """Support (Sam): 3 good, 1 bad; Billing (Olga): 1 good, 1 bad. Two weeks apart."""
    gold = customer_create(name="Gold Customer", emails=["gold@example.org"], plan="gold")
    week1, week2 = T0, T0 + timedelta(days=7)  # 2026-03-02 is a Monday
    rate(requester=customer, group=support, assignee=agent, score="good", when=week1)
    rate(requester=customer, group=support, assignee=agent, score="good", when=week1, channel="email",
         comment="Thank you")
    rate(requester=gold, group=support, assignee=agent, score="good", when=week2)
    rate(requester=gold, group=support, assignee=agent, score="bad", when=week2, comment="Slow <b>reply</b>")
    rate(requester=gold, group=billing, assignee=outsider, score="good", when=week1)
    rate(requester=customer, group=billing, assignee=outsider, score="bad", when=week2, comment="Billing secret")


def by_key(rows):
    return {row["label"]: (row["good"], row["bad"], row["score"]) for row in rows}


@time_machine.travel(T0 + timedelta(days=10), tick=False)
def test_it_reports_csat_by_period_group_agent_plan_and_channel(ratings, admin, api_as):
    response = api_as(admin).get("/csat/report", since="2026-03-01", until="2026-03-31", period="week")

    assert response.status_code == 200, response.content
    report = response.json()
    assert report["overall"] == {"key": None, "label": "All", "good": 4, "bad": 2, "total": 6, "score": 66.7}
    assert by_key(report["by_period"]) == {"2026-03-02": (3, 0, 100.0), "2026-03-09": (1, 2, 33.3)}
    assert by_key(report["by_group"]) == {"Support": (3, 1, 75.0), "Billing": (1, 1, 50.0)}
    assert by_key(report["by_agent"]) == {"Sam Support": (3, 1, 75.0), "Olga Outsider": (1, 1, 50.0)}
    assert by_key(report["by_plan"]) == {"gold": (2, 1, 66.7), "—": (2, 1, 66.7)}
    assert by_key(report["by_channel"]) == {"Web form": (3, 2, 60.0), "Email": (1, 0, 100.0)}
    assert [c["comment"] for c in report["comments"]] == ["Billing secret", "Slow <b>reply</b>", "Thank you"]
    assert (report["since"], report["until"], report["period"]) == ("2026-03-01", "2026-03-31", "week")


@time_machine.travel(T0 + timedelta(days=10), tick=False)
def test_it_filters_and_buckets_by_day(ratings, admin, agent, support, api_as):
    client = api_as(admin)

    by_group = client.get("/csat/report", group=support.pk, period="day", since="2026-03-01").json()
    assert by_key(by_group["by_period"]) == {"2026-03-02": (2, 0, 100.0), "2026-03-09": (1, 1, 50.0)}
    assert client.get("/csat/report", agent=agent.pk, plan="gold").json()["overall"]["total"] == 2
    assert client.get("/csat/report", channel="email").json()["overall"]["good"] == 1
    assert client.get("/csat/report", since="2026-03-05", until="2026-03-31").json()["overall"]["total"] == 3
    monthly = client.get("/csat/report", period="month", since="2026-03-01").json()["by_period"]
    assert by_key(monthly) == {"2026-03-01": (4, 2, 66.7)}


@time_machine.travel(T0 + timedelta(days=10), tick=False)
def test_it_counts_only_the_tickets_an_agent_can_see(ratings, agent, outsider, api_as):
    mine = api_as(agent).get("/csat/report").json()
    theirs = api_as(outsider).get("/csat/report").json()

    assert (mine["overall"]["good"], mine["overall"]["bad"]) == (3, 1)
    assert "Billing secret" not in [c["comment"] for c in mine["comments"]]
    assert (theirs["overall"]["good"], theirs["overall"]["bad"]) == (1, 1)
    assert [c["comment"] for c in theirs["comments"]] == ["Billing secret"]


def test_it_answers_an_empty_report_without_dividing_by_zero(admin, api_as):
    report = api_as(admin).get("/csat/report").json()
    assert report["overall"]["score"] is None and report["by_period"] == []


def test_it_refuses_bad_report_parameters(admin, api_as):
    client = api_as(admin)
    assert client.get("/csat/report", period="year").json()["error"] == "invalid_period"
    assert client.get("/csat/report", since="2026-03-10", until="2026-03-01").status_code == 400
    assert client.get("/csat/report", since="yesterday").status_code == 422


def test_it_requires_authentication(api_as):
    assert api_as(None).get("/csat/report").status_code == 401
    assert api_as(None).get("/csat/settings").status_code == 401


@time_machine.travel(T0 + timedelta(days=10), tick=False)
def test_it_shows_one_ticket_rating_to_those_who_see_the_ticket(ratings, agent, outsider, api_as):
    from frontdesk.csat.models import Rating

    rating = Rating.objects.get(comment="Slow <b>reply</b>")
    response = api_as(agent).get(f"/csat/ratings/{rating.ticket.reference}")

    assert response.status_code == 200
    assert response.json()["rating"] == "bad" and response.json()["agent_id"] == agent.pk
    assert api_as(outsider).get(f"/csat/ratings/{rating.ticket.reference}").status_code == 404
    assert api_as(agent).get("/csat/ratings/NOSUCH").status_code == 404


def test_it_lets_only_admins_read_and_change_the_settings(admin, agent, api_as):
    assert api_as(agent).get("/csat/settings").status_code == 403
    assert api_as(agent).patch("/csat/settings", {"enabled": False}).status_code == 403

    response = api_as(admin).patch("/csat/settings", {"delay_minutes": 120, "after_automatic_solve": True,
                                                      "excluded_channels": ["chat"]})
    assert response.status_code == 200
    assert response.json() == {"enabled": True, "delay_minutes": 120, "after_automatic_solve": True,
                               "excluded_channels": ["chat"]}
    assert api_as(admin).get("/csat/settings").json()["delay_minutes"] == 120
    assert api_as(admin).patch("/csat/settings", {"delay": 5}).status_code == 422
    assert api_as(admin).patch("/csat/settings", {"excluded_channels": ["fax"]}).status_code == 400


@time_machine.travel(T0 + timedelta(days=10), tick=False)
def test_it_renders_the_desk_report_page(ratings, agent):
    page = client_for(agent).get("/desk/reports/csat/", {"since": "2026-03-01"})

    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="csat-score">75.0 %' in html
    assert "Slow &lt;b&gt;reply&lt;/b&gt;" in html and "Billing secret" not in html
    assert "<rect class=\"csat-bar\"" in html and "style=" not in html.split("<main")[-1]


def test_it_lets_only_admins_open_the_settings_page(agent, admin):
    assert client_for(agent).get("/desk/settings/csat/").status_code == 403
    client = client_for(admin)
    assert client.get("/desk/settings/csat/").status_code == 200

    response = client.post("/desk/settings/csat/", {"enabled": "on", "delay_minutes": "30"})

    assert response.status_code == 302
    assert client.get("/desk/settings/csat/").content.decode().count('value="30"') == 1


@time_machine.travel(T0 + timedelta(days=10), tick=False)
def test_it_shows_light_agents_the_ratings_of_their_groups_tickets(ratings, light, api_as):
    overall = api_as(light).get("/csat/report").json()["overall"]
    assert (overall["good"], overall["bad"]) == (3, 1)


def test_it_refuses_deactivated_agents(agent, api_as):
    client = api_as(agent)
    agent.is_active = False
    agent.save()
    assert client.get("/csat/report").status_code in (401, 403)


def test_it_counts_days_in_the_servers_time_zone(agent, support, customer, admin, api_as, settings):
    settings.TIME_ZONE = "Europe/Madrid"  # UTC+1 in March: 23:30 UTC is already the next day
    late = T0.replace(hour=23, minute=30)
    rate(requester=customer, group=support, assignee=agent, score="good", when=late)
    rate(requester=customer, group=support, assignee=agent, score="bad", when=late - timedelta(hours=2))

    with time_machine.travel(T0 + timedelta(days=5), tick=False):
        days = api_as(admin).get("/csat/report", period="day", since="2026-03-01").json()["by_period"]

    assert by_key(days) == {"2026-03-02": (0, 1, 0.0), "2026-03-03": (1, 0, 100.0)}
