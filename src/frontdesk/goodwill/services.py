"""Every way a goodwill gesture changes: grant (or request), approve, deny, fulfil, revoke.

Each service is one transaction, appends to the ledger, records a ``goodwill`` timeline event
on the ticket and enqueues its follow-up work on commit. Grant state changes happen under a
row lock on the ``Grant``; budget checks happen under row locks on the ``BudgetLock`` rows of
every budget involved (see ``_lock_budgets``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from frontdesk.accounts.models import Agent, Group
from frontdesk.accounts.permissions import check_full_agent
from frontdesk.core import ssrf
from frontdesk.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from frontdesk.core.tasks import enqueue_on_commit
from frontdesk.notifications.services import notify_agents
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.selectors import ticket_get_for_agent
from frontdesk.tickets.timeline import record_event

from . import links
from .mandates import (
    approvers_for,
    charged_group,
    effective_mandate,
    from_base,
    known_currencies,
    mandate_refusal,
    may_approve,
    to_base,
)
from .models import (
    BudgetLock,
    EntryKind,
    Fulfilment,
    Gesture,
    Grant,
    GrantStatus,
    LedgerEntry,
    Reason,
    Voucher,
)

EVENT_KIND = "goodwill"
CENT = Decimal("0.01")


class MandateExceeded(Conflict):
    code = "mandate_exceeded"


class PoolExhausted(Conflict):
    code = "pool_exhausted"


# ---------------------------------------------------------------------------------------- helpers

def _money(value) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise InvalidInput("The value is not a number.", code="invalid_value") from exc
    if not amount.is_finite():
        raise InvalidInput("The value is not a number.", code="invalid_value")
    if amount < 0:
        raise InvalidInput("The value cannot be negative.", code="negative_value")
    if amount != amount.quantize(CENT):
        raise InvalidInput("The value has more than two decimals.", code="invalid_value")
    if amount >= Decimal("10000000000"):
        raise InvalidInput("The value is too large.", code="out_of_range")
    return amount.quantize(CENT)


def _check_value(gesture: Gesture, value: Decimal, currency: str) -> None:
    """The value must fit the catalog entry (converted to the gesture's currency)."""
    in_gesture_currency = (
        value if currency == gesture.currency else from_base(to_base(value, currency), gesture.currency)
    )
    if gesture.value is not None:
        if abs(in_gesture_currency - gesture.value) > CENT:
            raise InvalidInput(
                f"{gesture.name} is worth exactly {gesture.value} {gesture.currency}.", code="out_of_range"
            )
    elif not (gesture.min_value <= in_gesture_currency <= gesture.max_value):
        raise InvalidInput(
            f"{gesture.name} ranges from {gesture.min_value} to {gesture.max_value} {gesture.currency}.",
            code="out_of_range",
        )


def _lock_budgets(*, agent: Agent, group: Group | None, customer_id: int) -> None:
    """Take the row locks of every budget a grant touches, always in the same (key) order so
    two grants never deadlock. On SQLite the transaction already holds the database's write
    lock (BEGIN IMMEDIATE), which serialises writers just the same."""
    _lock_keys({f"agent:{agent.pk}", f"customer:{customer_id}", *([f"group:{group.pk}"] if group else [])})


def _lock_keys(keys: set[str]) -> None:
    keys = sorted(keys)
    BudgetLock.objects.bulk_create([BudgetLock(key=key) for key in keys], ignore_conflicts=True)
    list(BudgetLock.objects.select_for_update().filter(key__in=keys).order_by("key"))


def _entry(grant: Grant, kind: str, actor: Agent | str, detail: str = "") -> LedgerEntry:
    return LedgerEntry.objects.create(
        grant=grant, kind=kind,
        actor_agent=actor if isinstance(actor, Agent) else None,
        actor_system=actor if isinstance(actor, str) else "",
        at=timezone.now(), ticket_id=grant.ticket_id, customer_id=grant.customer_id, agent_id=grant.agent_id,
        group_id=grant.group_id, value=grant.value, currency=grant.currency, base_value=grant.base_value,
        reason=grant.reason, detail=detail,
    )


def _event(grant: Grant, actor: Agent | str, summary: str) -> None:
    record_event(
        ticket=grant.ticket, kind=EVENT_KIND, actor=actor,
        after={"grant": grant.pk, "status": grant.status, "gesture": grant.gesture.name,
               "value": str(grant.value), "currency": grant.currency, "summary": summary},
    )


def _label(grant: Grant) -> str:
    return f"{grant.gesture.name} ({grant.value} {grant.currency})"


def _locked(grant_id: int) -> Grant:
    grant = (
        Grant.objects.select_for_update(of=("self",)).select_related("gesture", "ticket", "agent", "customer")
        .filter(pk=grant_id).first()
    )
    if grant is None:
        raise NotFound("No such gesture.")
    return grant


def _take_voucher(grant: Grant) -> None:
    """Hand one free code of the pool to ``grant`` (inside the caller's transaction)."""
    free = Voucher.objects.filter(gesture=grant.gesture, grant__isnull=True).order_by("id")
    if connection.features.has_select_for_update_skip_locked:
        free = free.select_for_update(skip_locked=True)
    voucher = free.first()
    if voucher is None:
        raise PoolExhausted(
            f"The voucher pool of {grant.gesture.name} is empty: import more codes first. Nothing was granted."
        )
    voucher.grant, voucher.handed_at = grant, timezone.now()
    voucher.save(update_fields=["grant", "handed_at"])
    grant.code = voucher.code


def _start_fulfilment(grant: Grant, actor: Agent | str) -> None:
    """Grant is GRANTED: hand out the code, notify the task holder, or enqueue the webhook."""
    method = grant.gesture.fulfilment
    if method == Fulfilment.VOUCHER_POOL:
        _take_voucher(grant)
        grant.status, grant.fulfilled_at = GrantStatus.FULFILLED, timezone.now()
        grant.save(update_fields=["code", "status", "fulfilled_at"])
        _entry(grant, EntryKind.FULFILLED, actor, detail=f"code {grant.code}")
        _event(grant, actor, f"voucher {grant.code} handed out for {_label(grant)}")
    elif method == Fulfilment.MANUAL:
        gesture = grant.gesture
        people = [gesture.task_agent] if gesture.task_agent_id else []
        if gesture.task_group_id:
            people += list(gesture.task_group.agents.filter(is_active=True))
        if not people:
            people = list(Agent.objects.filter(role="admin", is_active=True))
        notify_agents(
            agents=people, kind="goodwill_task", ticket=grant.ticket, url="/desk/goodwill/attention/",
            text=f"To do: {_label(grant)} for ticket #{grant.ticket.reference}", key=f"goodwill-task:{grant.pk}",
        )
    else:
        from .tasks import goodwill_fulfil

        enqueue_on_commit(goodwill_fulfil, grant_id=grant.pk)


def _approval_hours() -> int:
    return settings.FRONTDESK_GOODWILL_APPROVAL_HOURS


def _ask_approvers(grant: Grant, *, reminder: int = 0, escalate: bool = False) -> int:
    approvers = approvers_for(base_value=grant.base_value, exclude=grant.agent, ticket=grant.ticket)
    if escalate:
        approvers += list(Agent.objects.filter(role="admin", is_active=True).exclude(pk=grant.agent_id))
    sent = 0
    prefix = {0: "Approval needed", 1: "Reminder: approval needed"}.get(reminder, "Overdue approval")
    for approver in {a.pk: a for a in approvers}.values():
        # In the desk and by email: each approver's own signed link (it works for them alone).
        sent += notify_agents(
            agents=[approver], kind="goodwill_approval", ticket=grant.ticket,
            url=links.approval_url(grant=grant, approver=approver),
            text=f"{prefix}: {_label(grant)} for #{grant.ticket.reference}, asked by {grant.agent.name}",
            key=f"goodwill-approval:{grant.pk}:{reminder}", email=True, detail=_approval_detail(grant),
        )
    return sent


def _approval_detail(grant: Grant) -> str:
    why = grant.entries.filter(kind=EntryKind.REQUESTED).values_list("detail", flat=True).first() or ""
    lines = [
        f"Customer: {grant.customer.name}",
        f"Reason: {grant.get_reason_display()}" + (f" — {grant.note}" if grant.note else ""),
        f"Why it needs approval ({grant.agent.name}'s mandate): {why}." if why else "",
        "The link opens a page where you approve or deny; opening it decides nothing. It works for you "
        "alone, signed in, until the request is decided.",
    ]
    return "\n".join(line for line in lines if line)


# ---------------------------------------------------------------------------------------- granting

@transaction.atomic
def gesture_grant(
    *, ticket: Ticket, agent: Agent, gesture: Gesture, value, currency: str, reason: str, note: str = "",
) -> Grant:
    """Grant ``gesture`` to the ticket's requester, or ask for approval when it is beyond the
    agent's mandate. Returns the ``Grant`` (status ``fulfilled``/``granted`` or
    ``pending_approval``). Raises ``NotFound`` (ticket hidden), ``Forbidden`` (light agent),
    ``InvalidInput`` (value, currency, reason), ``PoolExhausted`` (nothing is written)."""
    ticket = ticket_get_for_agent(agent=agent, reference=ticket.reference, write=True)
    amount, currency = _validated_amount(gesture=gesture, value=value, currency=currency, reason=reason)
    base_value = to_base(amount, currency)
    group = charged_group(agent=agent, ticket=ticket)
    _lock_budgets(agent=agent, group=group, customer_id=ticket.requester_id)
    refusal = mandate_refusal(
        mandate=effective_mandate(agent), agent=agent, customer=ticket.requester_id, group=group, base_value=base_value,
    )
    now = timezone.now()
    grant = Grant.objects.create(
        ticket=ticket, customer_id=ticket.requester_id, gesture=gesture, agent=agent, group=group, value=amount,
        currency=currency, base_value=base_value, reason=reason, note=note.strip(), requested_at=now,
        status=GrantStatus.PENDING_APPROVAL if refusal else GrantStatus.GRANTED,
    )
    if refusal:
        grant.approval_due_at = now + timedelta(hours=_approval_hours())
        grant.save(update_fields=["approval_due_at"])
        _entry(grant, EntryKind.REQUESTED, agent, detail=refusal)
        _event(grant, agent, f"asked for approval of {_label(grant)}: {refusal}")
        _ask_approvers(grant)
    else:
        _entry(grant, EntryKind.GRANTED, agent)
        _event(grant, agent, f"granted {_label(grant)} ({grant.get_reason_display().lower()})")
        _start_fulfilment(grant, agent)
    return grant


def _validated_amount(*, gesture: Gesture, value, currency: str, reason: str) -> tuple[Decimal, str]:
    """The checks every grant passes (reason, currency, value, catalog range): ``(amount, currency)``."""
    if reason not in Reason.values:
        raise InvalidInput(f"Choose a reason: {', '.join(Reason.values)}.", code="invalid_reason")
    currency = (currency or "").strip().upper()
    if currency not in known_currencies():
        raise InvalidInput(f"Unknown currency {currency!r}.", code="unknown_currency")
    amount = _money(value)
    if not gesture.active:
        raise InvalidInput(f"{gesture.name} is no longer offered.", code="inactive_gesture")
    _check_value(gesture, amount, currency)
    return amount, currency


def _by_source(source: str, customer_id: int) -> Grant | None:
    return Grant.objects.select_related("gesture").filter(source=source, customer_id=customer_id).first()


@transaction.atomic
def gesture_grant_preapproved(
    *, ticket: Ticket, gesture: Gesture, value, currency: str, reason: str, approved_by: Agent, source: str,
    note: str = "",
) -> tuple[Grant, bool]:
    """Grant ``gesture`` to the ticket's requester under an approval given elsewhere (e.g. one
    approval for an incident's gesture to every affected customer: ``source="incident:12"``).

    Idempotent per ``(source, customer)``: when that customer already has a grant from
    ``source`` it is returned with ``False`` (also when two calls race: the unique constraint
    decides, the loser's savepoint is rolled back and it returns the winner's grant). Otherwise
    ``(grant, True)``. Value, currency and catalog checks are those of ``gesture_grant``; the
    mandate is not checked per call (the caller checked the total with
    ``mandates.mandate_covers_total``). The grant is charged to ``approved_by`` and their first
    group (as ``mandates.budget_for`` without a ticket counts), and to the customer's total.
    Raises ``PoolExhausted`` when the voucher pool is empty: nothing is written for that customer.
    """
    source = (source or "").strip()
    if not source or len(source) > 100:
        raise InvalidInput("A pre-approved grant needs a source of at most 100 characters.", code="invalid_source")
    amount, currency = _validated_amount(gesture=gesture, value=value, currency=currency, reason=reason)
    # The customer's budget lock only: an ordinary grant to this customer at the same moment
    # then sees this one in the per-customer total. Not the approver's (one lock for every
    # worker of a distribution would serialise them, and no mandate is checked here).
    _lock_keys({f"customer:{ticket.requester_id}"})
    existing = _by_source(source, ticket.requester_id)
    if existing is not None:
        return existing, False
    now = timezone.now()
    try:
        with transaction.atomic():
            grant = Grant.objects.create(
                ticket=ticket, customer_id=ticket.requester_id, gesture=gesture, agent=approved_by,
                group=approved_by.groups.order_by("name", "id").first(), value=amount, currency=currency,
                base_value=to_base(amount, currency), reason=reason, note=note.strip(), requested_at=now,
                status=GrantStatus.GRANTED, decided_by=approved_by, decided_at=now, source=source,
            )
    except IntegrityError:
        existing = _by_source(source, ticket.requester_id)
        if existing is None:
            raise
        return existing, False
    _entry(grant, EntryKind.GRANTED, approved_by, detail=f"approved by {approved_by.name} for {source}")
    _event(grant, approved_by, f"granted {_label(grant)} ({grant.get_reason_display().lower()}) "
           f"under {approved_by.name}'s approval for {source}")
    _start_fulfilment(grant, approved_by)
    return grant, True


def _check_decider(grant: Grant, agent: Agent) -> None:
    check_full_agent(agent)
    ticket_get_for_agent(agent=agent, reference=grant.ticket.reference)
    if grant.agent_id == agent.pk:
        raise Forbidden("You cannot approve or deny your own request.", code="own_request")
    if not may_approve(agent, grant.base_value):
        raise Forbidden("Your mandate does not cover this gesture.", code="mandate_too_small")


def _check_pending(grant: Grant) -> None:
    if grant.status != GrantStatus.PENDING_APPROVAL:
        raise Conflict(f"This request was already decided ({grant.get_status_display().lower()}).", code="decided")


@transaction.atomic
def gesture_approve(*, grant: Grant, agent: Agent, note: str = "") -> Grant:
    """Approve a pending request: it is granted (counting against the requester's budgets)
    and fulfilment starts. Never one's own request; only with a covering mandate."""
    grant = _locked(grant.pk)
    _check_decider(grant, agent)
    _check_pending(grant)
    now = timezone.now()
    grant.status, grant.decided_by, grant.decided_at = GrantStatus.GRANTED, agent, now
    grant.decision_note, grant.approval_due_at = note.strip(), None
    grant.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "approval_due_at"])
    _entry(grant, EntryKind.APPROVED, agent, detail=note.strip())
    _entry(grant, EntryKind.GRANTED, agent)
    _event(grant, agent, f"approved {_label(grant)}")
    _start_fulfilment(grant, agent)
    notify_agents(
        agents=[grant.agent], kind="goodwill_decided", ticket=grant.ticket,
        text=f"{agent.name} approved {_label(grant)} for #{grant.ticket.reference}", key=f"goodwill-decided:{grant.pk}",
    )
    return grant


