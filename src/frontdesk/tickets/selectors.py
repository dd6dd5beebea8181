"""Permission-aware reads on tickets, shared by the API and the pages.

Visibility: an administrator sees every ticket; any other agent sees the tickets of their
groups, the tickets assigned to them, and tickets not yet routed to a group (the triage
queue). A ticket outside that set is reported as not found, exactly like a missing one.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Case, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When

from frontdesk.accounts.models import Agent
from frontdesk.accounts.permissions import check_full_agent
from frontdesk.core.errors import InvalidInput, NotFound
from frontdesk.customers.models import ContactKind, ContactPoint

from .models import Attachment, Message, Status, Ticket, TicketEvent, Visibility


def tickets_visible_to(*, agent: Agent) -> QuerySet[Ticket]:
    if not agent.is_active:
        return Ticket.objects.none()
    if agent.is_admin:
        return Ticket.objects.all()
    return Ticket.objects.filter(
        Q(group__in=agent.groups.values("pk")) | Q(group__isnull=True) | Q(assignee=agent)
    )


def with_list_columns(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Annotate what a ticket row shows from other tables, instead of loading whole rows:
    the requester's primary email and the references of linked tickets."""
    primary_email = ContactPoint.objects.filter(
        customer=OuterRef("requester_id"), kind=ContactKind.EMAIL
    ).order_by("-is_primary", "id").values("value")[:1]
    return tickets.annotate(
        requester_email=Subquery(primary_email),
        merged_into_reference=F("merged_into__reference"),
        follow_up_of_reference=F("follow_up_of__reference"),
    )


def ticket_get_for_agent(*, agent: Agent, reference: str, write: bool = False) -> Ticket:
    ticket = (
        with_list_columns(tickets_visible_to(agent=agent))
        .select_related("requester", "organization", "group", "assignee")
        .filter(reference=reference.upper())
        .first()
    )
    if ticket is None:
        raise NotFound("No such ticket.")
    if write:
        check_full_agent(agent)
    return ticket


def ticket_messages(
    *, ticket: Ticket, include_internal: bool = True, after_id: int | None = None
) -> QuerySet[Message]:
    """The conversation in order; with ``after_id``, only messages added after that one (ids
    of one ticket's messages grow in commit order: every insert holds the ticket's row lock)."""
    messages = ticket.messages.select_related("author_agent", "author_customer").prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("id")),
        "author_customer__contact_points",
    )
    if not include_internal:
        messages = messages.filter(visibility=Visibility.PUBLIC)
    if after_id is not None:
        messages = messages.filter(pk__gt=after_id)
    return messages.order_by("created_at", "id")


OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)


def tickets_of_customer(
    *, agent: Agent, requester_id: int | None = None, organization_id: int | None = None,
    exclude_id: int | None = None, limit: int = 20,
) -> list[Ticket]:
    """A customer's (or an organization's) tickets that ``agent`` may see: unresolved ones
    first, then the most recently updated."""
    tickets = tickets_visible_to(agent=agent)
    if requester_id is not None:
        tickets = tickets.filter(requester_id=requester_id)
    if organization_id is not None:
        tickets = tickets.filter(organization_id=organization_id)
    if exclude_id is not None:
        tickets = tickets.exclude(pk=exclude_id)
    unresolved = Case(When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1))
    return list(
        tickets.select_related("requester", "assignee")
        .annotate(resolved_rank=unresolved)
        .order_by("resolved_rank", "-updated_at", "-id")[:limit]
    )


def ticket_timeline(*, ticket: Ticket) -> QuerySet[TicketEvent]:
    return (
        ticket.events.select_related("actor_agent", "actor_customer")
        .prefetch_related("actor_customer__contact_points")
        .order_by("created_at", "id")
    )


def attachment_get_for_agent(*, agent: Agent, public_id: str) -> Attachment:
    try:
        uuid.UUID(public_id)
    except ValueError as exc:  # malformed ids look exactly like missing ones
        raise NotFound("No such attachment.") from exc
    attachment = (
        Attachment.objects.select_related("message__ticket")
        .filter(public_id=public_id, message__ticket__in=tickets_visible_to(agent=agent))
        .first()
    )
    if attachment is None:
        raise NotFound("No such attachment.")
    return attachment


