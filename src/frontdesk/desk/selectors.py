"""Reads behind the workspace pages: inbox views and their counts, global search (the
``search`` app).

An inbox view is a set of filter parameters (the filter form's query string, as lists of
strings) plus a sort. Built-in views are written the same way as agents' saved views, so
one code path turns either into ``TicketFilters`` for ``tickets.selectors.ticket_window``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.core.cache import cache
from django.db.models import QuerySet

from frontdesk.accounts.models import Agent
from frontdesk.customers.models import ContactKind, ContactPoint, Customer, Organization
from frontdesk.followups.selectors import snoozed_condition
from frontdesk.search import selectors as search_service
from frontdesk.tickets.models import Channel, Priority, Status, Ticket
from frontdesk.tickets.selectors import (
    TicketFilters,
    apply_filters,
    count_capped,
    tickets_visible_to,
)

from .models import SavedView
from .people import people

UNSOLVED = [Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD]
COUNT_CAP = 1000
COUNT_SECONDS = 30
SORT_CHOICES = [
    ("-updated_at", "Recently updated"),
    ("updated_at", "Least recently updated"),
    ("-created_at", "Newest"),
    ("created_at", "Oldest"),
    ("-priority", "Priority, most urgent first"),
    ("sla_due_at", "Next SLA due"),
]


@dataclass(frozen=True)
class InboxView:
    slug: str
    name: str
    params: dict[str, list[str]]
    sort: str = "-updated_at"
    saved: SavedView | None = None


BUILTIN_VIEWS = [
    InboxView("mine", "Mine", {"assignee": ["me"], "status": UNSOLVED}),
    InboxView("unassigned", "Unassigned", {"assignee": ["none"], "status": UNSOLVED}),
    InboxView("my-groups", "My groups", {"group": ["mine"], "status": UNSOLVED}),
    InboxView("all-open", "All open", {"status": [Status.NEW, Status.OPEN]}),
    InboxView("pending", "Pending", {"status": [Status.PENDING]}),
    InboxView("on-hold", "On hold", {"status": [Status.ON_HOLD]}),
    InboxView("solved", "Solved", {"status": [Status.SOLVED]}),
    InboxView("snoozed", "Snoozed", {"snoozed": ["only"]}),
]
BUILTIN_SLUGS = {view.slug for view in BUILTIN_VIEWS}


def inbox_views(*, agent: Agent) -> list[InboxView]:
    """The built-in views, then the agent's saved ones."""
    saved = [
        InboxView(view.slug, view.name, view.params, view.sort, saved=view)
        for view in SavedView.objects.filter(agent=agent).order_by("name", "id")
    ]
    return BUILTIN_VIEWS + saved


def inbox_view_get(*, agent: Agent, slug: str, views: list[InboxView] | None = None) -> InboxView | None:
    for view in views if views is not None else inbox_views(agent=agent):
        if view.slug == slug:
            return view
    return None


class BadFilter(ValueError):
    """A filter parameter that cannot be understood (shown to the agent, never a 500)."""


def _one(params: dict[str, list[str]], name: str) -> str:
    values = [value.strip() for value in params.get(name, []) if value and value.strip()]
    return values[0] if values else ""


def _choices(params: dict[str, list[str]], name: str, allowed: list[str]) -> list[str] | None:
    values = [value for value in params.get(name, []) if value]
    if unknown := [value for value in values if value not in allowed]:
        raise BadFilter(f"Unknown {name}: {', '.join(unknown)}.")
    return values or None


def _int(value: str, name: str) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise BadFilter(f"{name} must be a number.") from exc
    if not 0 < number < 2**63:
        raise BadFilter(f"{name} is out of range.")
    return number


def _day(value: str, name: str, *, end: bool = False) -> datetime | None:
    """A calendar day (YYYY-MM-DD, UTC); ``end`` gives the start of the next day, so "to D"
    includes D."""
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise BadFilter(f"{name} must be a date (YYYY-MM-DD).") from exc
    if not 1900 <= day.year <= 8999:
        raise BadFilter(f"{name} is out of range.")
    moment = datetime.combine(day, time.min, tzinfo=UTC)
    return moment + timedelta(days=1) if end else moment


