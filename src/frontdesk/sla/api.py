"""SLA over the API: policies (administrators write, agents read), a ticket's timers,
expediting, the billing export of expedited tickets, and the report. Thin: the services and
selectors decide."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from django.http import HttpResponse
from django.utils import timezone
from ninja import Query, Router, Schema, Status

from frontdesk.core.schemas import StrictIn

from . import policy_services, selectors, services
from .reports import sla_report
from .views import CSV_COLUMNS, charge_rows, csv_safe

router = Router(tags=["sla"])

MetricName = Literal["first_response", "next_response", "resolution"]


class ActionSchema(StrictIn):
    kind: Literal["notify", "raise_priority", "move_to_group", "add_tag"]
    group_id: int | None = None
    tag: str | None = None


class ConditionsSchema(StrictIn):
    plans: list[str] = []
    organization_ids: list[int] = []
    channels: list[str] = []
    group_ids: list[int] = []
    tags: list[str] = []


class PolicyIn(StrictIn):
    name: str
    position: int = 100
    is_default: bool = False
    is_expedited: bool = False
    active: bool = True
    conditions: ConditionsSchema = ConditionsSchema()
    calendar_id: int
    targets: dict[str, dict[str, int]]
    warning_share: int = 75
    warning_actions: list[ActionSchema] = []
    breach_actions: list[ActionSchema] = []
    send_delay_update: bool | None = None
    expedite_group_id: int | None = None
    expedite_price: Decimal | None = None
    expedite_currency: str = "EUR"


class PolicyPatch(StrictIn):
    name: str | None = None
    position: int | None = None
    is_default: bool | None = None
    is_expedited: bool | None = None
    active: bool | None = None
    conditions: ConditionsSchema | None = None
    calendar_id: int | None = None
    targets: dict[str, dict[str, int]] | None = None
    warning_share: int | None = None
    warning_actions: list[ActionSchema] | None = None
    breach_actions: list[ActionSchema] | None = None
    send_delay_update: bool | None = None
    expedite_group_id: int | None = None
    expedite_price: Decimal | None = None
    expedite_currency: str | None = None


class PolicyOut(Schema):
    id: int
    name: str
    position: int
    is_default: bool
    is_expedited: bool
    active: bool
    conditions: dict
    calendar_id: int
    targets: dict
    warning_share: int
    warning_actions: list
    breach_actions: list
    send_delay_update: bool
    expedite_group_id: int | None
    expedite_price: Decimal | None
    expedite_currency: str
    updated_at: datetime


class TimerOut(Schema):
    metric: MetricName
    cycle: int
    state: str
    policy_name: str
    priority: str
    target_minutes: int
    warn_minutes: int
    consumed_minutes: int
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    paused_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None
    satisfied_at: datetime | None
    elapsed_minutes: int | None
    revised_due_at: datetime | None


class ChargeOut(Schema):
    id: int
    created_at: datetime
    ticket: str
    customer_id: int
    organization_id: int | None
    policy_name: str
    price: Decimal | None
    currency: str
    requested_by: str

    @staticmethod
    def resolve_ticket(obj) -> str:
        return obj.ticket.reference

    @staticmethod
    def resolve_requested_by(obj) -> str:
        return obj.requested_by_label


def _values(payload: StrictIn, *, partial: bool) -> dict:
    values = payload.model_dump(exclude_unset=partial)
    if not partial and values.get("send_delay_update") is None:
        values.pop("send_delay_update", None)  # the service's default (on for premium)
    for name in ("warning_actions", "breach_actions"):
        if values.get(name) is not None:
            values[name] = [{k: v for k, v in a.items() if v is not None} for a in values[name]]
    if values.get("conditions") is not None:
        values["conditions"] = {k: v for k, v in values["conditions"].items() if v}
    return values


@router.get("/sla/policies", response=list[PolicyOut])
def policy_list(request):
    return list(selectors.policy_list())


@router.get("/sla/policies/{policy_id}", response=PolicyOut)
def policy_detail(request, policy_id: int):
    return selectors.policy_get(policy_id=policy_id)


@router.post("/sla/policies", response={201: PolicyOut})
def policy_create(request, payload: PolicyIn):
    policy = policy_services.sla_policy_create(actor=request.auth, **_values(payload, partial=False))
    return Status(201, policy)


@router.patch("/sla/policies/{policy_id}", response=PolicyOut)
def policy_update(request, policy_id: int, payload: PolicyPatch):
    return policy_services.sla_policy_update(actor=request.auth, policy_id=policy_id,
                                             **_values(payload, partial=True))


@router.delete("/sla/policies/{policy_id}", response={204: None})
def policy_delete(request, policy_id: int):
    policy_services.sla_policy_delete(actor=request.auth, policy_id=policy_id)
    return Status(204, None)


@router.get("/tickets/{reference}/sla", response=list[TimerOut])
def ticket_timers(request, reference: str):
    ticket, _, timers = selectors.ticket_sla_for_agent(agent=request.auth, reference=reference)
    return [item.timer for item in timers]


@router.post("/tickets/{reference}/expedite", response={201: ChargeOut})
def ticket_expedite(request, reference: str):
    ticket = selectors.check_can_expedite(agent=request.auth, reference=reference)
    return Status(201, services.ticket_expedite(ticket=ticket, agent=request.auth))


class PeriodQuery(Schema):
    start: date | None = None
    end: date | None = None

    def bounds(self) -> tuple[datetime, datetime]:
        today = timezone.now().date()
        start = self.start or today - timedelta(days=29)
        end = self.end or today
        return datetime.combine(start, time(0), UTC), datetime.combine(end + timedelta(days=1), time(0), UTC)


class ExportQuery(PeriodQuery):
    format: Literal["json", "csv"] = "json"


@router.get("/sla/expedites", response=list[ChargeOut])
def expedite_list(request, query: Query[ExportQuery]):
    """Expedited tickets for billing (administrators), as JSON or ``format=csv``."""
    start, end = query.bounds()
    charges = selectors.expedite_charges(agent=request.auth, start=start, end=end)
    if query.format == "csv":
        import csv

        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="expedited.csv"'
        writer = csv.writer(response)
        writer.writerow(CSV_COLUMNS)
        for row in charge_rows(charges.iterator()):
            writer.writerow([csv_safe(cell) for cell in row])
        return response
    return list(charges)


class ReportQuery(PeriodQuery):
    group_by: Literal["policy", "group", "plan"] = "policy"
    policy: str = ""
    plan: str = ""
    group_id: int | None = None


@router.get("/sla/report")
def report(request, query: Query[ReportQuery]):
    """Share within target per metric, promises kept/broken, median and p90 business minutes
    to first response and to resolution; per policy, group or plan, for timers started in
    the period (``start``/``end`` days, inclusive; default the last 30 days)."""
    start, end = query.bounds()
    return sla_report(agent=request.auth, start=start, end=end, group_by=query.group_by, policy=query.policy,
                      plan=query.plan, group_id=query.group_id).as_dict()
