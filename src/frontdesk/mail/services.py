"""Entry points of the mail app used by the SMTP listener, the IMAP poller and the admin."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from frontdesk.core.tasks import enqueue_batch_on_commit, enqueue_on_commit

from .models import InboundMessage, InboundStatus, Mailbox

# Messages one processing task takes at most: while the workers are busy, new deliveries join
# the task still waiting, so a burst is processed in bulk (batch.py) with fewer tasks.
PROCESS_BATCH = 100


@dataclass(frozen=True)
class NewInbound:
    """One durably spooled delivery to record (``inbound_store_many``)."""

    spool_name: str
    sha256: str
    size: int
    envelope_from: str = ""
    envelope_to: Sequence[str] = ()
    peer: str = ""
    tls: bool = False
    source: str = "smtp"
    mailbox: Mailbox | None = None
    received_at: datetime | None = None
    message_id: str = ""


@transaction.atomic
def inbound_store_many(deliveries: Sequence[NewInbound]) -> list[InboundMessage]:
    """Record many deliveries and enqueue their processing in one transaction: all or none.
    The SMTP listener commits every delivery that arrived while the previous commit ran
    together (group commit: one write lock and one fsync for the lot)."""
    from .tasks import process_inbound

    rows = InboundMessage.objects.bulk_create([
        InboundMessage(
            spool_name=new.spool_name, sha256=new.sha256, size=new.size, envelope_from=new.envelope_from[:320],
            envelope_to=[address[:320] for address in new.envelope_to][:100], peer=new.peer[:100], tls=new.tls,
            source=new.source, mailbox=new.mailbox, received_at=new.received_at or timezone.now(),
            message_id=new.message_id,
        )
        for new in deliveries
    ])
    if rows:  # one task for the lot (joining one still waiting): processed in arrival order
        enqueue_batch_on_commit(process_inbound, key="inbound_ids", items=[inbound.pk for inbound in rows],
                                limit=PROCESS_BATCH)
    return rows


@transaction.atomic
def inbound_reprocess(*, inbound: InboundMessage) -> None:
    """Queue a failed (or any) message for processing again, e.g. after a parser fix."""
    InboundMessage.objects.filter(pk=inbound.pk).update(status=InboundStatus.RECEIVED, error="")
    from .tasks import process_inbound

    enqueue_on_commit(process_inbound, inbound_ids=[inbound.pk])
