"""Tickets: list, read, create, and every change, over the same services as the workspace.

Tickets are addressed by their public reference. A ticket the caller may not see answers
404, exactly like one that does not exist.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Literal

from ninja import Field, Query, Router, Schema, Status
from pydantic import field_validator

from frontdesk.accounts.permissions import check_full_agent
from frontdesk.accounts.selectors import agent_get, group_get
from frontdesk.core.errors import InvalidInput
from frontdesk.core.schemas import StrictIn
from frontdesk.customers.selectors import customer_get

from . import selectors, services
from .attachments import NewAttachment, download_response
from .models import Attachment, Message, Ticket, TicketEvent

router = Router(tags=["tickets"])

StatusName = Literal["new", "open", "pending", "on_hold", "solved", "closed"]
PriorityName = Literal["low", "normal", "high", "urgent"]
ChannelName = Literal["email", "web", "portal", "chat", "phone", "sms", "social", "api", "internal"]
Body = Field(max_length=services.MAX_BODY_CHARS)
BodyHtml = Field(default=None, max_length=2 * services.MAX_BODY_CHARS)
Tags = Field(default_factory=list, max_length=services.MAX_TAGS)


# ---- schemas ---------------------------------------------------------------------------

class PersonRef(Schema):
    id: int
    name: str
    email: str


class GroupRef(Schema):
    id: int
    name: str
    tier: int


class TicketOut(Schema):
    reference: str
    subject: str
    status: StatusName
    priority: PriorityName
    channel: ChannelName
    requester: PersonRef
    organization_id: int | None
    group: GroupRef | None
    assignee: PersonRef | None
    tags: list[str]
    merged_into: str | None
    follow_up_of: str | None
    created_at: datetime
    updated_at: datetime
    solved_at: datetime | None
    closed_at: datetime | None


class AttachmentOut(Schema):
    id: str
    filename: str
    content_type: str
    size: int
    url: str


class MessageOut(Schema):
    id: int
    ticket: str
    visibility: Literal["public", "internal"]
    author_type: Literal["agent", "customer", "system"]
    author: PersonRef | None
    automatic: str | None = None  # the purpose of a message Frontdesk wrote itself (author_type "system")
    channel: ChannelName
    body_text: str
    body_html: str
    attachments: list[AttachmentOut]
    created_at: datetime


class EventOut(Schema):
    id: int
    kind: str
    actor: str
    actor_type: Literal["agent", "customer", "system"]
    before: object | None
    after: object | None
    message_id: int | None
    created_at: datetime


class TicketDetailOut(TicketOut):
    ccs: list[PersonRef]
    messages: list[MessageOut]
    timeline: list[EventOut]


class TicketPage(Schema):
    items: list[TicketOut]
    next_cursor: str | None


class AttachmentIn(StrictIn):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(default="", max_length=127)
    content_base64: str = Field(min_length=1, max_length=36 * 1024 * 1024)


Attachments = Field(default_factory=list, max_length=20)


class TicketIn(StrictIn):
    """A new ticket. Name the requester by ``requester_id`` or by ``requester_email`` (found or
    created). By default the body is the customer's first message; with ``from_agent`` it is
    the agent's public reply (an agent opening a ticket for a customer)."""

    subject: str = Field(min_length=1, max_length=250)
    body: str = Body
    body_html: str | None = BodyHtml
    requester_id: int | None = None
    requester_email: str | None = Field(default=None, max_length=254)
    requester_name: str = Field(default="", max_length=200)
    from_agent: bool = False
    channel: ChannelName = "api"
    priority: PriorityName = "normal"
    group_id: int | None = None
    assignee_id: int | None = None
    tags: list[str] = Tags
    attachments: list[AttachmentIn] = Attachments


class ReplyIn(StrictIn):
    body: str = Body
    body_html: str | None = BodyHtml
    attachments: list[AttachmentIn] = Attachments
    status: StatusName | None = Field(default=None, description="Set this status in the same step.")


class NoteIn(StrictIn):
    body: str = Body
    body_html: str | None = BodyHtml
    attachments: list[AttachmentIn] = Attachments


class CustomerMessageIn(StrictIn):
    """A message written by the requester and delivered by an integration or channel."""

    body: str = Body
    body_html: str | None = BodyHtml
    channel: ChannelName = "api"
    attachments: list[AttachmentIn] = Attachments


class AssignIn(StrictIn):
    """Send ``group_id`` and/or ``assignee_id``; ``null`` clears, an omitted field is kept."""

    group_id: int | None = None
    assignee_id: int | None = None


class StatusIn(StrictIn):
    status: StatusName


class PriorityIn(StrictIn):
    priority: PriorityName


class TagsIn(StrictIn):
    add: list[str] = Tags
    remove: list[str] = Tags


class CcsIn(StrictIn):
    """The complete list of CCs, by email address (customers found or created); ``[]`` clears."""

    emails: list[Annotated[str, Field(max_length=254)]] = Field(max_length=services.MAX_CCS)


class CcsOut(Schema):
    reference: str
    ccs: list[PersonRef]


class MergeIn(StrictIn):
    into: str = Field(min_length=1, max_length=16, description="Reference of the target ticket.")