@transaction.atomic
def gesture_deny(*, grant: Grant, agent: Agent, note: str = "") -> Grant:
    grant = _locked(grant.pk)
    _check_decider(grant, agent)
    _check_pending(grant)
    grant.status, grant.decided_by, grant.decided_at = GrantStatus.DENIED, agent, timezone.now()
    grant.decision_note, grant.approval_due_at = note.strip(), None
    grant.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "approval_due_at"])
    _entry(grant, EntryKind.DENIED, agent, detail=note.strip())
    _event(grant, agent, f"denied {_label(grant)}" + (f": {note.strip()}" if note.strip() else ""))
    notify_agents(
        agents=[grant.agent], kind="goodwill_decided", ticket=grant.ticket,
        text=f"{agent.name} denied {_label(grant)} for #{grant.ticket.reference}", key=f"goodwill-decided:{grant.pk}",
    )
    return grant


@transaction.atomic
def gesture_revoke(*, grant: Grant, agent: Agent, note: str = "") -> Grant:
    """Administrators only: take back a granted gesture (e.g. given by mistake). The budget it
    used is freed; anything already credited by the back-office must be reversed there."""
    if not (agent.is_active and agent.is_admin):
        raise Forbidden("Only an administrator can revoke a gesture.")
    grant = _locked(grant.pk)
    if grant.status not in (GrantStatus.GRANTED, GrantStatus.FAILED, GrantStatus.FULFILLED):
        raise Conflict("Only a granted gesture can be revoked.", code="not_granted")
    grant.status = GrantStatus.REVOKED
    grant.save(update_fields=["status"])
    _entry(grant, EntryKind.REVOKED, agent, detail=note.strip())
    _event(grant, agent, f"revoked {_label(grant)}")
    return grant


