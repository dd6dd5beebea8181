"""Every way an incident changes: create (from scratch or from a ticket), edit, status, link and
unlink tickets (one or many), add the customers of an organization.

Writes need a full agent (light agents read). Each is one transaction that records the
incident's own history (``IncidentActivity``) and, where a ticket changes, an ``incident``
event in that ticket's timeline. Customers become affected only through
``affected.affected_customers_add``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from frontdesk.accounts.models import Agent
from frontdesk.accounts.permissions import check_full_agent
from frontdesk.core.errors import DomainError, InvalidInput, NotFound
from frontdesk.customers.models import Customer, Organization
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.selectors import ticket_get_for_agent, tickets_visible_to

from .affected import AffectedEntry, affected_customers_add
from .events import record_activity, record_incident_event
from .models import (
    ActivityKind,
    AffectedCustomer,
    AffectedSource,
    Incident,
    IncidentStatus,
    IncidentTicket,
    Severity,
)
from .roster import RosterResult, merge_rows, roster_add

EDITABLE = ("title", "description", "public_description", "severity", "owner", "started_at", "ended_at",
            "on_status_page")
MAX_BULK_LINK = 500
MAX_TEXT = 20_000


def check_writer(agent: Agent) -> None:
    """Who may change incidents: active full agents (light agents read)."""
    check_full_agent(agent)


def _check_fields(fields: dict) -> None:
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise InvalidInput(f"Unknown incident field(s): {', '.join(sorted(unknown))}.", code="invalid_field")
    if "title" in fields:
        title = " ".join(str(fields["title"] or "").split())
        if not title:
            raise InvalidInput("An incident needs a title.", code="title_required")
        if len(title) > 200:
            raise InvalidInput("The title is longer than 200 characters.", code="title_too_long")
        fields["title"] = title
    for name in ("description", "public_description"):
        if name in fields:
            fields[name] = (fields[name] or "").strip()
            if len(fields[name]) > MAX_TEXT:
                raise InvalidInput(f"The {name.replace('_', ' ')} is longer than {MAX_TEXT} characters.")
    if "severity" in fields and fields["severity"] not in Severity.values:
        raise InvalidInput(f"Severity must be one of {', '.join(Severity.values)}.", code="invalid_severity")
    owner = fields.get("owner")
    if owner is not None and not (isinstance(owner, Agent) and owner.is_active):
        raise InvalidInput("The owner must be an active agent.", code="invalid_owner")
    for name in ("started_at", "ended_at"):
        value = fields.get(name)
        if value is not None and (not isinstance(value, datetime) or timezone.is_naive(value)):
            raise InvalidInput(f"{name} must be a time with a time zone.", code="invalid_time")


def _check_times(incident: Incident) -> None:
    if incident.ended_at and incident.ended_at < incident.started_at:
        raise InvalidInput("An incident cannot end before it started.", code="ends_before_start")


def _check_may_see(agent: Agent, ticket: Ticket) -> None:
    """Linking is a write on the ticket: the agent must be able to open it (else: not found)."""
    if not tickets_visible_to(agent=agent).filter(pk=ticket.pk).exists():
        raise NotFound("No such ticket.")


@transaction.atomic
def incident_create(
    *, actor: Agent, title: str, severity: str = Severity.MAJOR, description: str = "",
    public_description: str = "", started_at: datetime | None = None, owner: Agent | None = None,
    on_status_page: bool = False, source_ticket: Ticket | None = None,
) -> Incident:
    """A new incident (status investigating). With ``source_ticket`` the ticket is linked at
    once and its requester and CCs become affected customers."""
    check_full_agent(actor)
    fields = {"title": title, "severity": severity, "description": description,
              "public_description": public_description, "owner": owner, "on_status_page": bool(on_status_page)}
    if started_at is not None:
        fields["started_at"] = started_at
    _check_fields(fields)
    if source_ticket is not None:
        _check_may_see(actor, source_ticket)
        fields.setdefault("started_at", min(source_ticket.created_at, timezone.now()))
    now = timezone.now()
    incident = Incident(**fields, created_by=actor, source_ticket=source_ticket, created_at=now, updated_at=now)
    _check_times(incident)
    incident.save()
    record_activity(incident=incident, kind=ActivityKind.CREATED, actor=actor,
                    summary=f"{actor.name or actor.email} opened the incident"
                    + (f" from ticket #{source_ticket.reference}" if source_ticket else ""))
    if source_ticket is not None:
        _link(incident=incident, ticket=source_ticket, actor=actor)
    return incident


def incident_create_from_ticket(*, actor: Agent, ticket: Ticket, title: str = "", **fields) -> Incident:
    """``incident_create`` with the ticket as its source; the title defaults to its subject."""
    return incident_create(actor=actor, title=title or ticket.subject, source_ticket=ticket, **fields)


@transaction.atomic
def incident_update(*, incident: Incident, actor: Agent, **fields) -> Incident:
    """Change any of ``EDITABLE``; records what changed (before → after) on the incident."""
    check_full_agent(actor)
    _check_fields(fields)
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    changed = {}
    for name, value in fields.items():
        before = getattr(incident, name)
        if before != value:
            changed[name] = (before, value)
            setattr(incident, name, value)
    if not changed:
        return incident
    _check_times(incident)
    incident.updated_at = timezone.now()
    incident.save()
    record_activity(
        incident=incident, kind=ActivityKind.EDITED, actor=actor,
        summary="Changed " + ", ".join(name.replace("_", " ") for name in changed),
        changes={name: [_plain(b), _plain(a)] for name, (b, a) in changed.items()},
    )
    return incident


def _plain(value):
    if isinstance(value, Agent):
        return value.pk
    if isinstance(value, datetime):
        return value.isoformat()
    return value


@transaction.atomic
def incident_set_status(*, incident: Incident, actor: Agent | str, status: str) -> Incident:
    """Move to ``status``. Resolving sets ``ended_at`` (kept if already set); leaving resolved
    clears it. Linked tickets' banners read the status live, so no ticket event is written
    here (the final update to customers is ``reach``'s resolution)."""
    if isinstance(actor, Agent):
        check_full_agent(actor)
    if status not in IncidentStatus.values:
        raise InvalidInput(f"Status must be one of {', '.join(IncidentStatus.values)}.", code="invalid_status")
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.status == status:
        return incident
    before = incident.status
    incident.status = status
    now = timezone.now()
    if status == IncidentStatus.RESOLVED:
        incident.ended_at = incident.ended_at or now
    else:
        incident.ended_at = None
    incident.updated_at = now
    incident.save(update_fields=["status", "ended_at", "updated_at"])
    record_activity(
        incident=incident, kind=ActivityKind.STATUS, actor=actor if isinstance(actor, Agent) else None,
        summary=f"Status {IncidentStatus(before).label} → {IncidentStatus(status).label}",
        before=before, after=status,
    )
    return incident


def _link(*, incident: Incident, ticket: Ticket, actor: Agent) -> IncidentTicket | None:
    """Link inside the caller's transaction; None when it already was linked."""
    link, created = IncidentTicket.objects.get_or_create(
        incident=incident, ticket=ticket, defaults={"linked_by": actor, "linked_at": timezone.now()},
    )
    if not created:
        return None
    entries = [AffectedEntry(customer_id=ticket.requester_id, ticket_id=ticket.pk)]
    # CCs are part of the same conversation: updates reach them in this ticket's thread.
    entries += [AffectedEntry(customer_id=cid, ticket_id=ticket.pk)
                for cid in ticket.ccs.values_list("pk", flat=True)]
    affected_customers_add(incident=incident, entries=entries, source=AffectedSource.TICKET, actor=actor)
    record_incident_event(ticket=ticket, incident=incident, actor=actor, action="linked",
                          summary=f"Linked to incident {incident.reference}: {incident.title}")
    return link


@transaction.atomic
def incident_link_ticket(*, incident: Incident, ticket: Ticket, actor: Agent) -> IncidentTicket | None:
    """Link ``ticket`` (one the agent may see); its requester and CCs become affected with this
    ticket as their conversation. Linking twice changes nothing and returns None."""
    check_full_agent(actor)
    _check_may_see(actor, ticket)
    link = _link(incident=incident, ticket=ticket, actor=actor)
    if link is not None:
        record_activity(incident=incident, kind=ActivityKind.LINKED, actor=actor,
                        summary=f"Linked ticket #{ticket.reference}", ticket=ticket.pk)
    return link


@dataclass
class LinkResult:
    linked: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (reference, why)


def incident_link_tickets(*, incident: Incident, actor: Agent, references: Iterable[str]) -> LinkResult:
    """Link many tickets (an inbox selection, a search result). Each ticket as the agent sees
    it (hidden = "not found", like missing) in its own transaction: one refusal is reported
    and the others still happen. One history line for the lot."""
    check_full_agent(actor)
    references = list(dict.fromkeys(r.strip().upper() for r in references if r and r.strip()))
    if not references:
        raise InvalidInput("Select at least one ticket.", code="nothing_selected")
    if len(references) > MAX_BULK_LINK:
        raise InvalidInput(f"Link at most {MAX_BULK_LINK} tickets at a time.", code="too_many")
    result = LinkResult()
    for reference in references:
        try:
            ticket = ticket_get_for_agent(agent=actor, reference=reference, write=True)
            with transaction.atomic():
                link = _link(incident=incident, ticket=ticket, actor=actor)
        except DomainError as error:
            result.failed.append((reference, error.detail))
            continue
        (result.linked if link else result.already).append(reference)
    if result.linked:
        record_activity(incident=incident, kind=ActivityKind.LINKED, actor=actor,
                        summary=f"Linked {len(result.linked)} ticket(s): " + ", ".join(
                            f"#{r}" for r in result.linked[:20]) + ("…" if len(result.linked) > 20 else ""),
                        tickets=result.linked)
    return result


@transaction.atomic
def incident_unlink_ticket(*, incident: Incident, ticket: Ticket, actor: Agent) -> bool:
    """Unlink; False when it was not linked. A customer who is affected only through this
    ticket is removed again — unless something already reached them (a delivery or a grant
    refers to the row), in which case they stay affected and keep their history."""
    check_full_agent(actor)
    _check_may_see(actor, ticket)
    deleted, _ = IncidentTicket.objects.filter(incident=incident, ticket=ticket).delete()
    if not deleted:
        return False
    for row in AffectedCustomer.objects.filter(incident=incident, ticket=ticket, source=AffectedSource.TICKET):
        try:
            with transaction.atomic():
                row.delete()
        except ProtectedError:
            pass
    AffectedCustomer.objects.filter(incident=incident, ticket=ticket).update(ticket=None)
    record_incident_event(ticket=ticket, incident=incident, actor=actor, action="unlinked",
                          summary=f"Unlinked from incident {incident.reference}: {incident.title}")
    record_activity(incident=incident, kind=ActivityKind.UNLINKED, actor=actor,
                    summary=f"Unlinked ticket #{ticket.reference}", ticket=ticket.pk)
    return True


@transaction.atomic
def incident_set_exclude_from_solve(*, incident: Incident, ticket: Ticket, actor: Agent, exclude: bool) -> None:
    """Keep a linked ticket open when the incident is resolved (the customer has more going on)."""
    check_full_agent(actor)
    _check_may_see(actor, ticket)
    if not IncidentTicket.objects.filter(incident=incident, ticket=ticket).update(exclude_from_solve=exclude):
        raise NotFound("That ticket is not linked to this incident.")


@transaction.atomic
def incident_add_organization(*, incident: Incident, organization: Organization, actor: Agent) -> list[int]:
    """Every current customer of ``organization`` becomes affected; returns the new row ids."""
    check_full_agent(actor)
    ids = list(Customer.objects.filter(organization=organization, merged_into__isnull=True)
               .values_list("pk", flat=True))
    created = affected_customers_add(
        incident=incident, entries=[AffectedEntry(customer_id=pk) for pk in ids],
        source=AffectedSource.ORGANIZATION, actor=actor,
    )
    record_activity(incident=incident, kind=ActivityKind.AFFECTED, actor=actor,
                    summary=f"Added organization {organization.name}: {len(created)} new of {len(ids)} customers",
                    organization=organization.pk, added=len(created))
    return created


def incident_add_people(*, incident: Incident, actor: Agent, rows: list, source: str) -> RosterResult:
    """Add people by email (an agent typing one, the back-office's API list): duplicates
    merged, unknown addresses become customers, all through ``affected_customers_add``."""
    check_full_agent(actor)
    distinct, _ = merge_rows(rows)
    with transaction.atomic():
        result = roster_add(incident=incident, rows=distinct, source=source, actor=actor)
        if result.added:
            record_activity(
                incident=incident, kind=ActivityKind.AFFECTED, actor=actor,
                summary=(f"Added {distinct[0].email}" if len(distinct) == 1 else
                         f"Added {len(result.added)} customers ({AffectedSource(source).label})"),
                added=len(result.added), source=source,
            )
    return result
