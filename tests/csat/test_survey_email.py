"""The survey email: automatic mail with two signed links, built once, within the ceilings."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest
import time_machine

from frontdesk.core.clock import clock_tick
from frontdesk.csat.models import Survey
from frontdesk.mail.models import OutboundKind, OutboundMessage, OutboundStatus
from frontdesk.mail.survey_mail import outbound_queue_survey
from frontdesk.tickets.models import EventKind, Status
from frontdesk.tickets.services import ticket_set_status
from tests.conftest import run_tasks

from .helpers import LINK, T0, send_survey, solve, tokens


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.mark.django_db
def test_it_emails_good_and_bad_links_as_automatic_mail(ticket, agent, frozen):
    solve(ticket, agent)
    frozen.move_to(T0 + timedelta(hours=1))

    outbound = send_survey(ticket)

    assert outbound.recipient == "maria@example.net" and outbound.to_addresses == ["maria@example.net"]
    assert outbound.kind == OutboundKind.AUTOMATIC and outbound.auto_submitted == "auto-generated"
    assert outbound.subject == f"How did we do? [#{ticket.reference}]"
    links = tokens(outbound)
    assert links["good"] != links["bad"]
    assert "Good, I'm satisfied" in outbound.body_text and "Bad, I'm not satisfied" in outbound.body_text
    survey = Survey.objects.get(ticket=ticket)
    assert survey.links_issued_at is not None and len(survey.nonce_hash) == 64
    assert links["good"] not in survey.nonce_hash  # only a hash of the nonce is stored


@pytest.mark.django_db
def test_it_builds_the_email_once_when_mail_runs_twice(ticket, agent, frozen):
    solve(ticket, agent)
    frozen.move_to(T0 + timedelta(hours=1))
    assert send_survey(ticket) is not None

    event = ticket.events.get(kind=EventKind.SURVEY)
    assert outbound_queue_survey(event_id=event.pk) is None
    assert OutboundMessage.objects.filter(ticket=ticket, kind=OutboundKind.AUTOMATIC).count() == 1


@pytest.mark.django_db
def test_it_holds_the_survey_back_over_the_automatic_mail_ceiling(ticket, agent, frozen, settings):
    settings.FRONTDESK_AUTOREPLY_PER_HOUR = 0
    solve(ticket, agent)
    frozen.move_to(T0 + timedelta(hours=1))

    assert send_survey(ticket) is None
    assert not OutboundMessage.objects.filter(ticket=ticket).exists()
    delivery = ticket.events.get(kind=EventKind.DELIVERY)
    assert delivery.after["status"] == "suppressed" and delivery.after["kind"] == "survey"


@pytest.mark.django_db(transaction=True)
def test_it_reaches_the_outbox_through_the_clock_and_the_worker(ticket, agent, frozen, settings, tmp_path):
    settings.FRONTDESK_HOME = tmp_path
    settings.FRONTDESK_SMTP_URL = ""
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    run_tasks()  # the status subscription makes the survey due
    assert Survey.objects.get(ticket=ticket).send_at == T0 + timedelta(hours=1)

    frozen.move_to(T0 + timedelta(minutes=59))
    assert clock_tick() == 0
    frozen.move_to(T0 + timedelta(hours=1))
    assert clock_tick() == 1
    run_tasks()

    outbound = OutboundMessage.objects.get(ticket=ticket, kind=OutboundKind.AUTOMATIC)
    assert outbound.status == OutboundStatus.SENT
    [path] = (tmp_path / "outbox").glob(f"*-{outbound.public_id.hex}.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["Auto-Submitted"] == "auto-generated"
    assert len(LINK.findall(message.get_body(("plain",)).get_content())) == 2


@pytest.mark.django_db(transaction=True)
def test_it_hands_a_bad_rating_to_followups_for_the_group_lead(ticket, agent, admin, customer, support):
    from frontdesk.csat.services import rating_record
    from frontdesk.followups.models import FollowUp

    support.lead = admin
    support.save()
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    rating_record(ticket=ticket, customer=customer, score="bad", comment="Nobody called back")
    run_tasks()  # the satisfaction subscription: followups' followup_after_bad_rating

    follow_up = FollowUp.objects.get(ticket=ticket)
    assert follow_up.owner == admin and "Nobody called back" in follow_up.note
