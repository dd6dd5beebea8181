"""Email to agents: a notification asked for by email (``notify_agents(email=True)``, e.g. an
approval request with its signed link, its reminders and escalation) goes out on the same
path as every email to customers — an ``OutboundMessage`` delivered by ``deliver_outbound``
through the relay or into the outbox, retried, its delivery on the ticket's timeline.

It is filed on the notification's ticket but is not part of the customer's conversation: no
thread headers, no conversation link, a no-reply Reply-To (agents act on the desk, not by
answering mail), ``Auto-Submitted: auto-generated`` (no out-of-office replies), and none of
the customer-facing ceilings of automatic mail (they guard against loops with customers'
auto-responders; these go to our own people, at most once per notification).
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.db import transaction

from frontdesk.core.tasks import enqueue_on_commit
from frontdesk.core.text import single_line
from frontdesk.notifications.models import Notification

from .addresses import mail_domain, no_reply_address
from .models import OutboundKind, OutboundMessage
from .outbound import default_from_address, ticket_inbox

logger = logging.getLogger(__name__)

AGENT_TEXT = "Hello {name},\n\n{text}\n{detail}\nOpen it here:\n{url}\n\nTicket {reference}: \u201c{subject}\u201d\n"


def notification_url(notification: Notification) -> str:
    """The notification's link, absolute (the desk's links are paths)."""
    link = notification.link
    return settings.FRONTDESK_BASE_URL + link if link.startswith("/") else link


@transaction.atomic
def outbound_queue_agent_notification(*, notification_id: int) -> OutboundMessage | None:
    """Queue the email of one notification to its agent. Safe to run twice (the notification
    row is locked, and it has at most one email); nothing for an inactive agent."""
    notification = (
        Notification.objects.select_for_update(of=("self",)).select_related("agent", "ticket")
        .filter(pk=notification_id).first()
    )
    if notification is None or notification.ticket is None or not notification.agent.is_active:
        return None
    if OutboundMessage.objects.filter(notification=notification).exists():
        return None
    agent, ticket = notification.agent, notification.ticket
    inbox = ticket_inbox(ticket)
    body = AGENT_TEXT.format(
        name=agent.name or agent.email, text=notification.text,
        detail=f"\n{notification.detail}\n" if notification.detail else "",
        url=notification_url(notification), reference=ticket.reference, subject=ticket.subject,
    )
    public_id = uuid.uuid4()
    outbound = OutboundMessage.objects.create(
        public_id=public_id, ticket=ticket, inbox=inbox, kind=OutboundKind.AGENT, notification=notification,
        auto_submitted="auto-generated", from_address=inbox.address if inbox else default_from_address(),
        from_name="Frontdesk", reply_to=no_reply_address(), recipient=agent.email,
        to_addresses=[agent.email], subject=single_line(notification.text, max_length=300), body_text=body,
        message_id=f"{public_id.hex}@{mail_domain()}",
    )
    from .tasks import deliver_outbound

    enqueue_on_commit(deliver_outbound, outbound_id=outbound.pk)
    return outbound
