"""REST API of incidents (``/api/v1/incidents…``): list/get/create/patch, link and unlink
tickets, affected customers (list; add a JSON list or an organization), CSV upload with
preview/confirm/cancel, suggestions. Thin: services decide.

Roles: every active agent reads (light agents included); creating, changing and linking need
a full agent (403 otherwise); a ticket the caller cannot see is "not found" (404), whether
linked alone or in a list (reported per reference)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from frontdesk.accounts.models import Agent
from frontdesk.core.errors import InvalidInput, NotFound
from frontdesk.core.schemas import StrictIn, id_page
from frontdesk.customers.models import Organization
from frontdesk.tickets.selectors import ticket_get_for_agent

from . import imports, selectors, services
from .models import AffectedImport, AffectedSource, Incident, IncidentStatus, Severity
from .roster import roster_row
from .suggestions import incident_suggestions

router = Router(tags=["incidents"])
MAX_API_ROWS = 10_000


class IncidentOut(Schema):
    id: int
    reference: str
    title: str
    description: str
    public_description: str
    severity: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    owner_id: int | None
    created_by_id: int
    source_ticket: str | None
    on_status_page: bool
    created_at: datetime
    updated_at: datetime
    tickets: int
    affected: int


class IncidentPage(Schema):
    items: list[IncidentOut]
    next_cursor: str | None


class IncidentIn(StrictIn):
    title: str = Field(min_length=1, max_length=200)
    severity: Severity = Severity.MAJOR
    description: str = ""
    public_description: str = ""
    started_at: datetime | None = None
    owner_id: int | None = None
    on_status_page: bool = False
    ticket: str | None = Field(default=None, description="Create from this ticket (reference): it is linked.")


class IncidentPatch(StrictIn):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    severity: Severity | None = None
    status: IncidentStatus | None = None
    description: str | None = None
    public_description: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    owner_id: int | None = None
    on_status_page: bool | None = None


class LinkIn(StrictIn):
    references: list[str] = Field(min_length=1, max_length=services.MAX_BULK_LINK)


class LinkFailure(Schema):
    reference: str
    error: str


class LinkOut(Schema):
    linked: list[str]
    already: list[str]
    failed: list[LinkFailure]


class LinkedTicketOut(Schema):
    reference: str
    subject: str
    status: str
    requester_id: int
    exclude_from_solve: bool
    linked_at: datetime


class PersonIn(StrictIn):
    email: str
    name: str = ""
    external_id: str = ""
    group_key: str = ""


class AffectedIn(StrictIn):
    customers: list[PersonIn] = Field(default_factory=list, max_length=MAX_API_ROWS)
    organization_id: int | None = None


class AffectedAddOut(Schema):
    added: int
    customers_created: int
    affected: int


class AffectedOut(Schema):
    id: int
    customer_id: int
    name: str
    email: str
    source: str
    group_key: str
    external_id: str
    has_ticket: bool
    ticket: str | None  # the conversation's reference, when the caller may see it
    notified: str
    gesture: str
    added_at: datetime


class AffectedPage(Schema):
    items: list[AffectedOut]
    next_cursor: str | None


class ImportOut(Schema):
    id: UUID
    status: str
    filename: str
    encoding: str
    encoding_note: str
    total_rows: int
    valid_rows: int
    error_rows: int
    duplicate_rows: int
    new_customers: int
    errors: list[dict]
    sample: list[dict]
    processed_rows: int
    added: int
    created_customers: int
    failure: str


class SuggestionOut(Schema):
    reference: str
    subject: str
    status: str
    score: float
    words: list[str]
    tags: list[str]
    explanation: str


def _out(incident: Incident, *, tickets: int | None = None, affected: int | None = None) -> dict:
    return {
        **{name: getattr(incident, name) for name in (
            "id", "reference", "title", "description", "public_description", "severity", "status", "started_at",
            "ended_at", "owner_id", "created_by_id", "on_status_page", "created_at", "updated_at")},
        "source_ticket": incident.source_ticket.reference if incident.source_ticket_id else None,
        "tickets": incident.ticket_links.count() if tickets is None else tickets,
        "affected": incident.affected.count() if affected is None else affected,
    }


def _incident(request, incident_id: int) -> Incident:
    return selectors.incident_get_for_agent(agent=request.auth, incident_id=incident_id)


def _owner(owner_id: int | None) -> Agent | None:
    if owner_id is None:
        return None
    return selectors.incident_owner_get(owner_id=owner_id)


@router.get("/incidents", response=IncidentPage)
def incident_list(request, status: str = "", cursor: str | None = None, limit: int = 50):
    """Newest id last within a page (keyset by id); ``status`` = a status or ``open``."""
    incidents = selectors.incident_list(agent=request.auth, status=status).select_related("source_ticket")
    items, next_cursor = id_page(incidents, cursor=cursor, limit=max(1, min(limit, 200)))
    return {"items": [_out(i, tickets=i.ticket_count, affected=i.affected_count) for i in items],
            "next_cursor": next_cursor}


@router.post("/incidents", response={201: IncidentOut})
def incident_create(request, payload: IncidentIn):
    source = ticket_get_for_agent(agent=request.auth, reference=payload.ticket) if payload.ticket else None
    incident = services.incident_create(
        actor=request.auth, title=payload.title, severity=payload.severity, description=payload.description,
        public_description=payload.public_description, started_at=payload.started_at,
        owner=_owner(payload.owner_id), on_status_page=payload.on_status_page, source_ticket=source,
    )
    return Status(201, _out(incident))


@router.get("/incidents/{incident_id}", response=IncidentOut)
def incident_get(request, incident_id: int):
    return _out(_incident(request, incident_id))


@router.patch("/incidents/{incident_id}", response=IncidentOut)
def incident_patch(request, incident_id: int, payload: IncidentPatch):
    incident = _incident(request, incident_id)
    fields = payload.model_dump(exclude_unset=True)
    status = fields.pop("status", None)
    if "owner_id" in fields:
        fields["owner"] = _owner(fields.pop("owner_id"))
    for name in ("title", "severity", "on_status_page", "started_at"):
        if name in fields and fields[name] is None:
            raise InvalidInput(f"{name} cannot be null.", code="invalid_field")
    services.check_writer(request.auth)
    if fields:
        incident = services.incident_update(incident=incident, actor=request.auth, **fields)
    if status:
        incident = services.incident_set_status(incident=incident, actor=request.auth, status=status)
    return _out(incident)


@router.get("/incidents/{incident_id}/tickets", response=list[LinkedTicketOut])
def incident_tickets(request, incident_id: int, limit: int = 200):
    incident = _incident(request, incident_id)
    tickets = selectors.incident_tickets_for_agent(agent=request.auth, incident=incident)
    return [{"reference": t.reference, "subject": t.subject, "status": t.status, "requester_id": t.requester_id,
             "exclude_from_solve": t.exclude_from_solve, "linked_at": t.linked_at}
            for t in tickets[: max(1, min(limit, 1000))]]


@router.post("/incidents/{incident_id}/tickets", response=LinkOut)
def incident_link(request, incident_id: int, payload: LinkIn):
    incident = _incident(request, incident_id)
    result = services.incident_link_tickets(incident=incident, actor=request.auth, references=payload.references)
    return {"linked": result.linked, "already": result.already,
            "failed": [{"reference": r, "error": e} for r, e in result.failed]}


@router.delete("/incidents/{incident_id}/tickets/{reference}", response={204: None})
def incident_unlink(request, incident_id: int, reference: str):
    incident = _incident(request, incident_id)
    ticket = ticket_get_for_agent(agent=request.auth, reference=reference)
    if not services.incident_unlink_ticket(incident=incident, ticket=ticket, actor=request.auth):
        raise NotFound("That ticket is not linked to this incident.")
    return Status(204, None)


@router.get("/incidents/{incident_id}/affected", response=AffectedPage)
def affected_list(request, incident_id: int, cursor: str | None = None, limit: int = 100):
    incident = _incident(request, incident_id)
    rows = selectors.affected_for_incident(incident=incident).order_by("pk")
    items, next_cursor = id_page(rows, cursor=cursor, limit=max(1, min(limit, 1000)))
    return {"items": [{
        "id": v.row.pk, "customer_id": v.row.customer_id, "name": v.row.customer.name,
        "email": v.row.customer.primary_email, "source": v.row.source, "group_key": v.row.group_key,
        "external_id": v.row.external_id, "has_ticket": v.has_ticket, "ticket": v.ticket_reference or None,
        "notified": v.notified, "gesture": v.gesture, "added_at": v.row.added_at,
    } for v in selectors.affected_views(agent=request.auth, rows=items)], "next_cursor": next_cursor}


@router.post("/incidents/{incident_id}/affected", response={201: AffectedAddOut, 400: dict})
def affected_add(request, incident_id: int, payload: AffectedIn):
    """The back-office pushes a list (same rules as a CSV: email required, duplicates merged,
    unknown addresses become customers). Any invalid row refuses the whole list, each named."""
    incident = _incident(request, incident_id)
    services.check_writer(request.auth)
    if payload.organization_id is None and not payload.customers:
        raise InvalidInput("Send customers, an organization_id, or both.", code="nothing_to_add")
    rows, problems = [], []
    for index, person in enumerate(payload.customers):
        try:
            rows.append(roster_row(person.model_dump()))
        except InvalidInput as exc:
            problems.append({"index": index, "error": exc.detail})
    if problems:
        return Status(400, {"error": "invalid_rows", "detail": f"{len(problems)} row(s) are not valid; nothing "
                            "was added.", "rows": problems[:500]})
    added, created = 0, 0
    if payload.organization_id is not None:
        organization = Organization.objects.filter(pk=payload.organization_id, merged_into__isnull=True).first()
        if organization is None:
            raise NotFound("No such organization.")
        added += len(services.incident_add_organization(incident=incident, organization=organization,
                                                        actor=request.auth))
    if rows:
        result = services.incident_add_people(incident=incident, actor=request.auth, rows=rows,
                                              source=AffectedSource.API)
        added += len(result.added)
        created = result.customers_created
    return Status(201, {"added": added, "customers_created": created, "affected": incident.affected.count()})


def _import_out(job: AffectedImport) -> dict:
    return {"id": job.public_id, **{name: getattr(job, name) for name in (
        "status", "filename", "encoding", "encoding_note", "total_rows", "valid_rows", "error_rows",
        "duplicate_rows", "new_customers", "errors", "sample", "processed_rows", "added", "created_customers",
        "failure")}}


def _job(incident: Incident, public_id: UUID) -> AffectedImport:
    return selectors.import_job_get(incident=incident, public_id=public_id)


@router.post("/incidents/{incident_id}/imports", response={201: ImportOut})
def import_upload(request, incident_id: int, file: File[UploadedFile]):
    """Upload a CSV (multipart field ``file``): stored, previewed, nothing imported yet."""
    incident = _incident(request, incident_id)
    job = imports.import_upload(incident=incident, actor=request.auth, filename=file.name or "",
                                chunks=file.chunks())
    return Status(201, _import_out(job))


@router.get("/incidents/{incident_id}/imports/{public_id}", response=ImportOut)
def import_get(request, incident_id: int, public_id: UUID):
    return _import_out(_job(_incident(request, incident_id), public_id))


@router.post("/incidents/{incident_id}/imports/{public_id}/confirm", response=ImportOut)
def import_confirm(request, incident_id: int, public_id: UUID):
    job = _job(_incident(request, incident_id), public_id)
    return _import_out(imports.import_confirm(affected_import=job, actor=request.auth))


@router.post("/incidents/{incident_id}/imports/{public_id}/cancel", response=ImportOut)
def import_cancel(request, incident_id: int, public_id: UUID):
    job = _job(_incident(request, incident_id), public_id)
    return _import_out(imports.import_cancel(affected_import=job, actor=request.auth))


@router.get("/incidents/{incident_id}/suggestions", response=list[SuggestionOut])
def suggestions(request, incident_id: int, limit: int = 20):
    incident = _incident(request, incident_id)
    return [{"reference": s.ticket.reference, "subject": s.ticket.subject, "status": s.ticket.status,
             "score": s.score, "words": s.words, "tags": s.tags, "explanation": s.explanation}
            for s in incident_suggestions(incident=incident, agent=request.auth, limit=max(1, min(limit, 50)))]
