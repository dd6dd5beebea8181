"""Inbound processing: the stored raw message becomes a ticket message, through an ordered
list of small stages written in one place (``STAGES``).

Contract: ``inbound_process`` is idempotent (a row not in ``received`` state is left alone)
and never raises for a bad message: whatever a stage cannot handle marks the row ``failed``
with its error, the raw bytes stay in the spool, and the line goes on. An admin can
reprocess it later (``services.inbound_reprocess``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from frontdesk.accounts.models import Agent
from frontdesk.core.errors import InvalidInput
from frontdesk.customers.models import ContactKind, ContactPoint, Customer
from frontdesk.customers.services import email_point_get_or_create, email_points_get_or_create, normalize_contact
from frontdesk.tickets.attachments import NewAttachment
from frontdesk.tickets.models import Channel, Message, Ticket
from frontdesk.tickets.selectors import ticket_following_merges
from frontdesk.tickets.services import MAX_CCS, ticket_add_ccs, ticket_create, ticket_receive_customer_message

from . import bounces
from .addresses import (
    base_address,
    no_reply_address,
    outbound_id_from_verp,
    plus_token,
    reference_from_reference_id,
    ticket_id_from_token,
)
from .automated import automated_reason, is_no_reply_address, is_own_loop, too_many_hops
from .models import InboundMessage, InboundStatus, Inbox, OutboundMessage, spool_dir
from .outbound import outbound_queue_ack
from .parsing import ParsedMail, parse_message

logger = logging.getLogger(__name__)

_SUBJECT_TAG = re.compile(r"\[#([2-9A-HJ-NP-Z]{8})\]")
MAX_SAME_ID = 50  # earlier messages compared with one that reuses their Message-ID


@dataclass
class Context:
    inbound: InboundMessage
    raw: bytes = b""
    parsed: ParsedMail | None = None
    sender: str = ""
    inbox: Inbox | None = None
    our_addresses: set[str] = field(default_factory=set)  # inbox addresses this mail names
    point: ContactPoint | None = None  # the sender's, when known before the transaction
    customer: Customer | None = None
    sender_deliverable: bool = True
    thread: Ticket | None = None
    thread_via: str = ""
    sender_is_cc: bool = False
    ccs: list[Customer] = field(default_factory=list)  # to copy on the ticket (find_ccs)
    message: Message | None = None
    created_ticket: bool = False
    flags: list[str] = field(default_factory=list)
    done: str = ""  # set by a stage that ends processing: the final status
    batch: dict = field(default_factory=dict)  # shared by the messages of one batch (inboxes)

    @property
    def mail(self) -> ParsedMail:
        assert self.parsed is not None
        return self.parsed


def read_raw(ctx: Context) -> None:
    ctx.raw = (spool_dir() / ctx.inbound.spool_name).read_bytes()


def describe(inbound: InboundMessage, raw: bytes, mail: ParsedMail) -> str:
    """Fill the row's summary columns from the parsed mail; return the sender address."""
    envelope_from = inbound.envelope_from or ("<>" if inbound.source == "smtp" else "")
    sender = mail.from_address or ("" if envelope_from == "<>" else envelope_from.lower())
    inbound.message_id = (mail.message_id or f"{hashlib.sha256(raw).hexdigest()}@frontdesk.invalid")[:998]
    inbound.from_address = sender[:320]
    inbound.subject = mail.subject[:250]
    inbound.automated = automated_reason(
        headers=mail.headers, from_address=mail.from_address, envelope_from=envelope_from
    )[:100]
    return sender


def parse(ctx: Context) -> None:
    ctx.parsed = parse_message(ctx.raw)


def summarise(ctx: Context) -> None:
    ctx.flags += [f"defect:{name}" for name in ctx.mail.defects[:20]]
    ctx.sender = describe(ctx.inbound, ctx.raw, ctx.mail)


def content_digest(mail: ParsedMail) -> str:
    """What the message says, independent of transport headers (Received, delivery route)."""
    digest = hashlib.sha256()
    for part in (mail.subject, mail.from_address, mail.text, mail.html or ""):
        digest.update(part.encode("utf-8", "replace") + b"\0")
    for attachment in mail.attachments:
        digest.update(hashlib.sha256(attachment.content).digest())
    return digest.hexdigest()


