"""The incident gesture: one approval, then the same remedy for every affected customer, once.

An agent attaches a gesture from the goodwill catalog (value, currency, reason "outage"); it
waits for ONE approval by someone whose mandate covers the total (value × affected customers
at that moment, in the base currency: ``goodwill.mandates.mandate_covers_total``). Once
approved, a ``GestureDelivery`` per affected customer (unique per gesture and customer) is
granted through ``goodwill.services.gesture_grant_preapproved`` with source "incident:<id>",
which goodwill keeps unique per customer too: a customer who came in twice (a ticket and a
CSV), was added after the approval, or whose chunk ran twice after a worker died gets one
grant. Fulfilment (voucher pool, webhook, manual task) is goodwill's, as for any grant; the
customer is told in their conversation, with the gesture's snippet (their code).

Customers added after the approval receive it too (``reach_added``), beyond the approved
total: the approval is for the incident ("everyone it touched"), and the report shows the
count. Grants need a ticket of the customer's own: one with no conversation (or only a CC on
someone else's) gets a new outbound ticket first.
"""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from frontdesk.accounts.models import Agent
from frontdesk.accounts.permissions import check_full_agent
from frontdesk.core.errors import Conflict, DomainError, Forbidden, InvalidInput
from frontdesk.core.tasks import enqueue_on_commit
from frontdesk.goodwill.mandates import from_base, known_currencies, to_base
from frontdesk.goodwill.models import Gesture, GrantStatus, Reason
from frontdesk.goodwill.snippets import fill_snippet
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.services import ticket_send_automatic_message

from .broadcasts import (
    BROADCAST_ACTOR,
    Requester,
    claim_delivery,
    deliveries_create,
    latest_broadcast,
    locked_affected,
    open_outbound_ticket,
    render,
    schedule_chunks,
    usable_conversation,
)
from .models import (
    AffectedCustomer,
    BroadcastDelivery,
    DeliveryStatus,
    GestureDelivery,
    GestureState,
    Incident,
    IncidentGesture,
)

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
GESTURE_MESSAGE = (
    "Hello {name},\n\nwe are sorry that {title} ({reference}) affected you. To make up for it, "
    "we would like to offer you:\n\n{gesture}"
)


def _money(value) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise InvalidInput("The value is not a number.", code="invalid_value") from exc
    if not amount.is_finite() or amount <= 0:
        raise InvalidInput("The value must be a positive amount.", code="invalid_value")
    if amount != amount.quantize(CENT):
        raise InvalidInput("The value has more than two decimals.", code="invalid_value")
    return amount


def _check_fits(gesture: Gesture, value: Decimal, currency: str) -> None:
    """Checked once here (a value goodwill would refuse would fail every customer's grant)."""
    if not gesture.active:
        raise InvalidInput(f"{gesture.name} is no longer offered.", code="inactive_gesture")
    if currency not in known_currencies():
        raise InvalidInput(f"Unknown currency {currency!r}.", code="unknown_currency")
    own = value if currency == gesture.currency else from_base(to_base(value, currency), gesture.currency)
    if gesture.value is not None and abs(own - gesture.value) > CENT:
        raise InvalidInput(f"{gesture.name} is worth exactly {gesture.value} {gesture.currency}.", code="out_of_range")
    if gesture.value is None and not (gesture.min_value <= own <= gesture.max_value):
        raise InvalidInput(f"{gesture.name} ranges from {gesture.min_value} to {gesture.max_value} "
                           f"{gesture.currency}.", code="out_of_range")


@transaction.atomic
def incident_gesture_attach(
    *, incident: Incident, actor: Agent, gesture: Gesture, value, currency: str, reason: str = Reason.OUTAGE,
    note: str = "",
) -> IncidentGesture:
    """Propose the incident's gesture (or change the proposal while it waits for approval)."""
    check_full_agent(actor)
    currency = (currency or "").strip().upper()
    amount = _money(value)
    if reason not in Reason.values:
        raise InvalidInput(f"Choose a reason: {', '.join(Reason.values)}.", code="invalid_reason")
    _check_fits(gesture, amount, currency)
    Incident.objects.select_for_update().get(pk=incident.pk)
    current = IncidentGesture.objects.filter(incident=incident).first()
    if current is not None and current.state == GestureState.APPROVED:
        raise Conflict("The incident's gesture is approved and being granted; it cannot change.",
                       code="gesture_approved")
    fields = {"gesture": gesture, "value": amount, "currency": currency, "reason": reason, "note": note.strip()[:300],
              "state": GestureState.PROPOSED, "proposed_by": actor, "proposed_at": timezone.now()}
    row, _ = IncidentGesture.objects.update_or_create(incident=incident, defaults=fields)
    return row


def gesture_total(row: IncidentGesture) -> tuple[int, Decimal]:
    """(affected customers now, value × that number in the base currency)."""
    count = AffectedCustomer.objects.filter(incident_id=row.incident_id).count()
    return count, to_base(row.value * count, row.currency)


