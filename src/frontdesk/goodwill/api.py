"""REST API of goodwill (``/api/v1/goodwill/…``): catalog and mandates (administrators), grant,
approve/deny, ledger, my budget, voucher import, reports. Thin: services decide."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ninja import Router, Schema, Status
from pydantic import Field

from frontdesk.accounts.permissions import check_admin
from frontdesk.core.errors import NotFound
from frontdesk.core.schemas import StrictIn, id_page
from frontdesk.tickets.selectors import ticket_get_for_agent

from . import catalog, reports, selectors, services
from .mandates import budget_for
from .models import Fulfilment, Gesture, GestureKind, Mandate
from .snippets import fill_snippet

router = Router(tags=["goodwill"])


class GestureIn(StrictIn):
    name: str = Field(min_length=1, max_length=100)
    kind: GestureKind
    currency: str = Field(min_length=3, max_length=3)
    value: Decimal | None = None
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    snippet: str = ""
    expiry_days: int | None = Field(default=None, ge=1)
    fulfilment: Fulfilment
    endpoint_id: int | None = None
    task_agent_id: int | None = None
    task_group_id: int | None = None
    active: bool = True


class GestureOut(Schema):
    id: int
    name: str
    kind: str
    currency: str
    value: Decimal | None
    min_value: Decimal | None
    max_value: Decimal | None
    snippet: str
    expiry_days: int | None
    fulfilment: str
    endpoint_id: int | None
    task_agent_id: int | None
    task_group_id: int | None
    active: bool
    vouchers_free: int = 0


class MandateIn(StrictIn):
    role: str = ""
    group_id: int | None = None
    agent_id: int | None = None
    currency: str = Field(min_length=3, max_length=3)
    max_per_gesture: Decimal = Field(ge=0)
    max_per_customer: Decimal | None = Field(default=None, ge=0)
    customer_period_days: int = Field(default=30, ge=1)
    monthly_budget: Decimal | None = Field(default=None, ge=0)
    group_monthly_budget: Decimal | None = Field(default=None, ge=0)


class MandateOut(Schema):
    id: int
    role: str
    group_id: int | None
    agent_id: int | None
    currency: str
    max_per_gesture: Decimal
    max_per_customer: Decimal | None
    customer_period_days: int
    monthly_budget: Decimal | None
    group_monthly_budget: Decimal | None


class GrantIn(StrictIn):
    ticket: str
    gesture_id: int
    value: str | None = None
    currency: str | None = None
    reason: str
    note: str = ""


class DecisionIn(StrictIn):
    note: str = ""


class GrantOut(Schema):
    id: int
    ticket: str
    customer_id: int
    gesture_id: int
    gesture: str
    agent_id: int
    value: Decimal
    currency: str
    base_value: Decimal
    reason: str
    status: str
    code: str
    requested_at: datetime
    decided_by_id: int | None
    decided_at: datetime | None
    last_error: str
    snippet: str
    source: str


class EntryOut(Schema):
    id: int
    grant_id: int
    kind: str
    actor: str
    at: datetime
    ticket: str
    customer_id: int
    agent_id: int
    group_id: int | None
    value: Decimal
    currency: str
    base_value: Decimal
    reason: str
    detail: str


class EntryPage(Schema):
    items: list[EntryOut]
    next_cursor: str | None


class BudgetOut(Schema):
    currency: str
    mandate_source: str
    max_per_gesture: Decimal
    max_per_customer: Decimal | None
    monthly_budget: Decimal | None
    spent_this_month: Decimal
    remaining_this_month: Decimal | None
    group: str | None
    group_budget: Decimal | None
    group_remaining: Decimal | None


class VouchersIn(StrictIn):
    csv: str = Field(min_length=1, max_length=5_000_000)


class VouchersOut(Schema):
    added: int
    free: int


def _gesture_out(gesture: Gesture) -> dict:
    data = {f: getattr(gesture, f) for f in GestureOut.model_fields if f != "vouchers_free"}
    data["vouchers_free"] = gesture.vouchers.filter(grant__isnull=True).count()
    return data


def _grant_out(grant) -> dict:
    return {
        "id": grant.pk, "ticket": grant.ticket.reference, "customer_id": grant.customer_id,
        "gesture_id": grant.gesture_id, "gesture": grant.gesture.name, "agent_id": grant.agent_id,
        "value": grant.value, "currency": grant.currency, "base_value": grant.base_value, "reason": grant.reason,
        "status": grant.status, "code": grant.code, "requested_at": grant.requested_at,
        "decided_by_id": grant.decided_by_id, "decided_at": grant.decided_at, "last_error": grant.last_error,
        "snippet": fill_snippet(grant) if grant.status in ("granted", "fulfilled", "failed") else "",
        "source": grant.source,
    }


@router.get("/goodwill/gestures", response=list[GestureOut])
def gesture_list(request):
    gestures = Gesture.objects.all() if request.auth.is_admin else Gesture.objects.filter(active=True)
    return [_gesture_out(g) for g in gestures.order_by("name")]


@router.post("/goodwill/gestures", response={201: GestureOut})
def gesture_create(request, payload: GestureIn):
    check_admin(request.auth)
    return Status(201, _gesture_out(catalog.gesture_save(gesture=Gesture(), data=payload.dict())))


@router.get("/goodwill/gestures/{gesture_id}", response=GestureOut)
def gesture_detail(request, gesture_id: int):
    gesture = Gesture.objects.filter(pk=gesture_id).first()
    if gesture is None or (not gesture.active and not request.auth.is_admin):
        raise NotFound("No such gesture.")
    return _gesture_out(gesture)


@router.put("/goodwill/gestures/{gesture_id}", response=GestureOut)
def gesture_update(request, gesture_id: int, payload: GestureIn):
    check_admin(request.auth)
    gesture = Gesture.objects.filter(pk=gesture_id).first()
    if gesture is None:
        raise NotFound("No such gesture.")
    return _gesture_out(catalog.gesture_save(gesture=gesture, data=payload.dict()))


@router.delete("/goodwill/gestures/{gesture_id}", response={204: None})
def gesture_retire(request, gesture_id: int):
    """Gestures in the ledger are kept: deleting one retires it (``active=false``)."""
    check_admin(request.auth)
    catalog.gesture_retire(gesture_id=gesture_id)
    return Status(204, None)


@router.post("/goodwill/gestures/{gesture_id}/vouchers", response={201: VouchersOut})
def voucher_import(request, gesture_id: int, payload: VouchersIn):
    check_admin(request.auth)
    gesture = Gesture.objects.filter(pk=gesture_id).first()
    if gesture is None:
        raise NotFound("No such gesture.")
    added = services.vouchers_import(gesture=gesture, agent=request.auth, text=payload.csv)
    return Status(201, {"added": added, "free": gesture.vouchers.filter(grant__isnull=True).count()})


@router.get("/goodwill/mandates", response=list[MandateOut])
def mandate_list(request):
    check_admin(request.auth)
    return list(Mandate.objects.order_by("id"))


@router.post("/goodwill/mandates", response={201: MandateOut})
def mandate_create(request, payload: MandateIn):
    check_admin(request.auth)
    mandate = catalog.mandate_create(data=payload.dict())
    return Status(201, mandate)


@router.delete("/goodwill/mandates/{mandate_id}", response={204: None})
def mandate_delete(request, mandate_id: int):
    check_admin(request.auth)
    catalog.mandate_delete(mandate_id=mandate_id)
    return Status(204, None)


@router.post("/goodwill/grants", response={201: GrantOut})
def grant_create(request, payload: GrantIn):
    ticket = ticket_get_for_agent(agent=request.auth, reference=payload.ticket)
    gesture = Gesture.objects.filter(pk=payload.gesture_id, active=True).first()
    if gesture is None:
        raise NotFound("No such gesture.")
    grant = services.gesture_grant(
        ticket=ticket, agent=request.auth, gesture=gesture,
        value=payload.value if payload.value not in (None, "") else gesture.value,
        currency=payload.currency or gesture.currency, reason=payload.reason, note=payload.note,
    )
    return Status(201, _grant_out(grant))


@router.get("/goodwill/grants", response=list[GrantOut])
def grant_list(request, status: str | None = None, ticket: str | None = None, limit: int = 50):
    grants = selectors.grants_visible_to(agent=request.auth)
    if status:
        grants = grants.filter(status=status)
    if ticket:
        grants = grants.filter(ticket__reference=ticket.upper())
    return [_grant_out(g) for g in grants[: max(1, min(limit, 200))]]


@router.get("/goodwill/grants/{grant_id}", response=GrantOut)
def grant_detail(request, grant_id: int):
    return _grant_out(selectors.grant_get_for_agent(agent=request.auth, grant_id=grant_id))


@router.post("/goodwill/grants/{grant_id}/approve", response=GrantOut)
def grant_approve(request, grant_id: int, payload: DecisionIn):
    grant = selectors.grant_get_for_agent(agent=request.auth, grant_id=grant_id)
    return _grant_out(services.gesture_approve(grant=grant, agent=request.auth, note=payload.note))


@router.post("/goodwill/grants/{grant_id}/deny", response=GrantOut)
def grant_deny(request, grant_id: int, payload: DecisionIn):
    grant = selectors.grant_get_for_agent(agent=request.auth, grant_id=grant_id)
    return _grant_out(services.gesture_deny(grant=grant, agent=request.auth, note=payload.note))


@router.post("/goodwill/grants/{grant_id}/revoke", response=GrantOut)
def grant_revoke(request, grant_id: int, payload: DecisionIn):
    """Administrators: take back a gesture given by mistake (frees the budget it used)."""
    grant = selectors.grant_get_for_agent(agent=request.auth, grant_id=grant_id)
    return _grant_out(services.gesture_revoke(grant=grant, agent=request.auth, note=payload.note))


@router.get("/goodwill/ledger", response=EntryPage)
def ledger_list(request, cursor: str | None = None, limit: int = 100):
    rows, next_cursor = id_page(selectors.ledger_for(agent=request.auth), cursor=cursor, limit=max(1, min(limit, 500)))
    return {"items": [{
        "id": e.pk, "grant_id": e.grant_id, "kind": e.kind, "actor": e.actor_label, "at": e.at,
        "ticket": e.ticket.reference, "customer_id": e.customer_id, "agent_id": e.agent_id, "group_id": e.group_id,
        "value": e.value, "currency": e.currency, "base_value": e.base_value, "reason": e.reason, "detail": e.detail,
    } for e in rows], "next_cursor": next_cursor}


@router.get("/goodwill/budget/me", response=BudgetOut)
def budget_me(request):
    budget = budget_for(agent=request.auth)
    mandate = budget.mandate
    return {
        "currency": budget.currency, "mandate_source": mandate.source, "max_per_gesture": mandate.max_per_gesture,
        "max_per_customer": mandate.max_per_customer, "monthly_budget": mandate.monthly_budget,
        "spent_this_month": budget.agent_spent, "remaining_this_month": budget.agent_remaining,
        "group": budget.group.name if budget.group else None, "group_budget": budget.group_budget,
        "group_remaining": budget.group_remaining,
    }


@router.get("/goodwill/reports")
def report(request, since: datetime | None = None, until: datetime | None = None):
    check_admin(request.auth)
    return reports.full_report(since=since, until=until)