def filters_from_params(*, agent: Agent, params: dict[str, list[str]]) -> TicketFilters:
    """Turn filter parameters into ``TicketFilters``. Relative values resolve for ``agent``:
    ``assignee=me|none``, ``group=mine|none``. ``customer`` is an id or an email address,
    ``organization`` an id. Raises ``BadFilter``."""
    fields: dict = {
        "status": _choices(params, "status", Status.values),
        "priority": _choices(params, "priority", Priority.values),
        "channel": _choices(params, "channel", Channel.values),
    }
    assignee = _one(params, "assignee")
    if assignee == "me":
        fields["assignee_id"] = agent.pk
    elif assignee == "none":
        fields["unassigned"] = True
    elif assignee:
        fields["assignee_id"] = _int(assignee, "Assignee")
    group = _one(params, "group")
    if group == "mine":
        fields["group_ids"] = list(agent.groups.values_list("pk", flat=True))
    elif group == "none":
        fields["ungrouped"] = True
    elif group:
        fields["group_id"] = _int(group, "Group")
    if tag := _one(params, "tag"):
        fields["tag"] = tag
    if customer := _one(params, "customer"):
        if "@" in customer:
            point = ContactPoint.objects.filter(kind=ContactKind.EMAIL, value=customer.lower()).first()
            fields["requester_id"] = point.customer_id if point else 0
        else:
            fields["requester_id"] = _int(customer, "Customer")
    if organization := _one(params, "organization"):
        fields["organization_id"] = _int(organization, "Organization")
    fields["created_after"] = _day(_one(params, "created_from"), "Created from")
    fields["created_before"] = _day(_one(params, "created_to"), "Created to", end=True)
    fields["updated_after"] = _day(_one(params, "updated_from"), "Updated from")
    fields["updated_before"] = _day(_one(params, "updated_to"), "Updated to", end=True)
    # Snoozed tickets (followups) stay out of every view unless it asks for them.
    snoozed = _one(params, "snoozed")
    if snoozed not in ("", "only", "any"):
        raise BadFilter("snoozed is only or any.")
    if snoozed != "any":
        fields["condition"] = snoozed_condition(snoozed=snoozed == "only")
    return TicketFilters(**fields)


def inbox_tickets(*, agent: Agent, params: dict[str, list[str]]) -> QuerySet[Ticket]:
    """The visible tickets matching ``params`` (unordered), for counting."""
    return apply_filters(tickets_visible_to(agent=agent), filters_from_params(agent=agent, params=params))


def _counts_version(agent: Agent) -> int:
    return cache.get_or_set(f"desk:counts-version:{agent.pk}", 1, None)


def counts_forget(*, agent: Agent) -> None:
    """Drop ``agent``'s cached view counts (after they changed tickets themselves)."""
    key = f"desk:counts-version:{agent.pk}"
    cache.set(key, _counts_version(agent) + 1, None)


def view_counts(*, agent: Agent, views: list[InboxView]) -> dict[str, int]:
    """Tickets per view, each counted no further than ``COUNT_CAP + 1`` and cached for
    ``COUNT_SECONDS`` per agent (other agents' changes show within that time; the agent's own
    bulk actions clear it). One cache round trip, one capped query per view not cached."""
    version = _counts_version(agent)
    keys = {
        view.slug: f"desk:count:{agent.pk}:{version}:" + hashlib.sha256(
            json.dumps(view.params, sort_keys=True).encode()
        ).hexdigest()[:24]
        for view in views
    }
    cached = cache.get_many(list(keys.values()))
    counts: dict[str, int] = {}
    fresh: dict[str, int] = {}
    for view in views:
        key = keys[view.slug]
        if key in cached:
            counts[view.slug] = cached[key]
            continue
        try:
            counts[view.slug] = fresh[key] = count_capped(inbox_tickets(agent=agent, params=view.params), cap=COUNT_CAP)
        except BadFilter:
            counts[view.slug] = 0
    if fresh:
        cache.set_many(fresh, COUNT_SECONDS)
    return counts


def filter_choices() -> dict:
    """The filter form's and bulk bar's choices; groups and agents as (id, name) pairs from the
    per-process copy (``people.py``)."""
    team = people()
    return {
        "statuses": Status.choices,
        "priorities": Priority.choices,
        "channels": Channel.choices,
        "groups": [(pk, name) for pk, name, _tier in team.groups],
        "agents": team.assignable(),
        "sorts": SORT_CHOICES,
    }


def filter_labels(*, params: dict[str, list[str]]) -> dict[str, str]:
    """Names for the ids a filter holds (customer, organization), to show instead of numbers."""
    labels = {}
    customer = _one(params, "customer")
    if customer.isdigit():
        found = Customer.objects.filter(pk=int(customer)).only("name").first()
        labels["customer"] = str(found) if found else ""
    organization = _one(params, "organization")
    if organization.isdigit():
        found = Organization.objects.filter(pk=int(organization)).only("name").first()
        labels["organization"] = found.name if found else ""
    return labels


# ---- global search ----

SearchResults = search_service.SearchResults


def search(*, agent: Agent, query: str, cursor: str | None = None) -> SearchResults:
    """The workspace search box: full-text search (``frontdesk.search``: words, "phrases",
    prefix*, operators such as ``status:open``; a visible ticket's reference alone gives just
    that ticket). Fewer than two characters search nothing. Raises
    ``frontdesk.search.query.BadQuery`` / ``InvalidInput`` with text for the agent."""
    text = " ".join(query.split())
    if len(text) < 2:
        return SearchResults(query=text, tickets=[], customers=[])
    return search_service.search(agent=agent, text=text, cursor=cursor)