def deduplicate(ctx: Context) -> None:
    """Same Message-ID and same content as a message already handled: the same message (a
    retry after a lost 250, or the same mail fetched twice). Same id, different content: both
    kept, this one flagged (a reused id must not suppress the real mail)."""
    digest_flag = f"content:{content_digest(ctx.mail)[:32]}"
    ctx.inbound.flags = [*ctx.inbound.flags, digest_flag]
    earlier = (
        InboundMessage.objects.filter(message_id=ctx.inbound.message_id)
        .exclude(pk=ctx.inbound.pk).exclude(status__in=[InboundStatus.RECEIVED, InboundStatus.FAILED])
        .order_by("received_at", "id").values_list("flags", "sha256", "ticket_id")[:MAX_SAME_ID]
    )
    earlier = list(earlier)
    for flags, sha256, ticket_id in earlier:
        if digest_flag in flags or sha256 == ctx.inbound.sha256:
            ctx.inbound.ticket_id = ticket_id
            ctx.done = InboundStatus.DUPLICATE
            return
    if earlier:
        ctx.flags.append("message_id_reused")


def stop_loops(ctx: Context) -> None:
    if is_own_loop(ctx.mail.headers):
        ctx.flags.append("own_mail_returned")
        ctx.done = InboundStatus.IGNORED
    elif too_many_hops(ctx.mail.headers):
        ctx.flags.append("too_many_hops")
        ctx.done = InboundStatus.IGNORED


def sent_to_no_reply(ctx: Context) -> bool:
    """Whether the message went to our no-reply address and nowhere else of ours."""
    recipients = {base_address(a) for a in (ctx.inbound.envelope_to or [*ctx.mail.to, *ctx.mail.cc]) if "@" in a}
    return bool(recipients) and recipients == {no_reply_address().lower()}


def stop_no_reply(ctx: Context) -> None:
    """Mail sent only to our no-reply address answers mail meant for agents (an approval request
    quoting the approver's signed link): kept raw and flagged, never a ticket, never answered."""
    if sent_to_no_reply(ctx):
        ctx.flags.append("sent_to_no_reply")
        ctx.done = InboundStatus.IGNORED


def handle_bounce(ctx: Context) -> None:
    if bounces.handle_delivery_report(inbound=ctx.inbound, mail=ctx.mail):
        ctx.done = InboundStatus.BOUNCE


def _inboxes(ctx: Context) -> dict[str, Inbox]:
    """Every inbox by address, read once per batch (a handful of rows; the group comes along)."""
    if "inboxes" not in ctx.batch:
        ctx.batch["inboxes"] = {inbox.address.lower(): inbox for inbox in Inbox.objects.select_related("group")}
    return ctx.batch["inboxes"]


def choose_inbox(ctx: Context) -> None:
    candidates = [*ctx.inbound.envelope_to, *ctx.mail.to, *ctx.mail.cc]
    addresses = [base_address(address) for address in candidates if "@" in address]
    inboxes = _inboxes(ctx)
    by_address = {address: inboxes[address] for address in addresses if address in inboxes}
    ctx.inbox = next(iter(by_address.values()), None) or next(
        (inbox for inbox in inboxes.values() if inbox.is_default), None
    )
    ctx.our_addresses = set(by_address) | {a for a, inbox in inboxes.items() if inbox.is_default}
    ctx.inbound.inbox = ctx.inbox


def look_up_sender(ctx: Context) -> None:
    """The sender's contact point if the address is known (``identify_sender`` creates it)."""
    try:
        email = normalize_contact(kind=ContactKind.EMAIL, value=ctx.sender) if ctx.sender else ""
    except InvalidInput:
        return  # identify_sender reports it, in the transaction
    if email:
        ctx.point = ContactPoint.objects.select_related("customer").filter(kind=ContactKind.EMAIL, value=email).first()


def look_up_senders(contexts: list[Context]) -> None:
    """``look_up_sender`` for many messages, with one query."""
    emails: dict[int, str] = {}
    for index, ctx in enumerate(contexts):
        try:
            emails[index] = normalize_contact(kind=ContactKind.EMAIL, value=ctx.sender) if ctx.sender else ""
        except InvalidInput:
            continue
    wanted = {email for email in emails.values() if email}
    points = ContactPoint.objects.select_related("customer").filter(kind=ContactKind.EMAIL, value__in=wanted)
    by_email = {point.value: point for point in points} if wanted else {}
    for index, email in emails.items():
        contexts[index].point = by_email.get(email)


def identify_sender(ctx: Context) -> None:
    if not ctx.sender:
        raise ValueError("The message has no sender address (no From and a null envelope sender).")
    point = ctx.point or email_point_get_or_create(email=ctx.sender, name=ctx.mail.from_name)
    ctx.customer, ctx.sender_deliverable = point.customer, point.undeliverable_since is None


