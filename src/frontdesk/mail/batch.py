"""Processing the messages one SMTP group commit (or one IMAP fetch) stored, as a batch.

Every message is read, parsed and looked up first (``pipeline.PREPARE``: no transaction, so
two workers do this part side by side). Then the batch is written in short transactions
(``WRITE_BUDGET_SECONDS``): SQLite has one writer, and the SMTP listener waits for it before
it may answer 250. Inside, the common case — a person's mail that opens a ticket (no thread,
no copies, no attachments, not a bounce, loop or duplicate) — is written for a run of such
messages at once (``open_tickets``: one insert per table); every other message goes through
``pipeline.STAGES`` on its own, in arrival order, so an original is written before the reply
that follows it in the batch. The ticket events of a transaction reach each subscriber as one
task (``subscriptions.batched``).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence

from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from frontdesk.core.errors import InvalidInput
from frontdesk.customers.models import ContactKind
from frontdesk.customers.services import email_points_get_or_create, normalize_contact
from frontdesk.subscriptions import batched
from frontdesk.tickets.bulk import NewCustomerTicket, ticket_create_many
from frontdesk.tickets.models import Channel

from .automated import is_own_loop, too_many_hops
from .bounces import is_delivery_report
from .models import InboundMessage, InboundStatus
from .outbound import Ack, outbound_queue_acks
from .pipeline import (
    _PROCESSED_FIELDS,
    _SUBJECT_TAG,
    READ,
    _cc_addresses,
    _prepare,
    _prepare_more,
    _Prepared,
    _process,
    content_digest,
    look_up_senders,
    look_up_thread,
    sent_to_no_reply,
)

logger = logging.getLogger(__name__)

# How long one write transaction may run before it commits and the next begins: about the
# longest the SMTP listener waits for the write lock behind a worker.
WRITE_BUDGET_SECONDS = 0.015
MAX_RUN = 5  # tickets opened by one insert (the listener may wait for one run)


def inbound_process_many(*, inbound_ids: Sequence[int]) -> Counter[str]:
    """Process stored messages in the order they arrived; returns how many ended in each
    status. Idempotent, as ``pipeline.inbound_process``: rows no longer ``received`` are skipped."""
    outcomes: Counter[str] = Counter()
    # Read at once, not iterated: SQLite would show this loop's own writes to a running cursor.
    rows = list(InboundMessage.objects.filter(pk__in=inbound_ids, status=InboundStatus.RECEIVED).order_by("id"))
    shared: dict = {}
    prepared = [_prepare(inbound, shared, steps=READ) for inbound in rows]
    look_up_senders([item.ctx for item in prepared if item.error is None])
    for item in prepared:
        _prepare_more(item, [look_up_thread])
    position = 0
    while position < len(prepared):
        with transaction.atomic(), batched():
            started = time.monotonic()
            while True:  # at least one message (or run) per transaction
                run = _opening_run(prepared, position)
                if run:
                    outcomes.update(open_tickets(run))
                    position += len(run)
                else:
                    outcomes[_process(prepared[position])] += 1
                    position += 1
                if position >= len(prepared) or _yield_lock(started):
                    break
    outcomes["skipped"] += len(set(inbound_ids)) - outcomes.total()
    return outcomes


def _yield_lock(started: float) -> bool:
    """Time to commit: the transaction ran its budget, or the SMTP listener waits for the
    write lock (SQLite: ``write_wanted``). PostgreSQL commits after every message or run: it
    has no database-wide write lock to share, and workers write side by side there, so a
    transaction holding one message's new rows (a new sender's unique address) while it waits
    for another worker's could deadlock with it (measured: bench/ingest.py, 2 workers)."""
    if connection.vendor != "sqlite" or time.monotonic() - started >= WRITE_BUDGET_SECONDS:
        return True
    write_wanted = getattr(connection, "write_wanted", None)
    return bool(write_wanted and write_wanted())


def _sender_email(prepared: _Prepared) -> str | None:
    try:
        return normalize_contact(kind=ContactKind.EMAIL, value=prepared.ctx.sender)
    except InvalidInput:
        return None


def opens_ticket(prepared: _Prepared) -> bool:
    """Whether the stages would open a ticket for this message with nothing else to do, as
    far as can be told without a query (``open_tickets`` checks for duplicates)."""
    ctx = prepared.ctx
    if prepared.error is not None or ctx.parsed is None or not ctx.sender or ctx.thread is not None:
        return False
    mail = ctx.mail
    if mail.in_reply_to or mail.references or mail.attachments or _SUBJECT_TAG.search(mail.subject):
        return False
    if is_own_loop(mail.headers) or too_many_hops(mail.headers) or is_delivery_report(inbound=ctx.inbound, mail=mail):
        return False
    if sent_to_no_reply(ctx):
        return False
    if not ctx.inbound.automated and _cc_addresses(ctx):
        return False
    return _sender_email(prepared) is not None


def _opening_run(prepared: list[_Prepared], start: int) -> list[_Prepared]:
    """The messages from ``start`` on that open tickets, none sharing a Message-ID."""
    run: list[_Prepared] = []
    seen: set[str] = set()
    for item in prepared[start:start + MAX_RUN]:
        if not opens_ticket(item) or item.ctx.inbound.message_id in seen:
            break
        seen.add(item.ctx.inbound.message_id)
        run.append(item)
    return run