class TicketQuery(Schema):
    status: list[StatusName] | None = None
    priority: list[PriorityName] | None = None
    channel: list[ChannelName] | None = None
    group_id: int | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    tag: str | None = Field(default=None, max_length=50)
    requester_id: int | None = None
    organization_id: int | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    sort: Literal["-updated_at", "updated_at", "-created_at", "created_at"] = "-updated_at"

    @field_validator("created_after", "created_before", "updated_after", "updated_before")
    @classmethod
    def _storable(cls, value: datetime | None) -> datetime | None:
        return value if value is None else selectors.check_date_range(value)
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=25, ge=1, le=100)


# ---- conversions -----------------------------------------------------------------------

def person(agent_or_customer) -> dict | None:
    if agent_or_customer is None:
        return None
    email = getattr(agent_or_customer, "email", None)
    if email is None:
        email = agent_or_customer.primary_email
    return {"id": agent_or_customer.pk, "name": agent_or_customer.name, "email": email}


def ticket_out(ticket: Ticket) -> dict:
    """A ticket row, from a ticket annotated by ``selectors.with_list_columns``."""
    requester = ticket.requester
    return {
        "reference": ticket.reference, "subject": ticket.subject, "status": ticket.status,
        "priority": ticket.priority, "channel": ticket.channel,
        "requester": {"id": requester.pk, "name": requester.name, "email": ticket.requester_email or ""},
        "organization_id": ticket.organization_id,
        "group": (
            {"id": ticket.group.pk, "name": ticket.group.name, "tier": ticket.group.tier}
            if ticket.group else None
        ),
        "assignee": person(ticket.assignee),
        "tags": sorted(tag.name for tag in ticket.tags.all()),
        "merged_into": ticket.merged_into_reference,
        "follow_up_of": ticket.follow_up_of_reference,
        "created_at": ticket.created_at, "updated_at": ticket.updated_at,
        "solved_at": ticket.solved_at, "closed_at": ticket.closed_at,
    }


def attachment_out(attachment: Attachment) -> dict:
    return {
        "id": str(attachment.public_id), "filename": attachment.filename,
        "content_type": attachment.content_type, "size": attachment.size,
        "url": f"/api/v1/attachments/{attachment.public_id}",
    }


def message_out(message: Message) -> dict:
    return {
        "id": message.pk, "ticket": message.ticket.reference, "visibility": message.visibility,
        "author_type": "agent" if message.author_agent_id else "customer" if message.author_customer_id else "system",
        "author": person(message.author), "automatic": message.automatic or None, "channel": message.channel,
        "body_text": message.body_text, "body_html": message.body_html,
        "attachments": [attachment_out(a) for a in message.attachments.all()],
        "created_at": message.created_at,
    }


def event_out(event: TicketEvent) -> dict:
    actor_type = "agent" if event.actor_agent_id else "customer" if event.actor_customer_id else "system"
    return {
        "id": event.pk, "kind": event.kind, "actor": event.actor_label, "actor_type": actor_type,
        "before": event.before, "after": event.after, "message_id": event.message_id,
        "created_at": event.created_at,
    }


def ticket_detail_out(ticket: Ticket) -> dict:
    return {
        **ticket_out(ticket),
        "ccs": [person(c) for c in selectors.ticket_ccs(ticket=ticket)],
        "messages": [message_out(m) for m in selectors.ticket_messages(ticket=ticket)],
        "timeline": [event_out(e) for e in selectors.ticket_timeline(ticket=ticket)],
    }


def decode_attachments(items: list[AttachmentIn]) -> list[NewAttachment]:
    decoded = []
    for item in items:
        try:
            content = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput(f"Attachment {item.filename!r} is not valid base64.") from exc
        decoded.append(NewAttachment(filename=item.filename, content=content, content_type=item.content_type))
    return decoded


def _ticket(request, reference: str, *, write: bool = False) -> Ticket:
    return selectors.ticket_get_for_agent(agent=request.auth, reference=reference, write=write)


def _reloaded(ticket: Ticket) -> Ticket:
    """The ticket as it is now. Not re-filtered by visibility: the caller just created or
    changed it, and handing a ticket to another group must not answer 404."""
    return (
        selectors.with_list_columns(Ticket.objects.select_related("requester", "group", "assignee"))
        .prefetch_related("tags").get(pk=ticket.pk)
    )


def _fresh(ticket: Ticket) -> dict:
    return ticket_out(_reloaded(ticket))


# ---- endpoints -------------------------------------------------------------------------

@router.get("/tickets", response=TicketPage)
def list_tickets(request, query: Query[TicketQuery]):
    filters = selectors.TicketFilters(
        **query.model_dump(exclude={"sort", "cursor", "limit"})
    )
    rows, next_cursor = selectors.ticket_page(
        agent=request.auth, filters=filters, sort=query.sort, cursor=query.cursor, limit=query.limit
    )
    return {"items": [ticket_out(t) for t in rows], "next_cursor": next_cursor}


