"""Mail of a ticket: what came in (with the raw original) and what went out, with status."""

from __future__ import annotations

from datetime import datetime

from django.http import FileResponse
from ninja import Router, Schema

from frontdesk.tickets.selectors import ticket_get_for_agent

from . import selectors
from .models import spool_dir

router = Router(tags=["email"])


class InboundOut(Schema):
    id: int
    received_at: datetime
    from_address: str
    subject: str
    status: str
    automated: str
    message_id: str
    flags: list[str]
    ticket_message_id: int | None
    raw_url: str


class OutboundOut(Schema):
    id: int
    kind: str
    created_at: datetime
    to: list[str]
    cc: list[str]
    subject: str
    status: str
    attempts: int
    last_error: str
    sent_at: datetime | None
    message_id: str
    ticket_message_id: int | None


class TicketEmailsOut(Schema):
    inbound: list[InboundOut]
    outbound: list[OutboundOut]


@router.get("/tickets/{reference}/emails", response=TicketEmailsOut)
def ticket_emails(request, reference: str):
    """The ticket's mail in and out (to customers); agent notification mail is not listed."""
    ticket = ticket_get_for_agent(agent=request.auth, reference=reference)
    return {
        "inbound": [
            {"id": m.pk, "received_at": m.received_at, "from_address": m.from_address, "subject": m.subject,
             "status": m.status, "automated": m.automated, "message_id": m.message_id,
             "flags": [f for f in m.flags if not f.startswith("content:")],
             "ticket_message_id": m.ticket_message_id, "raw_url": f"/api/v1/inbound/{m.pk}/raw"}
            for m in selectors.ticket_inbound(ticket=ticket)
        ],
        "outbound": [
            {"id": m.pk, "kind": m.kind, "created_at": m.created_at, "to": m.to_addresses, "cc": m.cc_addresses,
             "subject": m.subject, "status": m.status, "attempts": m.attempts, "last_error": m.last_error,
             "sent_at": m.sent_at, "message_id": m.message_id, "ticket_message_id": m.ticket_message_id}
            for m in selectors.ticket_outbound(ticket=ticket)
        ],
    }


@router.get("/inbound/{inbound_id}/raw", response={200: None})
def inbound_raw(request, inbound_id: int):
    """The original message exactly as received, as a download."""
    inbound = selectors.inbound_get_for_agent(agent=request.auth, inbound_id=inbound_id)
    response = FileResponse(
        (spool_dir() / inbound.spool_name).open("rb"), as_attachment=True,
        filename=f"message-{inbound.pk}.eml", content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