def _seen_before(run: list[_Prepared]) -> set[str]:
    """Message-IDs of the run that a handled message already had (``deduplicate`` decides)."""
    return set(
        InboundMessage.objects.filter(message_id__in=[item.ctx.inbound.message_id for item in run])
        .exclude(status__in=[InboundStatus.RECEIVED, InboundStatus.FAILED]).values_list("message_id", flat=True)
    )


def open_tickets(run: list[_Prepared]) -> Counter[str]:
    """Write a run of ticket-opening messages at once. Messages another worker took are
    skipped; from a Message-ID seen before on, the run goes through the stages one by one
    (``deduplicate``); if the bulk write fails, each message is retried on its own, so a
    poison message fails alone."""
    outcomes: Counter[str] = Counter()
    seen = _seen_before(run)
    if seen:
        cut = next(i for i, item in enumerate(run) if item.ctx.inbound.message_id in seen)
        for item in run[cut:]:
            outcomes[_process(item)] += 1
        run = run[:cut]
        if not run:
            return outcomes
    try:
        with transaction.atomic():
            claimed = _claim(run)
            if claimed:
                _write(claimed)
    except OperationalError:
        raise  # the database, not the messages: the task retries
    except Exception:
        logger.exception("opening %d tickets at once failed; processing them one by one", len(run))
        for item in run:
            outcomes[_process(item)] += 1
        return outcomes
    outcomes[InboundStatus.PROCESSED] += len(claimed)
    outcomes["skipped"] += len(run) - len(claimed)
    return outcomes


def _claim(run: list[_Prepared]) -> list[_Prepared]:
    """The run's rows still waiting, claimed under the write lock (PostgreSQL: row locks,
    skipping rows another worker holds)."""
    ids = set(
        InboundMessage.objects.select_for_update(skip_locked=True)
        .filter(pk__in=[item.ctx.inbound.pk for item in run], status=InboundStatus.RECEIVED)
        .values_list("pk", flat=True)
    )
    InboundMessage.objects.filter(pk__in=ids).update(attempts=F("attempts") + 1)
    return [item for item in run if item.ctx.inbound.pk in ids]


def _write(run: list[_Prepared]) -> None:
    """What the stages write for each message (identify_sender, create_or_append,
    acknowledge, the row's outcome), one insert per table."""
    new_senders = {
        _sender_email(item): item.ctx.mail.from_name for item in run if item.ctx.point is None
    }
    # In address order: two workers creating some of the same new senders (PostgreSQL, side by
    # side) then insert the unique addresses in the same order and cannot deadlock on them.
    new_senders = dict(sorted(new_senders.items()))
    points = email_points_get_or_create(emails=new_senders) if new_senders else {}
    for item in run:
        ctx = item.ctx
        point = ctx.point or points[_sender_email(item)]
        ctx.customer, ctx.sender_deliverable = point.customer, point.undeliverable_since is None
    tickets = ticket_create_many(drafts=[
        NewCustomerTicket(
            subject=item.ctx.mail.subject or "(no subject)", requester=item.ctx.customer,
            body=item.ctx.mail.text or "(empty message)", body_html=item.ctx.mail.html, channel=Channel.EMAIL,
            group=item.ctx.inbox.group if item.ctx.inbox else None,
        )
        for item in run
    ])
    acks = []
    for item, ticket in zip(run, tickets, strict=True):
        ctx = item.ctx
        ctx.message, ctx.created_ticket = ticket.first_message, True
        if not ctx.inbound.automated and (not ctx.inbox or ctx.inbox.acknowledge) and ctx.sender_deliverable:
            acks.append(Ack(ticket=ticket, to=ctx.sender, customer_name=ctx.customer.name, inbox=ctx.inbox,
                            thread=[ctx.inbound.message_id]))
    if acks:
        outbound_queue_acks(acks=acks)
    # The rows change last: if anything above fails, the stages start again from them.
    now = timezone.now()
    for item, ticket in zip(run, tickets, strict=True):
        inbound = item.ctx.inbound
        inbound.attempts += 1
        inbound.status, inbound.error, inbound.processed_at = InboundStatus.PROCESSED, "", now
        inbound.ticket_id, inbound.ticket_message = ticket.pk, ticket.first_message
        flags = [*inbound.flags, f"content:{content_digest(item.ctx.mail)[:32]}", *item.ctx.flags]
        inbound.flags = list(dict.fromkeys(flags))
    _save_many([item.ctx.inbound for item in run])


def _save_many(rows: list[InboundMessage]) -> None:
    """``pipeline._save`` for many rows: one prepared UPDATE run for each (Django's
    ``bulk_update`` builds a CASE expression per field and row, which costs more than it saves)."""
    fields = [InboundMessage._meta.get_field(name) for name in _PROCESSED_FIELDS]
    table, quote = InboundMessage._meta.db_table, connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    params = [
        [*(field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields), row.pk]
        for row in rows
    ]
    sql = f"UPDATE {quote(table)} SET {assignments} WHERE {quote('id')} = %s"  # noqa: S608 names from the model
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