# ---------------------------------------------------------------------------------------- fulfilment

def webhook_body(grant: Grant) -> bytes:
    customer = grant.customer
    return json.dumps({
        "idempotency_key": str(grant.idempotency_key),
        "grant_id": grant.pk,
        "gesture": {"id": grant.gesture_id, "name": grant.gesture.name, "kind": grant.gesture.kind},
        "value": str(grant.value), "currency": grant.currency, "reason": grant.reason,
        "ticket": grant.ticket.reference,
        "customer": {"id": customer.pk, "name": customer.name, "email": customer.primary_email},
    }, sort_keys=True).encode()


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def grant_fulfil(*, grant_id: int) -> str:
    """Send a granted webhook gesture to the back-office; safe to run twice.

    The HTTP call happens outside any transaction (no lock is held while waiting on another
    system). Two overlapping runs may both send: the body carries the grant's idempotency key
    (also as ``Idempotency-Key``) so the back-office credits once. A failure is recorded
    (ledger, ticket timeline, needs-attention list) and re-raised so the task retries."""
    grant = Grant.objects.select_related("gesture__endpoint", "ticket", "customer").get(pk=grant_id)
    if grant.status not in (GrantStatus.GRANTED, GrantStatus.FAILED) or grant.gesture.fulfilment != Fulfilment.WEBHOOK:
        return grant.status
    endpoint = grant.gesture.endpoint
    body = webhook_body(grant)
    try:
        response = ssrf.guarded_request(
            method="POST", url=endpoint.url, body=body, timeout=endpoint.timeout_seconds,
            allow_private=endpoint.allow_private,
            headers={"Content-Type": "application/json", "X-Frontdesk-Signature": sign(body, endpoint.secret),
                     "Idempotency-Key": str(grant.idempotency_key)},
        )
        if not 200 <= response.status < 300:
            raise ssrf.OutboundError(f"{endpoint.name} answered HTTP {response.status}")
    except DomainError as exc:
        _record_failure(grant_id, str(exc.detail))
        raise
    with transaction.atomic():
        grant = _locked(grant_id)
        if grant.status in (GrantStatus.GRANTED, GrantStatus.FAILED):
            grant.status, grant.fulfilled_at, grant.last_error = GrantStatus.FULFILLED, timezone.now(), ""
            grant.save(update_fields=["status", "fulfilled_at", "last_error"])
            _entry(grant, EntryKind.FULFILLED, "fulfilment", detail=f"{endpoint.name} accepted it")
            _event(grant, "fulfilment", f"{_label(grant)} fulfilled by {endpoint.name}")
    return grant.status