def _thread_by_address(ctx: Context) -> Ticket | None:
    for address in [*ctx.inbound.envelope_to, *ctx.mail.to, *ctx.mail.cc]:
        if (token := plus_token(address)) and (ticket_id := ticket_id_from_token(token)):
            if ticket := Ticket.objects.filter(pk=ticket_id).first():
                return ticket
    return None


def _thread_by_reference(message_id: str) -> Ticket | None:
    """Our stable per-ticket reference, or a message we sent."""
    if reference := reference_from_reference_id(message_id):
        return Ticket.objects.filter(reference=reference).first()
    outbound = OutboundMessage.objects.filter(message_id=message_id).select_related("ticket").first()
    return outbound.ticket if outbound else None


def _thread_by_inbound(message_id: str) -> Ticket | None:
    inbound = (
        InboundMessage.objects.filter(message_id=message_id, ticket__isnull=False)
        .select_related("ticket").order_by("received_at").first()
    )
    return inbound.ticket if inbound else None


def look_up_thread(ctx: Context) -> None:
    """``find_thread`` for what is already known before the transaction: our signed reply
    address, and Message-IDs we sent or stored with their ticket. A reply whose original is
    still waiting is left to ``find_thread``, in the transaction."""
    if ticket := _thread_by_address(ctx):
        ctx.thread, ctx.thread_via = ticket, "reply address"
        return
    for message_id in [*ctx.mail.in_reply_to, *reversed(ctx.mail.references)]:
        if ticket := _thread_by_reference(message_id) or _thread_by_inbound(message_id):
            ctx.thread, ctx.thread_via = ticket, "references"
            return


def find_thread(ctx: Context) -> None:
    """Which ticket this continues: our signed reply address, then Message-IDs we sent or
    stored, then the subject tag (only as a hint, for the requester themself). What
    ``look_up_thread`` found before the transaction stands."""
    if ctx.thread:
        return
    if ticket := _thread_by_address(ctx):
        ctx.thread, ctx.thread_via = ticket, "reply address"
        return
    ids = [*ctx.mail.in_reply_to, *reversed(ctx.mail.references)]
    for message_id in ids:
        ctx.thread = _thread_by_reference(message_id) or _ticket_by_message_id(message_id)
        if ctx.thread:
            ctx.thread_via = "references"
            return
    if match := _SUBJECT_TAG.search(ctx.mail.subject):
        ticket = Ticket.objects.filter(reference=match.group(1)).first()
        if ticket and ticket.requester_id == ctx.customer.pk:
            ctx.thread, ctx.thread_via = ticket, "subject tag"


def _ticket_by_message_id(message_id: str) -> Ticket | None:
    # The original may have arrived but not been processed yet (another worker, same burst):
    # process it first, so the reply joins its ticket whatever the order of the tasks.
    for waiting in InboundMessage.objects.filter(message_id=message_id, status=InboundStatus.RECEIVED):
        inbound_process(inbound_id=waiting.pk)
    return _thread_by_inbound(message_id)


def authorise_sender(ctx: Context) -> None:
    """Matching a thread is not authorising a sender: the requester or a CC of the ticket (of
    the one it was merged into, where the message will go) may append; anyone else gets a new
    ticket linked to the old one, and sees nothing of it."""
    if not ctx.thread:
        return
    ticket = ticket_following_merges(ticket=ctx.thread) if ctx.thread.merged_into_id else ctx.thread
    if ticket.requester_id == ctx.customer.pk:
        return
    if ticket.ccs.filter(pk=ctx.customer.pk).exists():
        ctx.sender_is_cc = True
        return
    ctx.flags.append(f"not_requester_of:{ctx.thread.reference}")
    ctx.thread_via = "linked"


def _is_ours(address: str, ours: set[str]) -> bool:
    """An inbox address (plus variants included), or a signed address we hand out."""
    if base_address(address) in ours:
        return True
    token = plus_token(address)
    return bool(token and (ticket_id_from_token(token) or outbound_id_from_verp(address)))


def _cc_addresses(ctx: Context) -> dict[str, str]:
    """The people besides the sender and us that the mail is addressed to: {address: name}."""
    found: dict[str, str] = {}
    for address in [*ctx.mail.to, *ctx.mail.cc]:
        if address == ctx.sender or address in found or is_no_reply_address(address):
            continue
        if _is_ours(address, ctx.our_addresses):
            continue
        try:
            address = normalize_contact(kind=ContactKind.EMAIL, value=address)
        except InvalidInput:
            continue
        found[address] = ctx.mail.names.get(address, "")
        if len(found) >= MAX_CCS:
            break
    return found


