"""An approver who answers the approval email (Reply-To: our no-reply address) quotes their
signed link: the answer is kept raw and flagged, but never becomes a ticket that other agents
could read, and nobody is sent an acknowledgement."""

from __future__ import annotations

import pytest

from frontdesk.goodwill.services import gesture_grant
from frontdesk.mail.models import InboundMessage, InboundStatus, OutboundMessage
from frontdesk.tickets.models import Ticket
from tests.conftest import run_tasks
from tests.mail.conftest import listener  # noqa: F401  (the real SMTP listener fixture)
from tests.mail.helpers import mail, send

pytestmark = pytest.mark.django_db(transaction=True)


def approval_mail(relay, supervisor):
    [message] = [m for m in relay.messages() if m["To"] == supervisor.email]
    return message


@pytest.mark.parametrize("threaded", [True, False], ids=["reply", "new-message"])
def test_it_keeps_an_answer_to_the_no_reply_address_out_of_every_ticket(
        relay, listener, ticket, agent, supervisor, credit, threaded):  # noqa: F811
    gesture_grant(ticket=ticket, agent=agent, gesture=credit, value="120", currency="EUR", reason="outage")
    run_tasks()
    approval = approval_mail(relay, supervisor)
    no_reply = approval["Reply-To"]
    link = approval.get_body(preferencelist=("plain",)).get_content()
    tickets_before, sent_before = Ticket.objects.count(), OutboundMessage.objects.count()

    extra = f"In-Reply-To: {approval['Message-ID']}\r\n" if threaded else ""
    send(listener, mail(subject=f"Re: {approval['Subject']}", message_id="<answer@example.com>",
                        sender=f"Sue Supervisor <{supervisor.email}>", to=no_reply,
                        body=f"Approved, I think.\n\n> {link}", extra=extra),
         mail_from=supervisor.email, to=(no_reply,))
    run_tasks()

    inbound = InboundMessage.objects.get(message_id="answer@example.com")
    assert inbound.status == InboundStatus.IGNORED and "sent_to_no_reply" in inbound.flags
    assert inbound.ticket_id is None
    assert Ticket.objects.count() == tickets_before
    assert OutboundMessage.objects.count() == sent_before  # no acknowledgement to anyone
    assert len([m for m in relay.messages() if m["To"] == supervisor.email]) == 1  # the approval only