@dataclass(frozen=True)
class TicketFilters:
    status: list[str] | None = None
    priority: list[str] | None = None
    channel: list[str] | None = None
    group_id: int | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    tag: str | None = None
    requester_id: int | None = None
    organization_id: int | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None


def apply_filters(tickets: QuerySet[Ticket], filters: TicketFilters) -> QuerySet[Ticket]:
    conditions = Q()
    if filters.status:
        conditions &= Q(status__in=filters.status)
    if filters.priority:
        conditions &= Q(priority__in=filters.priority)
    if filters.channel:
        conditions &= Q(channel__in=filters.channel)
    if filters.group_id is not None:
        conditions &= Q(group_id=filters.group_id)
    if filters.unassigned:
        conditions &= Q(assignee__isnull=True)
    elif filters.assignee_id is not None:
        conditions &= Q(assignee_id=filters.assignee_id)
    if filters.tag:
        conditions &= Q(tags__name=filters.tag.lower())
    if filters.requester_id is not None:
        conditions &= Q(requester_id=filters.requester_id)
    if filters.organization_id is not None:
        conditions &= Q(organization_id=filters.organization_id)
    if filters.created_after:
        conditions &= Q(created_at__gte=filters.created_after)
    if filters.created_before:
        conditions &= Q(created_at__lt=filters.created_before)
    if filters.updated_after:
        conditions &= Q(updated_at__gte=filters.updated_after)
    if filters.updated_before:
        conditions &= Q(updated_at__lt=filters.updated_before)
    return tickets.filter(conditions)


EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
SORTS = {"-updated_at", "updated_at", "-created_at", "created_at"}


def encode_cursor(ticket: Ticket, sort: str) -> str:
    value = getattr(ticket, sort.lstrip("-"))
    raw = json.dumps([value.isoformat(), ticket.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def check_date_range(value: datetime) -> datetime:
    """Refuse instants every database cannot store (SQLite overflows outside years 1–9999
    once converted to UTC)."""
    if value.tzinfo is not None and not (EARLIEST <= value <= LATEST):
        raise ValueError("date out of range (1900–9000)")
    return value


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return check_date_range(datetime.fromisoformat(value)), int(pk)
    except (ValueError, TypeError, OverflowError, binascii.Error) as exc:  # JSONDecodeError is a ValueError
        raise InvalidInput("The cursor is not valid; start again without it.", code="invalid_cursor") from exc


def ticket_page(
    *, agent: Agent, filters: TicketFilters, sort: str = "-updated_at", cursor: str | None = None,
    limit: int = 25,
) -> tuple[list[Ticket], str | None]:
    """One page of visible tickets in ``sort`` order, and the cursor for the next page.

    Keyset pagination on (sort field, id): a deep page costs what the first costs (measured in
    bench/api_latency.py), and rows inserted meanwhile neither repeat nor vanish.
    """
    if sort not in SORTS:
        raise InvalidInput(f"Unknown sort {sort!r}; choose one of {', '.join(sorted(SORTS))}.")
    field = sort.lstrip("-")
    descending = sort.startswith("-")
    tickets = apply_filters(tickets_visible_to(agent=agent), filters)
    if cursor:
        value, pk = decode_cursor(cursor)
        op = "lt" if descending else "gt"
        # The leading range condition lets the database seek into the (field, id) index instead
        # of walking it from the first row: a deep page costs what the first page costs.
        tickets = tickets.filter(
            Q(**{f"{field}__{op}e": value}) & (Q(**{f"{field}__{op}": value}) | Q(**{f"pk__{op}": pk}))
        )
    order = [sort, "-pk" if descending else "pk"]
    rows = list(
        with_list_columns(tickets.select_related("requester", "group", "assignee"))
        .prefetch_related("tags")
        .order_by(*order)[: limit + 1]
    )
    next_cursor = encode_cursor(rows[limit - 1], sort) if len(rows) > limit else None
    return rows[:limit], next_cursor