@transaction.atomic
def incident_gesture_approve(*, incident: Incident, actor: Agent) -> IncidentGesture:
    """The one approval: the approver's mandate must cover the total; then every affected
    customer is granted the gesture (in chunks, on the task queue)."""
    check_full_agent(actor)
    Incident.objects.select_for_update().get(pk=incident.pk)
    row = IncidentGesture.objects.select_related("gesture").filter(incident=incident).first()
    if row is None or row.state == GestureState.WITHDRAWN:
        raise Conflict("This incident has no gesture waiting for approval.", code="no_gesture")
    if row.state == GestureState.APPROVED:
        raise Conflict("The incident's gesture is already approved.", code="gesture_approved")
    from frontdesk.goodwill.mandates import mandate_covers_total

    count, total = gesture_total(row)
    refusal = mandate_covers_total(agent=actor, base_value=total)
    if refusal:
        raise Forbidden(f"Your mandate does not cover {total} for {count} customers: {refusal}",
                        code="beyond_mandate")
    row.state, row.approved_by, row.approved_at = GestureState.APPROVED, actor, timezone.now()
    row.approved_customers, row.approved_base_total = count, total
    row.save(update_fields=["state", "approved_by", "approved_at", "approved_customers", "approved_base_total"])
    from .tasks import gesture_fan_out as fan_out_task

    enqueue_on_commit(fan_out_task, incident_gesture_id=row.pk)
    return row


@transaction.atomic
def incident_gesture_withdraw(*, incident: Incident, actor: Agent) -> IncidentGesture:
    check_full_agent(actor)
    row = IncidentGesture.objects.select_for_update().filter(incident=incident).first()
    if row is None or row.state != GestureState.PROPOSED:
        raise Conflict("Only a gesture waiting for approval can be withdrawn.", code="not_proposed")
    row.state = GestureState.WITHDRAWN
    row.save(update_fields=["state"])
    return row


@transaction.atomic
def gesture_fan_out(*, incident_gesture_id: int) -> int:
    from .tasks import gesture_grant_chunk

    row = IncidentGesture.objects.select_for_update().get(pk=incident_gesture_id)
    if row.state != GestureState.APPROVED:
        return 0
    ids = list(AffectedCustomer.objects.filter(incident_id=row.incident_id).order_by("id")
               .values_list("id", flat=True))
    pending = gesture_deliveries_create(row=row, affected_ids=ids, every=True)
    schedule_chunks(gesture_grant_chunk, pending)
    return len(pending)


def gesture_deliveries_create(*, row: IncidentGesture, affected_ids: list[int], every: bool = False) -> list[int]:
    """Delivery rows for ``affected_ids`` (existing ones kept); the pending ids among them
    (``every``: all the gesture's pending rows, for the fan-out)."""
    now = timezone.now()
    for start in range(0, len(affected_ids), 5_000):
        GestureDelivery.objects.bulk_create(
            [GestureDelivery(incident_gesture=row, affected_id=aid, updated_at=now)
             for aid in affected_ids[start:start + 5_000]], ignore_conflicts=True,
        )
    pending = GestureDelivery.objects.filter(incident_gesture=row, status=DeliveryStatus.PENDING)
    if not every:
        pending = pending.filter(affected_id__in=affected_ids)
    return list(pending.order_by("id").values_list("id", flat=True))


def gesture_delivery_grant(*, delivery_id: int) -> str:
    """Grant one delivery (safe to run twice). A refusal (pool empty, customer merged) marks it
    failed with the reason, visible in the report; other errors raise for the task's retry."""
    try:
        with transaction.atomic():
            return _grant(delivery_id)
    except DomainError as error:
        GestureDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED, error=str(error)[:300], attempts=F("attempts") + 1,
            updated_at=timezone.now(),
        )
        logger.warning("incident gesture delivery %s failed: %s", delivery_id, error)
        return "failed"


def _own_ticket(affected: AffectedCustomer, author: Agent, text: str) -> tuple[Ticket, bool]:
    """A ticket the customer is the requester of (grants go to a ticket's requester), and
    whether it was opened now, with ``text`` as its first message."""
    ticket = usable_conversation(affected)
    if ticket is not None and ticket.requester_id == affected.customer_id:
        return ticket, False
    return open_outbound_ticket(affected=affected, author=author, body=text, remember=ticket is None), True


