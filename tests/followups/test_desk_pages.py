"""The workspace side: the ticket page's follow-up panel, the Follow-ups page, snoozed
tickets out of the inbox and in the Snoozed view, the settings page, timeline lines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from frontdesk.followups.models import FollowUp, LadderPolicy, LadderScope, Resolution, ResolutionKind, Snooze
from frontdesk.followups.services import followup_create, ticket_snooze
from frontdesk.tickets.models import Status
from frontdesk.tickets.services import ticket_receive_customer_message, ticket_set_status
from tests.desk.conftest import client_for

from .conftest import MONDAY, settle

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_schedules_a_follow_up_from_the_ticket_panel(clock, ticket, agent):
    client = client_for(agent)
    page = client.get(f"/desk/tickets/{ticket.reference}/")
    assert f"/desk/tickets/{ticket.reference}/follow-ups/" in page.content.decode()
    panel = client.get(f"/desk/tickets/{ticket.reference}/follow-ups/", HTTP_HX_REQUEST="true")
    assert "Schedule follow-up" in panel.content.decode()

    past = client.post(f"/desk/tickets/{ticket.reference}/follow-ups/",
                       {"kind": "reminder", "due_at": "2026-11-22T09:00", "note": "x", "owner": agent.pk},
                       HTTP_HX_REQUEST="true")
    assert past.status_code == 200 and "in the past" in past.content.decode()
    made = client.post(f"/desk/tickets/{ticket.reference}/follow-ups/",
                       {"kind": "reminder", "due_at": "2026-11-27T09:00", "note": "Call the depot",
                        "owner": agent.pk}, HTTP_HX_REQUEST="true")
    assert "Follow-up scheduled." in made.content.decode()
    assert FollowUp.objects.get().due_at == MONDAY.replace(day=27, hour=9)


def test_it_prefills_the_form_from_a_promise_in_the_reply(clock, ticket, agent):
    answer = client_for(agent).post(f"/desk/tickets/{ticket.reference}/follow-ups/promise/",
                                    {"body": "Thanks! I'll update you by Friday once the depot replies."},
                                    HTTP_HX_REQUEST="true")
    html = answer.content.decode()
    assert 'value="2026-11-27T09:00"' in html  # Monday 23 → Friday 27, 09:00
    assert "I&#x27;ll update you by Friday" in html or "I'll update you by Friday" in html


def test_it_snoozes_from_the_page_and_lists_snoozed_tickets_apart(clock, ticket, agent):
    client = client_for(agent)
    client.post(f"/desk/tickets/{ticket.reference}/snooze/", {"until": "2026-11-24T09:00", "note": "courier"},
                HTTP_HX_REQUEST="true")
    assert Snooze.objects.filter(ticket=ticket).exists()
    assert ticket.reference not in client.get("/desk/views/my-groups/").content.decode()
    assert ticket.reference in client.get("/desk/views/snoozed/").content.decode()
    client.post(f"/desk/tickets/{ticket.reference}/snooze/", {"wake": "1"}, HTTP_HX_REQUEST="true")
    assert ticket.reference in client.get("/desk/views/my-groups/").content.decode()


def test_it_shows_due_and_upcoming_follow_ups_and_hides_others_tickets(clock, ticket, agent, outsider):
    followup_create(ticket=ticket, created_by=agent, due_at=MONDAY + timedelta(hours=1), note="Soon")
    followup_create(ticket=ticket, created_by=agent, due_at=MONDAY + timedelta(days=3), note="Later")
    clock.move_to(MONDAY + timedelta(hours=2))
    mine = client_for(agent).get("/desk/follow-ups/").content.decode()
    assert "Soon" in mine and "Later" in mine and 'aria-current="page">Follow-ups' in mine
    team = client_for(outsider).get("/desk/follow-ups/?scope=team").content.decode()
    assert "Soon" not in team
    [soon] = FollowUp.objects.filter(note="Soon")
    assert client_for(outsider).post(f"/desk/follow-ups/{soon.pk}/done/").status_code == 404
    client_for(agent).post(f"/desk/follow-ups/{soon.pk}/done/")
    soon.refresh_from_db()
    assert soon.state == "done"


def test_it_suggests_solving_as_confirmed_when_the_customer_says_so(clock, ticket, agent, customer):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.PENDING)
    clock.move_to(MONDAY + timedelta(hours=1))
    ticket_receive_customer_message(ticket=ticket, customer=customer, body="Thanks, that fixed it!\n\n> old text")
    client = client_for(agent)
    panel = client.get(f"/desk/tickets/{ticket.reference}/follow-ups/", HTTP_HX_REQUEST="true").content.decode()
    assert "The customer seems to confirm it" in panel and "Solve as confirmed" in panel
    answer = client.post(f"/desk/tickets/{ticket.reference}/solve-confirmed/", HTTP_HX_REQUEST="true")
    assert answer.status_code == 204
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED
    assert Resolution.objects.get(ticket=ticket).kind == ResolutionKind.CONFIRMED
    settle()
    page = client.get(f"/desk/tickets/{ticket.reference}/").content.decode()
    assert "recorded the resolution: confirmed by customer" in page


def test_it_links_a_follow_up_ticket_to_the_closed_one(clock, ticket, agent, customer):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    ticket_set_status(ticket=ticket, actor=agent, status=Status.CLOSED)
    message = ticket_receive_customer_message(ticket=ticket, customer=customer, body="It broke again")
    page = client_for(agent).get(f"/desk/tickets/{message.ticket.reference}/").content.decode()
    assert f'href="/desk/tickets/{ticket.reference}/#ticket-timeline"' in page


def test_it_lets_only_admins_open_the_settings_page(clock, agent, admin):
    assert client_for(agent).get("/desk/settings/follow-ups/").status_code == 404
    client = client_for(admin)
    assert "Waiting on the customer" in client.get("/desk/settings/follow-ups/").content.decode()
    client.post("/desk/settings/follow-ups/", {"section": "ladder_add", "scope": "plan", "plan": "gold",
                                               "enabled": "1", "first_reminder_days": "1",
                                               "second_reminder_days": "0", "solve_after_days": "3"})
    assert LadderPolicy.objects.filter(scope=LadderScope.PLAN, plan="gold", solve_after_days=3).exists()
    client.post("/desk/settings/follow-ups/", {"section": "closing", "close_solved_after_hours": "12"})
    assert "Now: 12 hours" in client.get("/desk/settings/follow-ups/").content.decode()
    refused = client.post("/desk/settings/follow-ups/", {"section": "ladder_add", "scope": "plan", "plan": "x",
                                                         "first_reminder_days": "5", "second_reminder_days": "2"})
    assert refused.status_code == 400


def test_it_describes_snoozes_in_the_timeline(clock, ticket, agent):
    ticket_snooze(ticket=ticket, agent=agent, until=MONDAY + timedelta(days=1), note="courier")
    page = client_for(agent).get(f"/desk/tickets/{ticket.reference}/").content.decode()
    assert "snoozed the ticket until Tue 24 Nov, 10:00 (courier)" in page
