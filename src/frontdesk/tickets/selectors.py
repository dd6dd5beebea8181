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

from django.db.models import (
    Case,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    prefetch_related_objects,
)

from frontdesk.accounts.models import Agent
from frontdesk.accounts.permissions import check_full_agent
from frontdesk.core.errors import InvalidInput, NotFound
from frontdesk.customers.models import ContactKind, ContactPoint

from .models import Attachment, Message, Priority, Status, Tag, Ticket, TicketEvent, Visibility


def tickets_visible_to(*, agent: Agent) -> QuerySet[Ticket]:
    if not agent.is_active:
        return Ticket.objects.none()
    if agent.is_admin:
        return Ticket.objects.all()
    return Ticket.objects.filter(
        Q(group__in=agent.groups.values("pk")) | Q(group__isnull=True) | Q(assignee=agent)
    )


def _primary_email() -> QuerySet:
    return ContactPoint.objects.filter(
        customer=OuterRef("requester_id"), kind=ContactKind.EMAIL
    ).order_by("-is_primary", "id").values("value")[:1]


def with_list_columns(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Annotate what a ticket row shows from other tables, instead of loading whole rows:
    the requester's primary email and the references of linked tickets."""
    return with_link_references(tickets.annotate(requester_email=Subquery(_primary_email())))


def with_link_references(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """The references of the tickets this one was merged into or follows up."""
    return tickets.annotate(
        merged_into_reference=F("merged_into__reference"),
        follow_up_of_reference=F("follow_up_of__reference"),
    )


def ticket_get_for_agent(
    *, agent: Agent, reference: str, write: bool = False, requester_email: bool = True
) -> Ticket:
    """The ticket if ``agent`` may see it, with its requester (and their organization), group,
    assignee and linked references. ``requester_email=False`` skips the requester's email
    (a correlated subquery: half this query's cost) for callers that show the requester's
    contact points anyway (the ticket page)."""
    visible = tickets_visible_to(agent=agent)
    ticket = (
        (with_list_columns(visible) if requester_email else with_link_references(visible))
        .select_related("requester__organization", "organization", "group", "assignee")
        .filter(reference=reference.upper())
        .first()
    )
    if ticket is None:
        raise NotFound("No such ticket.")
    if write:
        check_full_agent(agent)
    return ticket


def ticket_following_merges(*, ticket: Ticket) -> Ticket:
    """The ticket a merged ticket was merged into (through any chain of merges), else itself."""
    seen = set()
    while ticket.merged_into_id and ticket.pk not in seen:
        seen.add(ticket.pk)
        ticket = Ticket.objects.get(pk=ticket.merged_into_id)
    return ticket


def ticket_ccs(*, ticket: Ticket) -> list:
    """The customers copied on the ticket, with their contact points (for their addresses)."""
    return list(
        ticket.ccs.exclude(pk=ticket.requester_id).prefetch_related("contact_points").order_by("name", "id")
    )


def ticket_messages(
    *, ticket: Ticket, include_internal: bool = True, after_id: int | None = None,
    contact_points: bool = True,
) -> QuerySet[Message]:
    """The conversation in order; with ``after_id``, only messages added after that one (ids
    of one ticket's messages grow in commit order: every insert holds the ticket's row lock).
    ``contact_points=False`` leaves the authors' contact points to the caller (the ticket page
    loads those of every customer it shows in one query: ``customers_with_contact_points``)."""
    messages = ticket.messages.select_related("author_agent", "author_customer").prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("id")),
        *(["author_customer__contact_points"] if contact_points else []),
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


def ticket_timeline(*, ticket: Ticket, contact_points: bool = True) -> QuerySet[TicketEvent]:
    events = ticket.events.select_related("actor_agent", "actor_customer").order_by("created_at", "id")
    return events.prefetch_related("actor_customer__contact_points") if contact_points else events


def customers_with_contact_points(customers: list) -> None:
    """Load the contact points of all these customer instances (duplicates allowed) in one
    query, as ``prefetch_related("contact_points")`` would for each."""
    prefetch_related_objects([c for c in customers if c is not None], "contact_points")


BRIEFS_SCAN = 100


def ticket_briefs_of_customer(
    *, agent: Agent, requester_id: int, exclude_id: int | None = None, limit: int = 10,
) -> list[dict]:
    """``tickets_of_customer``'s order and visibility, as ``reference``/``subject``/``status``
    dicts: the ticket page's "Other tickets" list shows nothing else (no joined rows)."""
    tickets = tickets_visible_to(agent=agent).filter(requester_id=requester_id)
    if exclude_id is not None:
        tickets = tickets.exclude(pk=exclude_id)
    # Most customers have a few tickets: read them newest first and put the unresolved ones
    # first here (a stable sort keeps the date order), which costs a third of ordering by a
    # CASE in SQL; a customer with more than BRIEFS_SCAN tickets gets that query.
    recent = list(tickets.order_by("-updated_at", "-id").values("reference", "subject", "status")[:BRIEFS_SCAN + 1])
    if len(recent) <= BRIEFS_SCAN:
        return sorted(recent, key=lambda row: row["status"] not in OPEN_STATUSES)[:limit]
    unresolved = Case(When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1))
    return list(
        tickets.annotate(resolved_rank=unresolved).order_by("resolved_rank", "-updated_at", "-id")
        .values("reference", "subject", "status")[:limit]
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
    group_ids: list[int] | None = None  # any of these groups (the workspace's "My groups")
    ungrouped: bool = False  # not routed to any group yet (the triage queue)
    assignee_id: int | None = None
    unassigned: bool = False
    tag: str | None = None
    requester_id: int | None = None
    organization_id: int | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    # A condition from an app above tickets (the workspace hides snoozed tickets with one),
    # so tickets need not know that app.
    condition: Q | None = None


# A tag on more tickets than this (or than 1 in TAG_DENSE_SHARE of all) is "common".
TAG_COMMON_MIN = 2000
TAG_DENSE_SHARE = 200


def _tag_condition(name: str) -> Q:
    """Tickets tagged ``name``, written for the plan that suits the tag. One query first: the
    tag's id and whether it is common (its links counted no further than the threshold).

    A rare tag: a join from its links (an index on the tag), so the database sorts its few
    tickets. A common one: ``EXISTS`` per ticket, so the database walks the page order and
    checks each ticket's (ticket, tag) index entry, stopping at the page's end (measured at a
    million tickets, a tag on 2.6 % of them: 5 ms instead of 200 ms for sorting its 26,000
    tickets; the same walk for a tag on no ticket scans every ticket: 1.3 s)."""
    links = Ticket.tags.through.objects
    tag_id = Tag.objects.filter(name=name).values_list("pk", flat=True).first()
    if tag_id is None:
        return Q(pk__in=[])
    top = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    threshold = max(TAG_COMMON_MIN, top // TAG_DENSE_SHARE)
    if links.filter(tag_id=tag_id).values("pk")[:threshold + 1].count() > threshold:
        return Q(Exists(links.filter(ticket_id=OuterRef("pk"), tag_id=tag_id)))
    return Q(tags=tag_id)


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
    if filters.group_ids is not None:
        conditions &= Q(group_id__in=filters.group_ids)
    if filters.ungrouped:
        conditions &= Q(group__isnull=True)
    if filters.unassigned:
        conditions &= Q(assignee__isnull=True)
    elif filters.assignee_id is not None:
        conditions &= Q(assignee_id=filters.assignee_id)
    if filters.tag:
        conditions &= _tag_condition(filters.tag.lower())
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
    if filters.condition is not None:
        conditions &= filters.condition
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
    page = ticket_window(agent=agent, filters=filters, sort=sort, after=cursor, limit=limit)
    return page.rows, page.next_cursor


# "-priority": most urgent first, then most recently updated. Pages run through the priorities
# one after another, each an ordinary keyset walk on (updated_at, id), so no query sorts the
# whole filtered set by a computed rank.
PRIORITY_SORT = "-priority"
PRIORITY_ORDER = [Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW]
# "sla_due_at": next SLA due first (overdue ones at the top), then the tickets with no running
# SLA timer, most recently updated first. Two segments, each a keyset walk of its own index
# (the partial ticket_sla_due index holds only tickets with a due time).
SLA_SORT = "sla_due_at"
SLA_SEGMENTS = {"due": ("sla_due_at", False), "none": ("updated_at", True)}
WINDOW_SORTS = SORTS | {PRIORITY_SORT, SLA_SORT}


@dataclass(frozen=True)
class TicketWindow:
    rows: list[Ticket] | list[TicketListRow]
    next_cursor: str | None  # the page after the last row, if there is one
    previous_cursor: str | None  # the page before the first row (pass as ``before``)


def _encode_window_cursor(ticket: Ticket, sort: str) -> str:
    if sort == SLA_SORT:
        key = "due" if ticket.sla_due_at else "none"
        raw = json.dumps([key, getattr(ticket, SLA_SEGMENTS[key][0]).isoformat(), ticket.pk]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
    if sort != PRIORITY_SORT:
        return encode_cursor(ticket, sort)
    raw = json.dumps([ticket.priority, ticket.updated_at.isoformat(), ticket.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_priority_cursor(cursor: str, keys=PRIORITY_ORDER) -> tuple[str, datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        priority, value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if priority not in keys:
            raise ValueError(priority)
        return priority, check_date_range(datetime.fromisoformat(value)), int(pk)
    except (ValueError, TypeError, OverflowError, binascii.Error) as exc:
        raise InvalidInput("The cursor is not valid; start again without it.", code="invalid_cursor") from exc


def _keyset(tickets: QuerySet[Ticket], field: str, value: datetime, pk: int, op: str) -> QuerySet[Ticket]:
    # The leading range condition lets the database seek into the (field, id) index instead
    # of walking it from the first row: a deep page costs what the first page costs.
    return tickets.filter(
        Q(**{f"{field}__{op}e": value}) & (Q(**{f"{field}__{op}": value}) | Q(**{f"pk__{op}": pk}))
    )


def _ordered_ids(tickets: QuerySet[Ticket], *, field: str, order: list[str], descending: bool,
                 statuses: list[str] | None, count: int) -> list[int]:
    """The first ``count`` ids of ``tickets`` in ``order`` (``field`` then id).

    With several statuses and the ``updated_at`` order, one query per status, merged here:
    each is an ordered walk of one range of the (status, updated_at, id, group, assignee)
    index that stops after ``count`` rows, so it costs the same on the first page and deep
    ones, and the database never sorts all the view's tickets (``status IN (...)`` has no
    index in ``updated_at`` order: a database either sorts every match or walks the whole
    ``updated_at`` index, which is slow where matches are rare, e.g. open tickets a year
    back)."""
    if field != "updated_at" or not statuses or len(set(statuses)) < 2:
        return list(tickets.order_by(*order).values_list("pk", flat=True)[:count])
    found: list[tuple] = []
    for status in sorted(set(statuses)):
        found += tickets.filter(status=status).order_by(*order).values_list(field, "pk")[:count]
    found.sort(reverse=descending)
    return [pk for _, pk in found[:count]]


@dataclass
class TicketListRow:
    """A ticket as a workspace list shows it (``ticket_window(list_rows=True)``): plain values,
    no model rows. Carries what the page's cursors read (the sort fields, ``pk``)."""

    pk: int
    reference: str
    subject: str
    status: str
    priority: str
    created_at: datetime
    updated_at: datetime
    sla_due_at: datetime | None
    requester_name: str
    requester_email: str | None
    group_name: str | None  # None: no group
    assignee_id: int | None
    assignee_name: str | None
    tag_names: list[str]


_LIST_ROW_COLUMNS = (
    "pk", "reference", "subject", "status", "priority", "created_at", "updated_at", "sla_due_at",
    "requester__name", "requester_email", "group__name", "assignee_id", "assignee__name",
)


def _list_rows(ids: list[int]) -> dict[int, TicketListRow]:
    """The rows of these tickets, with their tags: two queries of values (a list page's 25 rows
    as model instances, with requester, group, assignee and a tags prefetch, cost several
    times more Python than the queries themselves)."""
    rows = Ticket.objects.filter(pk__in=ids).annotate(requester_email=Subquery(_primary_email()))
    by_id = {values[0]: TicketListRow(*values, tag_names=[]) for values in rows.values_list(*_LIST_ROW_COLUMNS)}
    links = Ticket.tags.through.objects.filter(ticket_id__in=list(by_id)).order_by("tag__name")
    for ticket_id, name in links.values_list("ticket_id", "tag__name"):
        by_id[ticket_id].tag_names.append(name)
    return by_id


def ticket_window(
    *, agent: Agent, filters: TicketFilters, sort: str = "-updated_at", after: str | None = None,
    before: str | None = None, limit: int = 25, list_rows: bool = False,
) -> TicketWindow:
    """A page of visible tickets in ``sort`` order, after the ``after`` cursor or before the
    ``before`` cursor (paging back), with cursors for both neighbours.

    Query count does not depend on the page or the data: one query for the ids in order
    (datetime sorts), or one per priority reached (``-priority``, at most four), times the
    statuses filtered on when there are several and the order is ``updated_at`` (see
    ``_ordered_ids``); then one for those rows and one for their tags (none when no ids).

    ``list_rows=True``: the rows are ``TicketListRow`` values (what a workspace list shows)
    instead of tickets with their requester, group, assignee and tags.
    """
    if sort not in WINDOW_SORTS:
        raise InvalidInput(f"Unknown sort {sort!r}; choose one of {', '.join(sorted(WINDOW_SORTS))}.")
    backwards = before is not None
    cursor = before if backwards else after
    tickets = apply_filters(tickets_visible_to(agent=agent), filters)
    segment_order: dict[str, tuple[str, bool]] = {}  # segment key → its own (field, descending)
    if sort == PRIORITY_SORT:
        field, descending = "updated_at", True
        segments = [(priority, tickets.filter(priority=priority)) for priority in PRIORITY_ORDER]
        position = None
        if cursor:
            priority, value, pk = _decode_priority_cursor(cursor)
            position = PRIORITY_ORDER.index(priority)
    elif sort == SLA_SORT:
        field, descending = SLA_SEGMENTS["due"]
        segment_order = SLA_SEGMENTS
        segments = [("due", tickets.filter(sla_due_at__isnull=False)),
                    ("none", tickets.filter(sla_due_at__isnull=True))]
        position = None
        if cursor:
            key, value, pk = _decode_priority_cursor(cursor, keys=list(SLA_SEGMENTS))
            position = list(SLA_SEGMENTS).index(key)
    else:
        field, descending = sort.lstrip("-"), sort.startswith("-")
        segments = [(None, tickets)]
        position = None
        if cursor:
            value, pk = decode_cursor(cursor)
            position = 0
    if position is not None:
        segments = segments[position::-1] if backwards else segments[position:]
        key, first = segments[0]
        key_field, key_desc = segment_order.get(key, (field, descending))
        op = "lt" if key_desc != backwards else "gt"
        segments[0] = (key, _keyset(first, key_field, value, pk, op))
    elif backwards:
        segments.reverse()

    def ordering(key) -> tuple[str, bool, list[str]]:
        key_field, key_desc = segment_order.get(key, (field, descending))
        forward_desc = key_desc != backwards
        return key_field, forward_desc, [f"-{key_field}" if forward_desc else key_field,
                                         "-pk" if forward_desc else "pk"]

    related = lambda qs: with_list_columns(qs.select_related("requester", "group", "assignee")).prefetch_related("tags")  # noqa: E731

    # Ids first, then the rows by id: a plan that sorts (a tag's tickets, a date range) then
    # sorts bare ids, instead of joining requester, group and assignee and computing the
    # requester's email for every candidate row before the sort (SQLite does that).
    ids: list[int] = []
    for key, segment in segments:
        key_field, forward_desc, order = ordering(key)
        ids += _ordered_ids(segment, field=key_field, order=order, descending=forward_desc,
                            statuses=filters.status, count=limit + 1 - len(ids))
        if len(ids) > limit:
            break
    if not ids:
        by_id = {}
    elif list_rows:
        by_id = _list_rows(ids)
    else:
        by_id = {ticket.pk: ticket for ticket in related(Ticket.objects.filter(pk__in=ids))}
    rows = [by_id[pk] for pk in ids if pk in by_id]
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
        next_cursor = _encode_window_cursor(rows[-1], sort) if rows else None
        previous_cursor = _encode_window_cursor(rows[0], sort) if more else None
    else:
        next_cursor = _encode_window_cursor(rows[-1], sort) if more else None
        previous_cursor = _encode_window_cursor(rows[0], sort) if cursor and rows else None
    return TicketWindow(rows=rows, next_cursor=next_cursor, previous_cursor=previous_cursor)


def count_capped(tickets: QuerySet[Ticket], *, cap: int = 1000) -> int:
    """How many rows, counting no further than ``cap + 1``: ``SELECT COUNT(*) FROM (SELECT id
    … LIMIT cap+1)`` stops early, so a count costs at most ``cap`` index entries even at
    millions of tickets. A result above ``cap`` means "more than cap"."""
    return tickets.order_by().values("pk")[: cap + 1].count()
