"""REST API of the reach side of incidents (mounted beside ``incidents.api`` under the same
``/api/v1/incidents`` prefix): post an update, resolve, attach/approve/withdraw the gesture,
and the per-customer delivery report. Thin: services decide; reading needs an active agent
(light agents included), writing a full agent (403)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ninja import Router, Schema, Status
from pydantic import Field

from frontdesk.core.errors import NotFound
from frontdesk.core.schemas import StrictIn
from frontdesk.goodwill.models import Gesture, Reason

from . import distribution, reports, resolution
from .api import _incident
from .broadcasts import broadcast_post
from .models import Broadcast, Incident

router = Router(tags=["incidents"])


class BroadcastIn(StrictIn):
    body: str = Field(max_length=20_000)
    status: str = ""
    on_status_page: bool = False


class ResolveIn(StrictIn):
    what_happened: str = Field(max_length=20_000)
    what_changed: str = Field(max_length=20_000)
    template: str = Field(default="", max_length=20_000)
    on_status_page: bool | None = None


class BroadcastOut(Schema):
    id: int
    kind: str
    body: str
    public_text: str
    status_after: str
    on_status_page: bool
    created_by_id: int
    created_at: datetime
    fanned_out: bool
    sent: int
    pending: int
    failed: int


class GestureIn(StrictIn):
    gesture_id: int
    value: Decimal
    currency: str = Field(max_length=3)
    reason: str = Reason.OUTAGE
    note: str = Field(default="", max_length=300)


class GestureOut(Schema):
    state: str | None
    gesture_id: int | None = None
    gesture: str | None = None
    value: Decimal | None = None
    currency: str | None = None
    reason: str | None = None
    proposed_by_id: int | None = None
    approved_by_id: int | None = None
    approved_at: datetime | None = None
    approved_customers: int | None = None
    approved_base_total: Decimal | None = None
    affected: int
    received: int
    pending: int
    failed: int


class DeliveryLine(Schema):
    affected_id: int
    customer_id: int
    email: str | None
    name: str
    group_key: str
    has_ticket: bool
    notified: str
    notified_detail: str
    gesture: str
    gesture_detail: str


class DeliveryReport(Schema):
    total: int
    customers: list[DeliveryLine]


def _broadcast_out(broadcast: Broadcast, line: reports.UpdateLine | None = None) -> dict:
    if line is None:
        line = next((x for x in reports.updates_for_incident(incident=broadcast.incident, limit=1000)
                     if x.broadcast.pk == broadcast.pk), reports.UpdateLine(broadcast, 0, 0, 0))
    return {**{name: getattr(broadcast, name) for name in (
        "id", "kind", "body", "public_text", "status_after", "on_status_page", "created_by_id", "created_at")},
        "fanned_out": broadcast.fanned_out_at is not None, "sent": line.sent, "pending": line.pending,
        "failed": line.failed}


def _gesture_out(incident: Incident) -> dict:
    report = distribution.gesture_report(incident=incident)
    row = report.pop("gesture")
    report.pop("not_started", None)
    if row is None:
        return {"state": None, **report}
    return {"state": row.state, "gesture_id": row.gesture_id, "gesture": row.gesture.name, "value": row.value,
            "currency": row.currency, "reason": row.reason, "proposed_by_id": row.proposed_by_id,
            "approved_by_id": row.approved_by_id, "approved_at": row.approved_at,
            "approved_customers": row.approved_customers if row.approved_at else None,
            "approved_base_total": row.approved_base_total, **report}


@router.get("/incidents/{incident_id}/broadcasts", response=list[BroadcastOut])
def broadcast_list(request, incident_id: int):
    incident = _incident(request, incident_id)
    return [_broadcast_out(line.broadcast, line) for line in reports.updates_for_incident(incident=incident,
                                                                                          limit=200)]


@router.post("/incidents/{incident_id}/broadcasts", response={201: BroadcastOut})
def broadcast_create(request, incident_id: int, payload: BroadcastIn):
    """Send an update to every affected customer (and the status page if asked); ``status``
    moves the incident (not to resolved: use /resolve)."""
    broadcast = broadcast_post(incident=_incident(request, incident_id), actor=request.auth, body=payload.body,
                               status=payload.status, on_status_page=payload.on_status_page)
    return Status(201, _broadcast_out(broadcast))


@router.post("/incidents/{incident_id}/resolve", response={201: BroadcastOut})
def incident_resolve(request, incident_id: int, payload: ResolveIn):
    """Resolve: the final personal update to everyone, linked tickets solved (except those kept
    open), check-ins scheduled."""
    broadcast = resolution.incident_resolve(
        incident=_incident(request, incident_id), actor=request.auth, what_happened=payload.what_happened,
        what_changed=payload.what_changed, template=payload.template, on_status_page=payload.on_status_page)
    return Status(201, _broadcast_out(broadcast))


@router.get("/incidents/{incident_id}/gesture", response=GestureOut)
def gesture_get(request, incident_id: int):
    return _gesture_out(_incident(request, incident_id))


@router.put("/incidents/{incident_id}/gesture", response=GestureOut)
def gesture_attach(request, incident_id: int, payload: GestureIn):
    """Propose the gesture (or change the proposal before approval)."""
    incident = _incident(request, incident_id)
    gesture = Gesture.objects.filter(pk=payload.gesture_id).first()
    if gesture is None:
        raise NotFound("No such gesture in the catalog.")
    distribution.incident_gesture_attach(incident=incident, actor=request.auth, gesture=gesture, value=payload.value,
                                         currency=payload.currency, reason=payload.reason, note=payload.note)
    return _gesture_out(incident)


@router.post("/incidents/{incident_id}/gesture/approve", response=GestureOut)
def gesture_approve(request, incident_id: int):
    """The one approval; 403 when the caller's mandate does not cover value × affected."""
    incident = _incident(request, incident_id)
    distribution.incident_gesture_approve(incident=incident, actor=request.auth)
    return _gesture_out(incident)


@router.post("/incidents/{incident_id}/gesture/withdraw", response=GestureOut)
def gesture_withdraw(request, incident_id: int):
    incident = _incident(request, incident_id)
    distribution.incident_gesture_withdraw(incident=incident, actor=request.auth)
    return _gesture_out(incident)


@router.get("/incidents/{incident_id}/deliveries", response=DeliveryReport)
def delivery_report(request, incident_id: int, offset: int = 0, limit: int = 100):
    """Per affected customer: notified (sent / pending / failed of the latest update due) and
    the gesture (received / pending / failed)."""
    incident = _incident(request, incident_id)
    return reports.delivery_report(incident=incident, offset=max(0, offset), limit=max(1, min(limit, 1000)))
