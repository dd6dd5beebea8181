"""The workspace: "next SLA due" order and badges in the inbox (no query per row), the ticket
page's SLA panel, the report page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from frontdesk.tickets.services import ticket_create, ticket_reply, ticket_set_priority
from tests.desk.conftest import client_for

from .helpers import drain, tick

pytestmark = pytest.mark.django_db


def make(customer, support, subject, priority="normal"):
    return ticket_create(subject=subject, requester=customer, body="x", group=support, priority=priority)


def inbox_refs(html: str) -> list[str]:
    return re.findall(r'data-reference="([A-Z0-9]+)"', html)


def test_it_sorts_by_next_sla_due_and_badges_every_row(clock, standard, customer, support, agent):
    low = make(customer, support, "low", "low")
    urgent = make(customer, support, "urgent", "urgent")
    answered = make(customer, support, "answered")
    drain()
    ticket_reply(ticket=answered, author=agent, body="hi", status="pending")  # nothing running
    normal = make(customer, support, "normal")
    drain()
    clock.shift(timedelta(minutes=70))
    tick()
    html = client_for(agent).get("/desk/views/my-groups/?sort=sla_due_at").content.decode()
    assert inbox_refs(html) == [urgent.reference, normal.reference, low.reference, answered.reference]
    assert "Overdue 10 min" in html  # the urgent one: 60 minutes target
    assert "2 h 50 left" in html  # normal: 240 minutes
    assert html.count('class="sla-badge') == 3


def test_it_pages_through_the_sla_order_with_stable_queries(clock, standard, customer, support, agent):
    for i in range(7):
        make(customer, support, f"t{i}", ["low", "normal", "high", "urgent"][i % 4])
    drain()
    client = client_for(agent)
    with CaptureQueriesContext(connection) as first:
        page = client.get("/desk/views/my-groups/?sort=sla_due_at")
    seen = inbox_refs(page.content.decode())
    assert len(seen) == 7
    for i in range(30):
        make(customer, support, f"more{i}")
    drain()
    with CaptureQueriesContext(connection) as more:
        page = client.get("/desk/views/my-groups/?sort=sla_due_at")
    assert len(more.captured_queries) <= len(first.captured_queries) + 1  # the second segment's walk
    html = page.content.decode()
    following = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    second = inbox_refs(client.get(f"/desk/views/my-groups/{following}").content.decode())
    assert len(inbox_refs(html)) == 25 and len(second) == 12
    assert not set(second) & set(inbox_refs(html))


def test_it_shows_each_timer_on_the_ticket_page(clock, standard, ticket, agent, outsider):
    drain()
    page = client_for(agent).get(f"/desk/tickets/{ticket.reference}/").content.decode()
    assert f'hx-get="/desk/tickets/{ticket.reference}/sla/"' in page
    assert "SLA: first response started (Standard, normal, 240 business min)" in page  # the timeline
    clock.shift(timedelta(minutes=30))
    ticket_set_priority(ticket=ticket, actor=agent, priority="high")
    ticket_reply(ticket=ticket, author=agent, body="wait", status="pending")
    drain()
    panel = client_for(agent).get(f"/desk/tickets/{ticket.reference}/sla/").content.decode()
    assert 'data-metric="first_response" data-state="met"' in panel
    assert 'data-metric="resolution" data-state="paused"' in panel
    assert "Target 960 business min (Standard, high)" in panel
    assert "used 30 min" in panel
    assert client_for(outsider).get(f"/desk/tickets/{ticket.reference}/sla/").status_code == 404


def test_it_renders_the_report_with_an_svg_chart(clock, standard, ticket, agent):
    drain()
    ticket_reply(ticket=ticket, author=agent, body="hi")
    drain()
    response = client_for(agent).get("/desk/reports/sla/?from=2026-03-01&to=2026-03-02")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in html and "<script" not in html.split("<main", 1)[1].split("</main>")[0]
    assert 'data-row="Standard"' in html and "100 % (1/1)" in html
    assert "Expedited tickets (CSV)" not in html  # admins only