@transaction.atomic
def _record_failure(grant_id: int, error: str) -> None:
    grant = _locked(grant_id)
    if grant.status not in (GrantStatus.GRANTED, GrantStatus.FAILED):
        return
    grant.status = GrantStatus.FAILED
    grant.fulfilment_attempts += 1
    grant.last_error = error[:2000]
    grant.save(update_fields=["status", "fulfilment_attempts", "last_error"])
    _entry(grant, EntryKind.FULFILMENT_FAILED, "fulfilment", detail=error[:2000])
    _event(grant, "fulfilment",
           f"fulfilment of {_label(grant)} failed (attempt {grant.fulfilment_attempts}): {error[:200]}")
    notify_agents(
        agents=[grant.agent], kind="goodwill_failed", ticket=grant.ticket, url="/desk/goodwill/attention/",
        text=f"Fulfilment of {_label(grant)} for #{grant.ticket.reference} failed; it is retried.",
        key=f"goodwill-failed:{grant.pk}",
    )


@transaction.atomic
def grant_retry(*, grant: Grant, agent: Agent) -> Grant:
    """Run a failed webhook fulfilment again now (from the needs-attention list)."""
    check_full_agent(agent)
    grant = _locked(grant.pk)
    ticket_get_for_agent(agent=agent, reference=grant.ticket.reference)
    if grant.status != GrantStatus.FAILED:
        raise Conflict("Only a failed fulfilment can be retried.", code="not_failed")
    from .tasks import goodwill_fulfil

    enqueue_on_commit(goodwill_fulfil, grant_id=grant.pk)
    return grant


