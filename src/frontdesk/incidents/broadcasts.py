"""Incident updates: written once, sent to every affected customer, exactly once each.

``broadcast_post`` stores the update (and the new incident status) and enqueues the fan-out.
The fan-out writes one ``BroadcastDelivery`` per affected customer (unique per broadcast and
customer) and schedules chunks of them on the task queue, each chunk ``run_after`` the start of a window
taken from the instance's one pace (``MailPace``), so all incident mail together stays under
``FRONTDESK_BROADCAST_PER_MINUTE``. Each delivery is claimed by a
conditional UPDATE (pending → sent) in the same transaction that posts the message, so a
worker killed halfway leaves it pending (the chunk task is handed back and runs again) and
two workers never both post it.

Where it goes: inside the customer's own conversation (``AffectedCustomer.ticket``) as an
automatic message that ``mail`` sends to everyone on that conversation (one message per
ticket, even when the requester and a CC are both affected); a customer with no conversation
(or only a closed one) gets a new outbound ticket from the update's author, remembered on the
affected row so their reply lands there. Customers added after an update was sent get the
latest update (not the whole history): it says where things stand.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from frontdesk.accounts.models import Agent
from frontdesk.accounts.permissions import check_full_agent
from frontdesk.core.errors import Conflict, DomainError, InvalidInput
from frontdesk.core.tasks import enqueue_on_commit
from frontdesk.core.text import single_line
from frontdesk.tickets.models import Channel, Message, Status, Ticket
from frontdesk.tickets.services import ticket_create, ticket_send_automatic_message, ticket_set_status

from .events import record_incident_event
from .models import (
    AffectedCustomer,
    Broadcast,
    BroadcastDelivery,
    BroadcastKind,
    DeliveryStatus,
    Incident,
    IncidentStatus,
    IncidentTicket,
    MailPace,
)

logger = logging.getLogger(__name__)

MAX_BODY = 20_000
PURPOSES = {BroadcastKind.UPDATE: "incident_update", BroadcastKind.RESOLUTION: "incident_resolution"}
FAN_OUT_BATCH = 5_000
BROADCAST_ACTOR = "incidents"
PACE = 1  # the one MailPace row


def clean_body(body: str, *, field: str = "The update") -> str:
    body = (body or "").strip()
    if not body:
        raise InvalidInput(f"{field} is empty.", code="empty_body")
    if len(body) > MAX_BODY:
        raise InvalidInput(f"{field} is longer than {MAX_BODY} characters.", code="body_too_long")
    return body


@transaction.atomic
def broadcast_post(
    *, incident: Incident, actor: Agent, body: str, status: str = "", on_status_page: bool = False,
) -> Broadcast:
    """Post an update to every affected customer (and, if asked, to /help/status), optionally
    moving the incident to ``status``. Resolving has its own service (``resolution``)."""
    from .services import incident_set_status

    check_full_agent(actor)
    body = clean_body(body)
    if status and status not in IncidentStatus.values:
        raise InvalidInput(f"Status must be one of {', '.join(IncidentStatus.values)}.", code="invalid_status")
    if status == IncidentStatus.RESOLVED:
        raise InvalidInput("Resolve the incident to send the final update.", code="use_resolve")
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.status == IncidentStatus.RESOLVED:
        raise Conflict("This incident is resolved; reopen it (change its status) to post an update.",
                       code="incident_resolved")
    if status and status != incident.status:
        incident = incident_set_status(incident=incident, actor=actor, status=status)
    broadcast = Broadcast.objects.create(
        incident=incident, kind=BroadcastKind.UPDATE, body=body, public_text=body, status_after=incident.status,
        on_status_page=on_status_page, created_by=actor,
    )
    start_fan_out(broadcast)
    return broadcast


def start_fan_out(broadcast: Broadcast) -> None:
    from .tasks import broadcast_fan_out

    enqueue_on_commit(broadcast_fan_out, broadcast_id=broadcast.pk)


def enqueue_at(task, when, **kwargs) -> None:
    """``enqueue_on_commit`` for a task that must not run before ``when``."""
    if when <= timezone.now():
        enqueue_on_commit(task, **kwargs)
        return
    delayed = task.using(run_after=when)
    if settings.TASKS[task.backend]["BACKEND"].startswith("django_tasks_db"):
        delayed.enqueue(**kwargs)
    else:
        transaction.on_commit(lambda: delayed.enqueue(**kwargs))


def schedule_chunks(task, ids: list[int], **kwargs) -> int:
    """Enqueue ``task(ids=chunk, **kwargs)`` per chunk of ``ids``, each at the start of the
    window it takes from the instance's pace (``reserve_windows``). Returns the number of
    chunks."""
    size = max(1, settings.FRONTDESK_BROADCAST_CHUNK)
    chunks = [ids[i:i + size] for i in range(0, len(ids), size)]
    for chunk, start in zip(chunks, reserve_windows([len(chunk) for chunk in chunks]), strict=True):
        enqueue_at(task, start, ids=chunk, **kwargs)
    return len(chunks)


@transaction.atomic(savepoint=False)  # the caller's transaction when there is one (no savepoint queries)
def reserve_windows(sizes: list[int]) -> list[datetime]:
    """Start times for chunks of ``sizes`` deliveries, one after the other at
    ``FRONTDESK_BROADCAST_PER_MINUTE``, after every window already given out: the limit holds
    for the whole instance (all incidents, updates and gestures, every worker), not per
    broadcast. Takes the ``MailPace`` row lock until the caller's transaction ends, so a
    rolled-back fan-out gives its windows back."""
    if not sizes:
        return []
    pace = MailPace.objects.select_for_update().filter(pk=PACE).first()
    if pace is None:  # first use (or a flushed test database); a racing first use waits here
        MailPace.objects.bulk_create([MailPace(pk=PACE, next_free_at=timezone.now())], ignore_conflicts=True)
        pace = MailPace.objects.select_for_update().get(pk=PACE)
    rate = max(1, settings.FRONTDESK_BROADCAST_PER_MINUTE)
    start = max(timezone.now(), pace.next_free_at)  # read after the lock: waiting took time
    starts = []
    for size in sizes:
        starts.append(start)
        start += timedelta(minutes=size / rate)
    pace.next_free_at = start
    pace.save(update_fields=["next_free_at"])
    return starts


@transaction.atomic
def broadcast_fan_out(*, broadcast_id: int) -> int:
    """One delivery row per affected customer (rows that exist are kept: safe to run twice),
    a timeline event on linked tickets no delivery will post into, and the chunks scheduled.
    Returns the number of deliveries scheduled."""
    from .tasks import broadcast_send_chunk

    broadcast = Broadcast.objects.select_for_update().select_related("incident").get(pk=broadcast_id)
    if broadcast.fanned_out_at is not None:
        return 0
    affected_ids = list(AffectedCustomer.objects.filter(incident_id=broadcast.incident_id)
                        .order_by("id").values_list("id", flat=True))
    deliveries_create(broadcast=broadcast, affected_ids=affected_ids)
    _mark_silent_linked_tickets(broadcast)
    broadcast.fanned_out_at = timezone.now()
    broadcast.save(update_fields=["fanned_out_at"])
    pending = list(BroadcastDelivery.objects.filter(broadcast=broadcast, status=DeliveryStatus.PENDING)
                   .order_by("id").values_list("id", flat=True))
    schedule_chunks(broadcast_send_chunk, pending)
    return len(pending)


def deliveries_create(*, broadcast: Broadcast, affected_ids: Iterable[int]) -> None:
    ids = list(affected_ids)
    now = timezone.now()
    for start in range(0, len(ids), FAN_OUT_BATCH):
        BroadcastDelivery.objects.bulk_create(
            [BroadcastDelivery(broadcast=broadcast, affected_id=aid, updated_at=now)
             for aid in ids[start:start + FAN_OUT_BATCH]],
            ignore_conflicts=True,  # the unique (broadcast, affected) keeps the first
        )


def _mark_silent_linked_tickets(broadcast: Broadcast) -> None:
    """Every update is in each linked ticket's timeline: tickets the deliveries will not post
    into (e.g. a customer's second ticket about the outage) get the event now (and, for the
    final update, are solved now)."""
    conversations = AffectedCustomer.objects.filter(incident_id=broadcast.incident_id, ticket__isnull=False) \
        .values("ticket_id")
    silent = (Ticket.objects.filter(incident_links__incident_id=broadcast.incident_id)
              .exclude(pk__in=conversations))
    for ticket in silent:
        record_incident_event(ticket=ticket, incident=broadcast.incident, actor=broadcast.created_by,
                              action=_action(broadcast), summary=_summary(broadcast), broadcast=broadcast.pk)
        if broadcast.kind == BroadcastKind.RESOLUTION:
            from .resolution import solve_if_done

            solve_if_done(ticket=ticket, incident=broadcast.incident, actor=broadcast.created_by)


def _action(broadcast: Broadcast) -> str:
    return "resolved" if broadcast.kind == BroadcastKind.RESOLUTION else "update"


def _summary(broadcast: Broadcast) -> str:
    text = broadcast.public_text or broadcast.body
    label = "Final update" if broadcast.kind == BroadcastKind.RESOLUTION else "Update"
    return single_line(f"{label} on {broadcast.incident.reference}: {text}", max_length=200)


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(template: str, *, ticket: Ticket, incident: Incident, gesture: str = "") -> str:
    """The text for one conversation: {name} is the requester's name (the person the
    conversation is with), {gesture} the incident's gesture once approved."""
    name = (ticket.requester.name or "").strip() or "there"
    values = _Blank(name=name, reference=incident.reference, title=incident.title, gesture=gesture,
                    ticket=ticket.reference)
    return template.format_map(values)


