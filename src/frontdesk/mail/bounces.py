"""Delivery reports (RFC 3464) and mail to our VERP return paths: they update the outbound
message they are about, never open a ticket, and are never answered."""

from __future__ import annotations

from django.utils import timezone

from frontdesk.customers.services import contact_point_mark_undeliverable
from frontdesk.tickets.models import EventKind
from frontdesk.tickets.timeline import record_event

from .addresses import outbound_id_from_verp
from .models import InboundMessage, OutboundMessage, OutboundStatus
from .parsing import ParsedMail


def _outbound_for(inbound: InboundMessage, mail: ParsedMail) -> OutboundMessage | None:
    for address in [*inbound.envelope_to, *mail.to]:
        if outbound_id := outbound_id_from_verp(address):
            return OutboundMessage.objects.select_related("ticket").filter(pk=outbound_id).first()
    report = mail.delivery_report
    if report and report.original_message_id:
        return OutboundMessage.objects.select_related("ticket").filter(
            message_id=report.original_message_id).first()
    return None


def is_delivery_report(*, inbound: InboundMessage, mail: ParsedMail) -> bool:
    """A delivery report, or mail to one of our bounce (VERP) addresses. No query."""
    return mail.delivery_report is not None or any(
        outbound_id_from_verp(a) for a in [*inbound.envelope_to, *mail.to])


def handle_delivery_report(*, inbound: InboundMessage, mail: ParsedMail) -> bool:
    """True when this mail is a delivery report or was sent to a bounce address (handled here)."""
    if not is_delivery_report(inbound=inbound, mail=mail):
        return False
    report = mail.delivery_report
    outbound = _outbound_for(inbound, mail)
    if outbound is None or report is None:
        return True  # kept and visible, but nothing to correlate or nothing reported
    failed = [r for r in report.recipients if r.action == "failed"]
    delayed = [r for r in report.recipients if r.action == "delayed"]
    if not failed and not delayed:
        return True
    status = OutboundStatus.BOUNCED if failed else OutboundStatus.DELAYED
    detail = "; ".join(f"{r.final_recipient} {r.status} {r.diagnostic}"[:200] for r in failed or delayed)
    OutboundMessage.objects.filter(pk=outbound.pk).update(
        status=status, last_error=detail[:1000],
        bounced_at=timezone.now() if failed else None,
    )
    if report.permanent:
        for recipient in failed:
            contact_point_mark_undeliverable(email=recipient.final_recipient)
    record_event(
        ticket=outbound.ticket, kind=EventKind.DELIVERY, actor="mail", before=outbound.status,
        after={"status": status, "to": outbound.to_addresses, "kind": outbound.kind,
               "message_id": outbound.message_id, "error": detail[:200]},
    )
    inbound.ticket_id = outbound.ticket_id
    return True
