"""Helpers of the satisfaction tests (personas are in tests/conftest.py)."""

from __future__ import annotations

import re
from datetime import datetime

from frontdesk.csat.models import Survey
from frontdesk.csat.services import survey_schedule, survey_send_if_due
from frontdesk.mail.models import OutboundMessage
from frontdesk.mail.survey_mail import outbound_queue_survey
from frontdesk.tickets.models import EventKind, Status, TicketEvent
from frontdesk.tickets.services import ticket_set_status

T0 = datetime.fromisoformat("2026-03-02T09:00:00+00:00")
LINK = re.compile(r"https?://\S+/c/rate/(\S+)/")


def solve(ticket, actor) -> TicketEvent:
    """Solve ``ticket`` as ``actor`` and run what the ``status`` subscription runs."""
    ticket_set_status(ticket=ticket, actor=actor, status=Status.SOLVED)
    event = ticket.events.filter(kind=EventKind.STATUS).latest("id")
    survey_schedule(event_id=event.pk)
    return event


def send_survey(ticket) -> OutboundMessage | None:
    """The clock's task and mail's task, in order: the survey email of ``ticket``."""
    survey = Survey.objects.get(ticket=ticket)
    survey_send_if_due(survey_id=survey.pk)
    event = ticket.events.filter(kind=EventKind.SURVEY).latest("id")
    return outbound_queue_survey(event_id=event.pk)


def tokens(outbound: OutboundMessage) -> dict[str, str]:
    """{"good": token, "bad": token} from a survey email."""
    good, bad = LINK.findall(outbound.body_text)
    return {"good": good, "bad": bad}