@transaction.atomic
def grant_task_done(*, grant: Grant, agent: Agent) -> Grant:
    """Mark a manual gesture (gift, note, …) done: it is then fulfilled."""
    check_full_agent(agent)
    grant = _locked(grant.pk)
    gesture = grant.gesture
    holder = (agent.is_admin or gesture.task_agent_id == agent.pk
              or (gesture.task_group_id and agent.groups.filter(pk=gesture.task_group_id).exists())
              or (not gesture.task_agent_id and not gesture.task_group_id))
    if not holder:
        raise NotFound("No such task.")
    if gesture.fulfilment != Fulfilment.MANUAL or grant.status != GrantStatus.GRANTED:
        raise Conflict("This gesture has no open task.", code="no_open_task")
    grant.status, grant.fulfilled_at, grant.task_done_by = GrantStatus.FULFILLED, timezone.now(), agent
    grant.save(update_fields=["status", "fulfilled_at", "task_done_by"])
    _entry(grant, EntryKind.FULFILLED, agent, detail="task done")
    _event(grant, agent, f"did the task for {_label(grant)}")
    return grant


# ---------------------------------------------------------------------------------------- approvals due

@transaction.atomic
def grant_approval_due(*, grant_id: int) -> str:
    """The approval's due time passed (claimed by the clock): remind the approvers; from the
    second time on, escalate to every administrator too. A new due time is set each time, so
    a request is never silently stuck. Safe to run twice (notification keys)."""
    grant = _locked(grant_id)
    if grant.status != GrantStatus.PENDING_APPROVAL:
        return grant.status
    grant.approval_reminders += 1
    escalate = grant.approval_reminders >= 2
    grant.approval_due_at = timezone.now() + timedelta(hours=settings.FRONTDESK_GOODWILL_REMINDER_HOURS)
    grant.save(update_fields=["approval_reminders", "approval_due_at"])
    _ask_approvers(grant, reminder=grant.approval_reminders, escalate=escalate)
    _event(grant, "scheduler", f"approval of {_label(grant)} is overdue: "
           + ("escalated to administrators" if escalate else "approvers reminded"))
    return grant.status


