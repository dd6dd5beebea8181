"""Reads of the reach side: who was notified of which update, who received the gesture.

Shared by the incident page (the affected list's Notified and Gesture columns, the updates
panel), the API's delivery report and the status page. A fixed number of queries each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from frontdesk.goodwill.models import GrantStatus

from .models import (
    AffectedCustomer,
    Broadcast,
    BroadcastDelivery,
    DeliveryStatus,
    GestureDelivery,
    Incident,
    IncidentStatus,
)


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%-d %b %H:%M")


def gesture_state(delivery: GestureDelivery | None) -> tuple[str, str]:
    """(state, text) of one customer's gesture: received / pending / failed / "" (none)."""
    if delivery is None:
        return "", ""
    if delivery.status == DeliveryStatus.FAILED:
        return "failed", f"failed: {delivery.error}"
    if delivery.status == DeliveryStatus.PENDING or delivery.grant is None:
        return "pending", "pending"
    status = delivery.grant.status
    if status == GrantStatus.FULFILLED:
        return "received", "received" + (f" ({delivery.grant.code})" if delivery.grant.code else "")
    if status == GrantStatus.FAILED:
        return "failed", "failed: fulfilment failed (retrying)"
    if status in (GrantStatus.REVOKED, GrantStatus.DENIED):
        return "failed", status
    return "pending", "granted, being fulfilled"


def notified_state(delivery: BroadcastDelivery | None) -> tuple[str, str]:
    if delivery is None:
        return "", ""
    if delivery.status == DeliveryStatus.SENT:
        return "sent", f"sent {_when(delivery.updated_at)}"
    if delivery.status == DeliveryStatus.FAILED:
        return "failed", f"failed: {delivery.error}"
    return "pending", "pending"


def latest_deliveries(affected_ids: list[int]) -> dict[int, BroadcastDelivery]:
    """Per affected row, its delivery of the most recent update it is due."""
    latest: dict[int, BroadcastDelivery] = {}
    for delivery in (BroadcastDelivery.objects.filter(affected_id__in=affected_ids)
                     .order_by("affected_id", "-broadcast_id")):
        latest.setdefault(delivery.affected_id, delivery)
    return latest


def gesture_deliveries(affected_ids: list[int]) -> dict[int, GestureDelivery]:
    return {d.affected_id: d for d in GestureDelivery.objects.filter(affected_id__in=affected_ids)
            .select_related("grant")}


def reach_status(rows: list[AffectedCustomer]) -> dict[int, tuple[str, str]]:
    """Per affected row: (notified, gesture) texts for the list; "" when nothing yet."""
    ids = [row.pk for row in rows]
    notified, gestures = latest_deliveries(ids), gesture_deliveries(ids)
    return {pk: (notified_state(notified.get(pk))[1], gesture_state(gestures.get(pk))[1]) for pk in ids}


@dataclass(frozen=True)
class UpdateLine:
    broadcast: Broadcast
    sent: int
    pending: int
    failed: int


def updates_for_incident(*, incident: Incident, limit: int = 20) -> list[UpdateLine]:
    """The incident's updates, newest first, each with its delivery counts (one query)."""
    broadcasts = (Broadcast.objects.filter(incident=incident).select_related("created_by")
                  .annotate(n_sent=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.SENT)),
                            n_pending=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
                            n_failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)))
                  .order_by("-created_at", "-id")[:limit])
    return [UpdateLine(b, b.n_sent, b.n_pending, b.n_failed) for b in broadcasts]


def delivery_report(*, incident: Incident, offset: int = 0, limit: int = 100) -> dict:
    """Per affected customer (a page): has a conversation, latest update state, gesture state;
    and the totals over everyone."""
    rows = list(AffectedCustomer.objects.filter(incident=incident).select_related("customer")
                .order_by("id")[offset:offset + limit])
    ids = [row.pk for row in rows]
    notified, gestures = latest_deliveries(ids), gesture_deliveries(ids)
    lines = []
    for row in rows:
        n_state, n_text = notified_state(notified.get(row.pk))
        g_state, g_text = gesture_state(gestures.get(row.pk))
        lines.append({"affected_id": row.pk, "customer_id": row.customer_id, "email": row.customer.primary_email,
                      "name": row.customer.name, "group_key": row.group_key, "has_ticket": bool(row.ticket_id),
                      "notified": n_state, "notified_detail": n_text, "gesture": g_state, "gesture_detail": g_text})
    return {"total": AffectedCustomer.objects.filter(incident=incident).count(), "customers": lines}


def visible_incidents(*, resolved_days: int):
    since = timezone.now() - timedelta(days=resolved_days)
    return Incident.objects.filter(on_status_page=True).filter(
        ~Q(status=IncidentStatus.RESOLVED) | Q(ended_at__gte=since))


def status_page_incidents(*, resolved_days: int) -> list[tuple[Incident, list[Broadcast]]]:
    """The public status page: incidents opted in, running ones and those resolved in the last
    ``resolved_days`` days, newest first, each with its public updates (two queries)."""
    incidents = list(visible_incidents(resolved_days=resolved_days).order_by("-started_at", "-id")[:50])
    updates: dict[int, list[Broadcast]] = {i.pk: [] for i in incidents}
    for broadcast in (Broadcast.objects.filter(incident_id__in=updates, on_status_page=True)
                      .only("id", "incident_id", "public_text", "status_after", "created_at", "kind")
                      .order_by("-created_at", "-id")):
        updates[broadcast.incident_id].append(broadcast)
    return [(incident, updates[incident.pk]) for incident in incidents]