def open_outbound_ticket(*, affected: AffectedCustomer, author: Agent, body: str, remember: bool = True) -> Ticket:
    """A new conversation for a customer with none (or only a closed one): the update is the
    agent's first message, mailed as an ordinary reply; the ticket waits on hold (it is the
    incident's, not the customer's to answer) and is linked to the incident, so resolving it
    solves the ticket. The affected row remembers it (``remember``): the customer's reply
    lands there."""
    incident = affected.incident
    ticket = ticket_create(
        subject=f"{incident.title} ({incident.reference})", requester=affected.customer, body=body, author=author,
        channel=Channel.EMAIL, tags=["incident"],
    )
    ticket_set_status(ticket=ticket, actor=author, status=Status.ON_HOLD)
    IncidentTicket.objects.get_or_create(incident=incident, ticket=ticket,
                                         defaults={"linked_by": author, "linked_at": timezone.now()})
    if remember:
        AffectedCustomer.objects.filter(pk=affected.pk).update(ticket=ticket)
        affected.ticket = ticket
    return ticket


def usable_conversation(affected: AffectedCustomer) -> Ticket | None:
    """The customer's conversation if updates can still go there (not closed; a merged ticket
    continues in the one it was merged into)."""
    ticket = affected.ticket
    seen: set[int] = set()
    while ticket is not None and ticket.merged_into_id and ticket.pk not in seen:
        seen.add(ticket.pk)
        ticket = Ticket.objects.filter(pk=ticket.merged_into_id).select_related("requester").first()
    if ticket is None or ticket.status == Status.CLOSED:
        return None
    return ticket