# ---------------------------------------------------------------------------------------- catalog

def vouchers_import(*, gesture: Gesture, agent: Agent, text: str) -> int:
    """Import voucher codes (CSV: the first column of each row; a header row ``code`` is
    skipped; duplicates are ignored). Returns how many new codes were added."""
    import csv
    import io

    if not (agent.is_active and agent.is_admin):
        raise Forbidden("Only an administrator can import vouchers.")
    if gesture.fulfilment != Fulfilment.VOUCHER_POOL:
        raise InvalidInput(f"{gesture.name} is not fulfilled from a voucher pool.", code="not_a_pool")
    codes = []
    for row in csv.reader(io.StringIO(text)):
        code = row[0].strip() if row else ""
        if not code or code.lower() == "code":
            continue
        if len(code) > 100:
            raise InvalidInput(f"Code {code[:20]}… is longer than 100 characters.", code="invalid_code")
        codes.append(code)
    if not codes:
        raise InvalidInput("The file holds no codes.", code="no_codes")
    with transaction.atomic():
        before = Voucher.objects.filter(gesture=gesture).count()
        Voucher.objects.bulk_create([Voucher(gesture=gesture, code=c) for c in dict.fromkeys(codes)],
                                    ignore_conflicts=True)
        return Voucher.objects.filter(gesture=gesture).count() - before