def find_ccs(ctx: Context) -> None:
    """Whom a person copies becomes a CC: on the ticket their mail opens, or on their own
    ticket when its requester writes again. Automated mail and a CC's mail add nobody; our
    agents are never customers. No query for a mail without other recipients."""
    if ctx.inbound.automated or ctx.sender_is_cc:
        return
    addresses = _cc_addresses(ctx)
    if not addresses:
        return
    for email in Agent.objects.filter(email__in=list(addresses)).values_list("email", flat=True):
        addresses.pop(email, None)
    points = email_points_get_or_create(emails=dict(sorted(addresses.items())))  # in order: see batch._write
    ccs = {points[email].customer_id: points[email].customer for email in addresses if email in points}
    ccs.pop(ctx.customer.pk, None)  # another address of the sender
    ctx.ccs = list(ccs.values())


def _attachments(ctx: Context) -> tuple[list[NewAttachment], str | None]:
    """Attachments with pre-assigned ids, and the HTML with cid: images pointing at them."""
    html = ctx.mail.html
    attachments = []
    for item in ctx.mail.attachments:
        public_id = uuid.uuid4()
        attachments.append(NewAttachment(filename=item.filename, content=item.content,
                                         content_type=item.content_type, public_id=public_id))
        if html and item.content_id:
            html = html.replace(f"cid:{item.content_id}", f"/api/v1/attachments/{public_id}")
    return attachments, html


def create_or_append(ctx: Context) -> None:
    attachments, html = _attachments(ctx)
    body = ctx.mail.text or ("(attachments only)" if attachments else "(empty message)")
    if ctx.thread and ctx.thread_via != "linked":
        ctx.message = ticket_receive_customer_message(
            ticket=ctx.thread, customer=ctx.customer, body=body, body_html=html, channel=Channel.EMAIL,
            attachments=attachments,
        )
        ctx.created_ticket = ctx.message.ticket_id != ctx.thread.pk  # a closed ticket's follow-up
        if ctx.ccs:  # the requester's mail (find_ccs): copy whom they copied
            ticket_add_ccs(ticket=ctx.message.ticket, actor=ctx.customer, customers=ctx.ccs, drop_overflow=True)
    else:
        ticket = ticket_create(
            subject=ctx.mail.subject or "(no subject)", requester=ctx.customer, body=body, body_html=html,
            channel=Channel.EMAIL, group=ctx.inbox.group if ctx.inbox else None, attachments=attachments,
            follow_up_of=ctx.thread, ccs=ctx.ccs,
        )
        ctx.message = ticket.first_message
        ctx.created_ticket = True
    ctx.inbound.ticket_id = ctx.message.ticket_id
    ctx.inbound.ticket_message = ctx.message


def acknowledge(ctx: Context) -> None:
    """A new ticket from a person gets one acknowledgement; automated mail never does."""
    if not ctx.created_ticket or ctx.inbound.automated or (ctx.inbox and not ctx.inbox.acknowledge):
        return
    if not ctx.sender_deliverable:  # bounced permanently before
        return
    ticket = ctx.message.ticket
    # A new ticket's thread is this one message: the acknowledgement answers it.
    outbound_queue_ack(ticket=ticket, to=ctx.sender, customer_name=ctx.customer.name, inbox=ctx.inbox,
                       thread=[ctx.inbound.message_id])


def watch_for_loops(ctx: Context) -> None:
    """Many messages on one ticket within a minute look like a loop: flag them and log."""
    if not ctx.inbound.ticket_id or ctx.created_ticket:
        return
    from django.conf import settings

    recent = InboundMessage.objects.filter(
        ticket_id=ctx.inbound.ticket_id, received_at__gte=timezone.now() - timedelta(minutes=1)
    ).count()
    if recent > settings.FRONTDESK_LOOP_MESSAGES_PER_MINUTE:
        ctx.flags.append("loop_suspected")
        logger.warning("ticket %s received %d messages within a minute: mail loop suspected",
                       ctx.message.ticket.reference if ctx.message else ctx.inbound.ticket_id, recent)


