"""Entry points of the mail app used by the SMTP listener, the IMAP poller and the admin."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from frontdesk.core.tasks import enqueue_on_commit

from .models import InboundMessage, InboundStatus, Mailbox


@transaction.atomic
def inbound_store(
    *,
    spool_name: str,
    sha256: str,
    size: int,
    envelope_from: str = "",
    envelope_to: Sequence[str] = (),
    peer: str = "",
    tls: bool = False,
    source: str = "smtp",
    mailbox: Mailbox | None = None,
    received_at: datetime | None = None,
    message_id: str = "",
) -> InboundMessage:
    """Record a raw message already durably in the spool and enqueue its processing, in one
    transaction. Only after this returns may the sender be told "250": the row and its task
    exist together or not at all."""
    inbound = InboundMessage.objects.create(
        spool_name=spool_name, sha256=sha256, size=size, envelope_from=envelope_from[:320],
        envelope_to=[address[:320] for address in envelope_to][:100], peer=peer[:100], tls=tls,
        source=source, mailbox=mailbox, received_at=received_at or timezone.now(), message_id=message_id,
    )
    from .tasks import process_inbound

    enqueue_on_commit(process_inbound, inbound_id=inbound.pk)
    return inbound


@transaction.atomic
def inbound_reprocess(*, inbound: InboundMessage) -> None:
    """Queue a failed (or any) message for processing again, e.g. after a parser fix."""
    InboundMessage.objects.filter(pk=inbound.pk).update(status=InboundStatus.RECEIVED, error="")
    from .tasks import process_inbound

    enqueue_on_commit(process_inbound, inbound_id=inbound.pk)