@router.post("/tickets", response={201: TicketDetailOut})
def create_ticket(request, payload: TicketIn):
    agent = request.auth
    check_full_agent(agent)
    if (payload.requester_id is None) == (payload.requester_email is None):
        raise InvalidInput("Give exactly one of requester_id and requester_email.")
    fields = dict(
        subject=payload.subject, body=payload.body, body_html=payload.body_html,
        channel=payload.channel, priority=payload.priority, tags=payload.tags,
        group=group_get(group_id=payload.group_id) if payload.group_id is not None else None,
        assignee=agent_get(agent_id=payload.assignee_id) if payload.assignee_id is not None else None,
        attachments=decode_attachments(payload.attachments),
        author=agent if payload.from_agent else None,  # None: the requester wrote it
    )
    if payload.requester_id is not None:
        ticket = services.ticket_create(requester=customer_get(customer_id=payload.requester_id), **fields)
    else:
        ticket = services.ticket_create_for_email(
            requester_email=payload.requester_email, requester_name=payload.requester_name, **fields
        )
    return Status(201, ticket_detail_out(_reloaded(ticket)))


@router.get("/tickets/{reference}", response=TicketDetailOut)
def get_ticket(request, reference: str):
    return ticket_detail_out(_ticket(request, reference))


@router.post("/tickets/{reference}/replies", response={201: MessageOut})
def reply(request, reference: str, payload: ReplyIn):
    ticket = _ticket(request, reference, write=True)
    message = services.ticket_reply(
        ticket=ticket, author=request.auth, body=payload.body, body_html=payload.body_html,
        attachments=decode_attachments(payload.attachments), status=payload.status,
    )
    return Status(201, message_out(message))


@router.post("/tickets/{reference}/notes", response={201: MessageOut})
def add_note(request, reference: str, payload: NoteIn):
    ticket = _ticket(request, reference)  # light agents may add notes
    message = services.ticket_add_note(
        ticket=ticket, author=request.auth, body=payload.body, body_html=payload.body_html,
        attachments=decode_attachments(payload.attachments),
    )
    return Status(201, message_out(message))


@router.post("/tickets/{reference}/customer-messages", response={201: MessageOut})
def add_customer_message(request, reference: str, payload: CustomerMessageIn):
    ticket = _ticket(request, reference, write=True)
    message = services.ticket_receive_customer_message(
        ticket=ticket, customer=ticket.requester, body=payload.body, body_html=payload.body_html,
        channel=payload.channel, attachments=decode_attachments(payload.attachments),
    )
    return Status(201, message_out(message))


@router.put("/tickets/{reference}/assignment", response=TicketOut)
def assign(request, reference: str, payload: AssignIn):
    ticket = _ticket(request, reference, write=True)
    changes = {}
    if "group_id" in payload.model_fields_set:
        changes["group"] = group_get(group_id=payload.group_id) if payload.group_id is not None else None
    if "assignee_id" in payload.model_fields_set:
        changes["assignee"] = (
            agent_get(agent_id=payload.assignee_id) if payload.assignee_id is not None else None
        )
    if not changes:
        raise InvalidInput("Send group_id and/or assignee_id.")
    services.ticket_assign(ticket=ticket, actor=request.auth, **changes)
    return _fresh(ticket)


@router.put("/tickets/{reference}/status", response=TicketOut)
def set_status(request, reference: str, payload: StatusIn):
    ticket = _ticket(request, reference, write=True)
    services.ticket_set_status(ticket=ticket, actor=request.auth, status=payload.status)
    return _fresh(ticket)


@router.put("/tickets/{reference}/priority", response=TicketOut)
def set_priority(request, reference: str, payload: PriorityIn):
    ticket = _ticket(request, reference, write=True)
    services.ticket_set_priority(ticket=ticket, actor=request.auth, priority=payload.priority)
    return _fresh(ticket)


@router.post("/tickets/{reference}/tags", response=TicketOut)
def change_tags(request, reference: str, payload: TagsIn):
    ticket = _ticket(request, reference, write=True)
    services.ticket_tag(ticket=ticket, actor=request.auth, add=payload.add, remove=payload.remove)
    return _fresh(ticket)


@router.put("/tickets/{reference}/ccs", response=CcsOut)
def set_ccs(request, reference: str, payload: CcsIn):
    """Who is copied on the ticket: they may write on it and receive its public replies."""
    ticket = _ticket(request, reference, write=True)
    services.ticket_set_cc_emails(ticket=ticket, actor=request.auth, emails=payload.emails)
    return {"reference": ticket.reference, "ccs": [person(c) for c in selectors.ticket_ccs(ticket=ticket)]}


@router.post("/tickets/{reference}/merge", response=TicketOut)
def merge(request, reference: str, payload: MergeIn):
    source = _ticket(request, reference, write=True)
    target = _ticket(request, payload.into, write=True)
    services.ticket_merge(source=source, target=target, actor=request.auth)
    return _fresh(target)


@router.get("/attachments/{public_id}", response={200: None})
def download_attachment(request, public_id: str):
    """The file, as a download (never rendered inline), if the caller may see its ticket."""
    attachment = selectors.attachment_get_for_agent(agent=request.auth, public_id=public_id)
    return download_response(attachment)