# Steps that only read, run for every message of a batch before its write transactions:
# SQLite has one writer, and whatever a worker parses or looks up while it holds the write
# lock holds up every other writer (the SMTP listener answering 250 first). What they find is
# re-checked in the transaction where a concurrent writer could have changed it (a thread's
# ticket is locked and re-read by the ticket services; a sender created meanwhile is found by
# identify_sender; a waiting original is processed by find_thread).
READ: list[Callable[[Context], None]] = [
    read_raw,
    parse,
    summarise,
    choose_inbox,
]
PREPARE: list[Callable[[Context], None]] = [
    *READ,
    look_up_sender,  # a batch looks its senders up with one query instead (look_up_senders)
    look_up_thread,
]

# In the write transaction, in this order.
STAGES: list[Callable[[Context], None]] = [
    deduplicate,
    stop_loops,
    stop_no_reply,
    handle_bounce,
    identify_sender,
    find_thread,
    authorise_sender,
    find_ccs,
    create_or_append,
    watch_for_loops,
    acknowledge,
]


def _run_stages(ctx: Context) -> str:
    for stage in STAGES:
        stage(ctx)
        if ctx.done:
            return ctx.done
    return InboundStatus.PROCESSED


# What processing may change on the row (its transport facts are written once, at receipt).
_PROCESSED_FIELDS = [
    "status", "error", "flags", "processed_at", "attempts", "message_id", "from_address", "subject",
    "automated", "inbox", "ticket", "ticket_message",
]


def _save(inbound: InboundMessage, *, status: str, flags: list[str], error: str = "") -> None:
    inbound.status = status
    inbound.error = error
    inbound.flags = list(dict.fromkeys([*inbound.flags, *flags]))
    inbound.processed_at = timezone.now()
    inbound.save(update_fields=_PROCESSED_FIELDS)


_in_progress = threading.local()


def inbound_process(*, inbound_id: int) -> str:
    """Process one stored message (see the module docstring for the contract). May be
    re-entered for another message (an original its reply needs); never for one in progress."""
    inbound = InboundMessage.objects.filter(pk=inbound_id, status=InboundStatus.RECEIVED).first()
    return _process(_prepare(inbound)) if inbound else "skipped"


@dataclass
class _Prepared:
    ctx: Context
    error: Exception | None = None


def _prepare(inbound: InboundMessage, shared: dict | None = None, steps=PREPARE) -> _Prepared:
    prepared = _Prepared(Context(inbound=inbound, batch={} if shared is None else shared))
    _prepare_more(prepared, steps)
    return prepared


def _prepare_more(prepared: _Prepared, steps) -> None:
    """Run more preparing ``steps``, unless an earlier one failed."""
    if prepared.error is not None:
        return
    try:
        for step in steps:
            step(prepared.ctx)
    except OperationalError:
        raise  # the database, not the message: the task retries
    except Exception as exc:  # recorded as the message's failure once it is claimed
        prepared.error = exc


def _process(prepared: _Prepared) -> str:
    inbound = prepared.ctx.inbound
    active: set[int] = getattr(_in_progress, "ids", None) or set()
    if inbound.pk in active:
        return "skipped"
    _in_progress.ids = active | {inbound.pk}
    try:
        with transaction.atomic():
            # Claim it under the write lock: another worker may have processed it meanwhile.
            claimed = InboundMessage.objects.filter(pk=inbound.pk, status=InboundStatus.RECEIVED).update(
                attempts=F("attempts") + 1)
            if not claimed:
                return "skipped"  # another worker got there first
            inbound.attempts += 1
            if prepared.error is not None:
                return _fail(inbound.pk, prepared.error)
            try:
                with transaction.atomic():  # a savepoint: a poison message rolls back alone
                    status = _run_stages(prepared.ctx)
                    _save(inbound, status=status, flags=prepared.ctx.flags)
                    return status
            except OperationalError:
                raise  # the database, not the message (locked, restarting): the task retries
            except Exception as exc:  # a poison message must not stop the line
                return _fail(inbound.pk, exc)
    finally:
        _in_progress.ids = active


def _fail(inbound_id: int, exc: Exception) -> str:
    logger.error("inbound message %s failed", inbound_id, exc_info=exc)
    inbound = InboundMessage.objects.get(pk=inbound_id)  # as claimed, without the rolled-back stages
    _describe_failed(inbound)
    _save(inbound, status=InboundStatus.FAILED, flags=[], error=f"{exc.__class__.__name__}: {exc}"[:2000])
    return InboundStatus.FAILED


def _describe_failed(inbound: InboundMessage) -> None:
    """Give a failed row its subject and sender for the "unprocessed mail" list, if the raw
    message can still be read at all."""
    try:
        raw = (spool_dir() / inbound.spool_name).read_bytes()
        describe(inbound, raw, parse_message(raw))
    except OSError:
        pass
