"""The satisfaction survey email: two signed links, "Good" and "Bad" (frontdesk.csat).

Mail learns a survey is due from the ticket's ``survey`` event (subscriptions.py) and builds
the email here; csat never imports mail. Automatic mail (``Auto-Submitted: auto-generated``),
to the requester alone, within the per-address ceilings of automatic mail.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from frontdesk.core.text import single_line
from frontdesk.csat.models import Survey
from frontdesk.csat.services import survey_issue_links
from frontdesk.tickets.models import EventKind, TicketEvent
from frontdesk.tickets.timeline import record_event

from .models import OutboundKind, OutboundMessage
from .outbound import _automatic_mail_sent, _queue, _within_address_ceilings, reply_recipients, ticket_inbox

logger = logging.getLogger(__name__)

SURVEY_TEXT = (
    "Hello {name},\n\n"
    "We have solved your request {reference} (\"{subject}\"). How did we do?\n\n"
    "Good, I'm satisfied:\n{good}\n\n"
    "Bad, I'm not satisfied:\n{bad}\n\n"
    "One click is enough; you can add a comment on the page that opens, and change your answer later.\n\n"
    "{inbox}"
)


def survey_url(token: str) -> str:
    return settings.FRONTDESK_BASE_URL + reverse("portal-survey", args=[token])


@transaction.atomic
def outbound_queue_survey(*, event_id: int) -> OutboundMessage | None:
    """Email the survey of a ``survey`` event. Its links are issued once (a conditional update
    on the survey, in this transaction), so running this twice queues one email. Held back by
    the automatic-mail ceilings: a ``suppressed`` delivery event, and no email."""
    event = TicketEvent.objects.select_related("ticket__requester").filter(pk=event_id, kind=EventKind.SURVEY).first()
    survey_id = (event.after or {}).get("survey") if event else None
    survey = Survey.objects.select_for_update().filter(pk=survey_id).first() if survey_id else None
    if survey is None:
        return None
    ticket = event.ticket
    tokens = survey_issue_links(survey=survey)
    if tokens is None:
        return None  # already emailed (or being emailed by the run that issued them)
    to, _, _ = reply_recipients(ticket)
    if not to:
        logger.info("ticket %s: no deliverable email address; survey not mailed", ticket.reference)
        return None
    if not _within_address_ceilings(_automatic_mail_sent(ticket=ticket, address=to[0])):
        logger.warning("survey to %s on ticket %s suppressed by rate limit", to[0], ticket.reference)
        record_event(
            ticket=ticket, kind=EventKind.DELIVERY, actor="mail",
            after={"status": "suppressed", "to": to[:1], "kind": "survey",
                   "error": "automatic-mail rate limit for this address"},
        )
        return None
    inbox = ticket_inbox(ticket)
    body = SURVEY_TEXT.format(
        name=ticket.requester.name or "there", reference=ticket.reference, subject=ticket.subject,
        good=survey_url(tokens.good), bad=survey_url(tokens.bad),
        inbox=(inbox.from_name or inbox.name) if inbox else "Support",
    )
    return _queue(
        ticket=ticket, kind=OutboundKind.AUTOMATIC, to=to[0], body_text=body, auto_submitted="auto-generated",
        subject=single_line(f"How did we do? [#{ticket.reference}]", max_length=300), inbox=inbox,
    )