def claim_delivery(model, delivery_id: int) -> bool:
    """pending → sent, or nothing if another worker has it (or had it). Inside the caller's
    transaction: if the work after it fails or the worker dies, the claim is undone too."""
    return bool(model.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.SENT, attempts=F("attempts") + 1, updated_at=timezone.now(),
    ))


def locked_affected(affected_id: int) -> AffectedCustomer:
    """The affected row under a lock: the update and the gesture of one customer without a
    conversation may run at once on two workers; the lock makes the second see the ticket the
    first opened instead of opening another."""
    return AffectedCustomer.objects.select_for_update(of=("self",)).select_related(
        "customer", "ticket__requester").get(pk=affected_id)


def broadcast_delivery_send(*, delivery_id: int, gesture_text: str = "") -> str:
    """Send one delivery (safe to run twice). A refusal the customer's data causes (a closed
    ticket that cannot take a new one, a merged customer) marks it failed with the reason; any
    other error is raised so the chunk task retries."""
    try:
        with transaction.atomic():
            return _send(delivery_id, gesture_text)
    except DomainError as error:
        BroadcastDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED, error=str(error)[:300], attempts=F("attempts") + 1,
            updated_at=timezone.now(),
        )
        logger.warning("incident update delivery %s failed: %s", delivery_id, error)
        return "failed"


