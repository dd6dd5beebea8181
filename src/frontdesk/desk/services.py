"""Writes of the workspace: saved views, and bulk actions (one ticket service call per
selected ticket, each with its own permission check and transaction)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from frontdesk.accounts.models import Agent
from frontdesk.accounts.permissions import check_full_agent
from frontdesk.core.errors import DomainError, InvalidInput, NotFound
from frontdesk.tickets.selectors import WINDOW_SORTS, ticket_get_for_agent
from frontdesk.tickets.services import ticket_assign, ticket_merge, ticket_set_status, ticket_tag

from .models import SavedView
from .selectors import BUILTIN_SLUGS, BadFilter, counts_forget, filters_from_params

FILTER_PARAMS = (
    "status", "priority", "channel", "group", "assignee", "tag", "customer", "organization",
    "created_from", "created_to", "updated_from", "updated_to", "snoozed",
)
MAX_SAVED_VIEWS = 50
MAX_BULK = 100


def clean_params(params: dict[str, list[str]]) -> dict[str, list[str]]:
    """Only the filter parameters, without empty values."""
    cleaned = {}
    for name in FILTER_PARAMS:
        values = [value.strip() for value in params.get(name, []) if value and value.strip()]
        if values:
            cleaned[name] = values
    return cleaned


def saved_view_create(*, agent: Agent, name: str, params: dict[str, list[str]], sort: str) -> SavedView:
    """Save filters under a name; the slug comes from the name and is unique per agent."""
    name = " ".join(name.split())[:60]
    if not name:
        raise InvalidInput("Give the view a name.", code="empty_name")
    if sort not in WINDOW_SORTS:
        raise InvalidInput(f"Unknown sort {sort!r}.")
    params = clean_params(params)
    try:
        filters_from_params(agent=agent, params=params)
    except BadFilter as error:
        raise InvalidInput(str(error), code="invalid_filter") from error
    if SavedView.objects.filter(agent=agent).count() >= MAX_SAVED_VIEWS:
        raise InvalidInput(f"You can keep at most {MAX_SAVED_VIEWS} saved views.", code="too_many_views")
    base = slugify(name)[:60] or "view"
    for attempt in range(1, 100):
        slug = base if attempt == 1 else f"{base}-{attempt}"
        if slug in BUILTIN_SLUGS:
            continue
        try:
            with transaction.atomic():
                view = SavedView.objects.create(agent=agent, name=name, slug=slug, params=params, sort=sort)
        except IntegrityError:
            continue
        counts_forget(agent=agent)
        return view
    raise InvalidInput("Choose another name.", code="name_taken")


def saved_view_delete(*, agent: Agent, slug: str) -> None:
    deleted, _ = SavedView.objects.filter(agent=agent, slug=slug).delete()
    if not deleted:
        raise NotFound("No such view.")


@dataclass
class BulkResult:
    done: list[str] = field(default_factory=list)  # references changed
    failed: list[tuple[str, str]] = field(default_factory=list)  # (reference, why)


BULK_ACTIONS = ("assign", "status", "tag", "merge", "incident")


def tickets_bulk_apply(
    *, agent: Agent, references: list[str], action: str, assignee_id: int | None = None,
    unassign: bool = False, status: str = "", tag: str = "", target_reference: str = "",
    incident_id: int | None = None,
) -> BulkResult:
    """Apply one action to each selected ticket through the ticket services.

    Every ticket is looked up as ``agent`` sees it (hidden tickets fail as "not found", like
    missing ones) and with the write check (light agents are refused). Each ticket is its own
    transaction: one failure (an invalid transition, a closed ticket) is reported and the
    others still happen.
    """
    check_full_agent(agent)  # light agents read and note; the same refusal for every ticket
    if action not in BULK_ACTIONS:
        raise InvalidInput(f"Unknown action {action!r}.", code="invalid_action")
    references = list(dict.fromkeys(ref.strip().upper() for ref in references if ref.strip()))
    if not references:
        raise InvalidInput("Select at least one ticket.", code="nothing_selected")
    if len(references) > MAX_BULK:
        raise InvalidInput(f"Select at most {MAX_BULK} tickets at a time.", code="too_many")
    if action == "incident":
        return _bulk_link_incident(agent=agent, references=references, incident_id=incident_id)
    change = _bulk_change(agent=agent, action=action, assignee_id=assignee_id, unassign=unassign,
                          status=status, tag=tag, target_reference=target_reference)
    result = BulkResult()
    if action == "merge":  # the target may be among the selected: it stays as it is
        references = [ref for ref in references if ref != target_reference.strip().upper()]
    for reference in references:
        try:
            ticket = ticket_get_for_agent(agent=agent, reference=reference, write=True)
            change(ticket)
        except DomainError as error:
            result.failed.append((reference, error.detail))
        else:
            result.done.append(reference)
    if result.done:
        counts_forget(agent=agent)
    return result


def _bulk_link_incident(*, agent: Agent, references: list[str], incident_id: int | None) -> BulkResult:
    """Link the selection to an incident (the incidents service reports per ticket)."""
    from frontdesk.incidents.selectors import incident_get_for_agent
    from frontdesk.incidents.services import incident_link_tickets

    if incident_id is None:
        raise InvalidInput("Choose an incident.", code="invalid_incident")
    incident = incident_get_for_agent(agent=agent, incident_id=incident_id)
    linked = incident_link_tickets(incident=incident, actor=agent, references=references)
    return BulkResult(done=linked.linked + linked.already, failed=linked.failed)


def _bulk_change(*, agent, action, assignee_id, unassign, status, tag, target_reference):
    """Validate the action's arguments once and return what to do to each ticket."""
    if action == "assign":
        if unassign:
            return lambda ticket: ticket_assign(ticket=ticket, actor=agent, assignee=None)
        assignee = Agent.objects.filter(pk=assignee_id, is_active=True).first() if assignee_id else None
        if assignee is None:
            raise InvalidInput("Choose whom to assign the tickets to.", code="invalid_assignee")
        # Assigning across groups is allowed; an assignee outside the ticket's group is refused
        # by the service for that ticket alone (reported, the others go on).
        return lambda ticket: ticket_assign(ticket=ticket, actor=agent, assignee=assignee)
    if action == "status":
        if not status:
            raise InvalidInput("Choose a status.", code="invalid_status")
        return lambda ticket: ticket_set_status(ticket=ticket, actor=agent, status=status)
    if action == "tag":
        if not tag.strip():
            raise InvalidInput("Type a tag to add.", code="invalid_tag")
        return lambda ticket: ticket_tag(ticket=ticket, actor=agent, add=[tag])
    target = ticket_get_for_agent(agent=agent, reference=target_reference.strip(), write=True) \
        if target_reference.strip() else None
    if target is None:
        raise InvalidInput("Give the reference of the ticket to merge into.", code="invalid_target")
    return lambda ticket: ticket_merge(source=ticket, target=target, actor=agent)