def _grant(delivery_id: int) -> str:
    if not claim_delivery(GestureDelivery, delivery_id):
        return "skipped"
    delivery = GestureDelivery.objects.select_related(
        "incident_gesture__gesture", "incident_gesture__incident", "incident_gesture__approved_by",
    ).get(pk=delivery_id)
    row, affected = delivery.incident_gesture, locked_affected(delivery.affected_id)
    incident = affected.incident = row.incident
    opening = render(GESTURE_MESSAGE, ticket=Requester(affected), incident=incident, gesture=describe(row))
    ticket, opened = _own_ticket(affected, row.approved_by, opening)
    from frontdesk.goodwill.services import gesture_grant_preapproved

    grant, created = gesture_grant_preapproved(
        ticket=ticket, gesture=row.gesture, value=row.value, currency=row.currency, reason=row.reason,
        approved_by=row.approved_by, source=row.source, note=row.note or f"{incident.reference}: {incident.title}",
    )
    snippet = fill_snippet(grant).strip()
    if created and opened and snippet:  # the code (if any) is known only now
        ticket_send_automatic_message(ticket=ticket, body=snippet, purpose="incident_gesture", actor=BROADCAST_ACTOR)
    elif created and not opened:
        text = render(GESTURE_MESSAGE, ticket=ticket, incident=incident, gesture=snippet or describe(row))
        ticket_send_automatic_message(ticket=ticket, body=text, purpose="incident_gesture", actor=BROADCAST_ACTOR)
    delivery.grant, delivery.ticket = grant, ticket
    delivery.save(update_fields=["grant", "ticket"])
    return "granted" if created else "already granted"


def describe(row: IncidentGesture) -> str:
    return f"{row.gesture.name} ({row.value} {row.currency})"


def gesture_text_for_deliveries(ids: list[int]) -> str:
    """{gesture} in an update: the incident's approved gesture, described ("" if none)."""
    incident_id = BroadcastDelivery.objects.filter(pk__in=ids[:1]).values_list(
        "broadcast__incident_id", flat=True).first()
    return gesture_text(incident_id) if incident_id else ""


def gesture_text(incident_id: int) -> str:
    row = IncidentGesture.objects.select_related("gesture").filter(
        incident_id=incident_id, state=GestureState.APPROVED).first()
    return describe(row) if row else ""


def reach_added(*, incident_id: int, affected_ids: list[int]) -> str:
    """Customers added after an update or the approval: the latest update and the gesture."""
    from .tasks import broadcast_send_chunk, gesture_grant_chunk

    parts = []
    with transaction.atomic():
        broadcast = latest_broadcast(incident_id)
        if broadcast is not None:
            deliveries_create(broadcast=broadcast, affected_ids=affected_ids)
            pending = list(BroadcastDelivery.objects.filter(
                broadcast=broadcast, affected_id__in=affected_ids, status=DeliveryStatus.PENDING,
            ).order_by("id").values_list("id", flat=True))
            schedule_chunks(broadcast_send_chunk, pending)
            parts.append(f"{len(pending)} updates")
        row = IncidentGesture.objects.filter(incident_id=incident_id, state=GestureState.APPROVED).first()
        if row is not None:
            pending = gesture_deliveries_create(row=row, affected_ids=affected_ids)
            schedule_chunks(gesture_grant_chunk, pending)
            parts.append(f"{len(pending)} gestures")
    return ", ".join(parts) or "nothing to send"


def on_customers_added(*, incident: Incident, affected_ids: list[int]) -> None:
    """The hook in ``affected_customers_add``: reach customers added after an update went out
    or the gesture was approved (three small queries when neither happened)."""
    if not affected_ids:
        return
    # The incident row lock orders this against ``broadcast_post`` and the approval (both take
    # it): either they come first and are seen here, or they wait for these customers to
    # commit and their fan-out reads them. Without it a customer added while an update was
    # being posted could fall between the two.
    Incident.objects.select_for_update().filter(pk=incident.pk).values_list("pk", flat=True).first()
    if latest_broadcast(incident.pk) is None and not IncidentGesture.objects.filter(
            incident=incident, state=GestureState.APPROVED).exists():
        return
    from .tasks import reach_added_customers

    enqueue_on_commit(reach_added_customers, incident_id=incident.pk, affected_ids=list(affected_ids))


def gesture_report(*, incident: Incident) -> dict:
    """Received (fulfilled) / pending (not yet granted, or granted and being fulfilled) /
    failed, over the affected customers, with the approval."""
    row = IncidentGesture.objects.select_related("gesture", "approved_by", "proposed_by").filter(
        incident=incident).first()
    affected = AffectedCustomer.objects.filter(incident=incident).count()
    if row is None:
        return {"gesture": None, "affected": affected, "received": 0, "pending": 0, "failed": 0, "not_started": 0}
    counts = GestureDelivery.objects.filter(incident_gesture=row).aggregate(
        received=Count("id", filter=Q(status=DeliveryStatus.SENT, grant__status=GrantStatus.FULFILLED)),
        failed=Count("id", filter=Q(status=DeliveryStatus.FAILED) | Q(status=DeliveryStatus.SENT,
                                                                       grant__status=GrantStatus.FAILED)),
        total=Count("id"),
    )
    started = counts.pop("total")
    pending = started - counts["received"] - counts["failed"]
    not_started = max(0, affected - started) if row.state == GestureState.APPROVED else affected
    return {"gesture": row, "affected": affected, **counts, "pending": pending + (
        not_started if row.state == GestureState.APPROVED else 0), "not_started": not_started}