def _send(delivery_id: int, gesture_text: str) -> str:
    if not claim_delivery(BroadcastDelivery, delivery_id):
        return "skipped"
    delivery = BroadcastDelivery.objects.select_related("broadcast__incident", "broadcast__created_by").get(
        pk=delivery_id)
    broadcast, affected = delivery.broadcast, locked_affected(delivery.affected_id)
    affected.incident = broadcast.incident
    ticket = usable_conversation(affected)
    if ticket is None:
        previous = affected.ticket  # closed: its timeline still records the update
        body = render(broadcast.body, ticket=Requester(affected), incident=broadcast.incident,
                      gesture=gesture_text)
        ticket = open_outbound_ticket(affected=affected, author=broadcast.created_by, body=body)
        message = ticket.first_message
        if previous is not None:
            record_incident_event(ticket=previous, incident=broadcast.incident, actor=broadcast.created_by,
                                  action=_action(broadcast), summary=_summary(broadcast), broadcast=broadcast.pk)
    else:
        ticket = Ticket.objects.select_for_update().select_related("requester").get(pk=ticket.pk)
        message = _already_posted(broadcast, ticket)
        if message is None:
            body = render(broadcast.body, ticket=ticket, incident=broadcast.incident, gesture=gesture_text)
            message = ticket_send_automatic_message(ticket=ticket, body=body, purpose=PURPOSES[broadcast.kind],
                                                    actor=BROADCAST_ACTOR)
        else:
            delivery.ticket, delivery.message = ticket, message
            delivery.save(update_fields=["ticket", "message"])
            return "shared"
    record_incident_event(ticket=ticket, incident=broadcast.incident, actor=broadcast.created_by,
                          action=_action(broadcast), summary=_summary(broadcast), broadcast=broadcast.pk)
    delivery.ticket, delivery.message = ticket, message
    delivery.save(update_fields=["ticket", "message"])
    if broadcast.kind == BroadcastKind.RESOLUTION:
        from .resolution import solve_if_done

        solve_if_done(ticket=ticket, incident=broadcast.incident, actor=broadcast.created_by)
    return "sent"


class Requester:
    """What ``render`` reads of a ticket, for a conversation that does not exist yet."""

    def __init__(self, affected: AffectedCustomer):
        self.requester = affected.customer
        self.reference = ""


def _already_posted(broadcast: Broadcast, ticket: Ticket) -> Message | None:
    """The message this broadcast already put in ``ticket`` for another customer on it (the
    requester and a CC share one conversation: one message, mailed to both)."""
    row = (BroadcastDelivery.objects.filter(broadcast=broadcast, ticket=ticket, message__isnull=False)
           .select_related("message").first())
    return row.message if row else None


def latest_broadcast(incident_id: int) -> Broadcast | None:
    """The update a customer added now should get (its fan-out may still be queued: the
    delivery rows are unique, whoever writes them first)."""
    return Broadcast.objects.filter(incident_id=incident_id).order_by("-created_at", "-id").first()
