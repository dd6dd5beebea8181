"""Every way a ticket changes. ``grep -n "^def ticket_"`` lists them.

Contract for all services here: keyword-only arguments; one transaction; the ticket row
is re-read under a row lock, so concurrent changes serialise instead of overwriting each
other; each change writes its timeline event in the same transaction. Permission to act
on the ticket is checked by the caller with ``selectors.ticket_get_for_agent``; the
services enforce the domain rules (status machine, who may author what, group membership).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from frontdesk.accounts.models import Agent, Group
from frontdesk.accounts.permissions import check_full_agent
from frontdesk.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from frontdesk.core.text import html_to_text, sanitize_html, single_line, text_to_html
from frontdesk.customers.models import ContactKind, ContactPoint, Customer
from frontdesk.customers.services import (
    customer_get_or_create_by_email,
    email_points_get_or_create,
    normalize_contact,
)

from .attachments import NewAttachment, check_size, clean_content_type, clean_filename, delete_file, store_file
from .lifecycle import ON_CUSTOMER_MESSAGE, check_transition
from .models import (
    AUTOMATIC_PURPOSE_MAX_LENGTH,
    Attachment,
    Channel,
    EventKind,
    Message,
    Priority,
    Status,
    Tag,
    Ticket,
    Visibility,
)
from .timeline import Actor, new_event, record_event, record_events

MAX_BODY_CHARS = 200_000
MAX_TAGS = 50
MAX_CCS = 20
_TAG = re.compile(r"^[a-z0-9][a-z0-9_:.-]{0,49}$")
_PURPOSE = re.compile(rf"^[a-z][a-z0-9_]{{0,{AUTOMATIC_PURPOSE_MAX_LENGTH - 1}}}$")
_UNSET = object()


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _touch(ticket: Ticket, **fields) -> None:
    fields["updated_at"] = timezone.now()
    for name, value in fields.items():
        setattr(ticket, name, value)
    Ticket.objects.filter(pk=ticket.pk).update(**fields)


def _bodies(body: str, body_html: str | None) -> tuple[str, str]:
    """(plain text, sanitized HTML) from whichever the author supplied."""
    if body_html:
        clean_html = sanitize_html(body_html)
        text = body or html_to_text(clean_html)
    else:
        text = body
        clean_html = text_to_html(body)
    if not text.strip():
        raise InvalidInput("A message needs a body.", code="empty_body")
    if len(text) > MAX_BODY_CHARS or len(clean_html) > 2 * MAX_BODY_CHARS:
        raise InvalidInput(f"A message body is limited to {MAX_BODY_CHARS} characters.")
    return text, clean_html


def _add_message(
    *,
    ticket: Ticket,
    visibility: str,
    author: Agent | Customer | None,
    body: str,
    body_html: str | None,
    channel: str,
    attachments: Sequence[NewAttachment],
    automatic: str = "",
) -> Message:
    text, clean_html = _bodies(body, body_html)
    for item in attachments:  # refuse before writing anything
        check_size(item.content)
    message = Message.objects.create(
        ticket=ticket,
        visibility=visibility,
        author_agent=author if isinstance(author, Agent) else None,
        author_customer=author if isinstance(author, Customer) else None,
        channel=channel,
        body_text=text,
        body_html=clean_html,
        automatic=automatic,
    )
    stored: list[str] = []
    try:
        for item in attachments:
            stored_name, digest = store_file(item.content)
            stored.append(stored_name)
            filename = clean_filename(item.filename)
            Attachment.objects.create(
                **({"public_id": item.public_id} if item.public_id else {}),
                message=message,
                filename=filename,
                content_type=clean_content_type(item.content_type, filename),
                size=len(item.content),
                sha256=digest,
                stored_name=stored_name,
            )
    except BaseException:
        for stored_name in stored:  # the rows roll back; the files must go with them
            delete_file(stored_name)
        raise
    return message


def _change_status(ticket: Ticket, *, status: str, actor: Actor) -> None:
    """Move ``ticket`` (locked) to ``status`` through the transition table, with its event."""
    if status == ticket.status:
        return
    check_transition(current=ticket.status, target=status)
    now = timezone.now()
    fields: dict = {"status": status}
    if status == Status.SOLVED:
        fields["solved_at"] = now
        fields["auto_close_at"] = now + timedelta(hours=settings.FRONTDESK_CLOSE_SOLVED_AFTER_HOURS)
    elif status == Status.CLOSED:
        fields["closed_at"] = now
        fields["auto_close_at"] = None
    else:
        fields["solved_at"] = None
        fields["auto_close_at"] = None
    before = ticket.status
    _touch(ticket, **fields)
    record_event(ticket=ticket, kind=EventKind.STATUS, actor=actor, before=before, after=status)


def normalize_tags(names: Iterable[str]) -> list[str]:
    tags = []
    for name in names:
        tag = name.strip().lower().replace(" ", "-")
        if not _TAG.match(tag):
            raise InvalidInput(
                f"Tag {name!r} is invalid: use up to 50 letters, digits, '-', '_', ':' or '.'.",
                code="invalid_tag",
            )
        if tag not in tags:
            tags.append(tag)
    return tags


def _set_tags(ticket: Ticket, names: list[str]) -> None:
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=name) for name in names if name not in existing]
    Tag.objects.bulk_create(missing, ignore_conflicts=True)
    ticket.tags.set(Tag.objects.filter(name__in=names))


def _check_assignment(group: Group | None, assignee: Agent | None) -> None:
    if assignee is None:
        return
    if not assignee.is_active or assignee.is_light:
        raise InvalidInput(
            f"{assignee.name} cannot be assigned tickets (inactive or light agent).",
            code="invalid_assignee",
        )
    if group is not None and not assignee.groups.filter(pk=group.pk).exists():
        raise InvalidInput(
            f"{assignee.name} is not a member of group {group.name}.", code="assignee_not_in_group"
        )


@transaction.atomic
def ticket_create(
    *,
    subject: str,
    requester: Customer,
    body: str,
    body_html: str | None = None,
    author: Agent | Customer | None = None,
    channel: str = Channel.WEB,
    priority: str = Priority.NORMAL,
    group: Group | None = None,
    assignee: Agent | None = None,
    tags: Iterable[str] = (),
    attachments: Sequence[NewAttachment] = (),
    follow_up_of: Ticket | None = None,
    ccs: Sequence[Customer] = (),
) -> Ticket:
    """Open a ticket whose first message is written by ``author`` (default: the requester),
    with ``ccs`` copied on the conversation (see ``ticket_set_ccs`` for the rules).

    A ticket a customer opens starts ``new``; one an agent opens for a customer starts
    ``open`` with the agent's message as a public reply. The returned ticket carries that
    message as ``ticket.first_message`` (callers such as the mail pipeline need it, and
    reading it back would cost a query).
    """
    author = author or requester
    if isinstance(author, Customer) and author.pk != requester.pk:
        raise InvalidInput("A customer can only open tickets for themself.")
    if isinstance(author, Agent):
        check_full_agent(author)
    subject = single_line(subject, max_length=250)
    if not subject:
        raise InvalidInput("A ticket needs a subject.", code="empty_subject")
    if priority not in Priority.values:
        raise InvalidInput(f"Unknown priority {priority!r}.")
    if channel not in Channel.values:
        raise InvalidInput(f"Unknown channel {channel!r}.")
    if requester.merged_into_id:
        raise InvalidInput("This customer was merged; use the customer it was merged into.")
    _check_assignment(group, assignee)
    tag_names = normalize_tags(tags)
    cc_list = _check_ccs(requester.pk, ccs)
    now = timezone.now()
    by_customer = isinstance(author, Customer)
    ticket = Ticket.objects.create(
        subject=subject,
        requester=requester,
        organization_id=requester.organization_id,
        status=Status.NEW if by_customer else Status.OPEN,
        priority=priority,
        channel=channel,
        group=group,
        assignee=assignee,
        follow_up_of=follow_up_of,
        created_at=now,
        updated_at=now,
        last_customer_message_at=now if by_customer else None,
        last_agent_reply_at=None if by_customer else now,
    )
    if tag_names:
        _set_tags(ticket, tag_names)
    created = new_event(
        ticket=ticket,
        kind=EventKind.CREATED,
        actor=author,
        after={
            "subject": subject, "status": ticket.status, "priority": priority, "channel": channel,
            "group": group.name if group else None,
            "assignee": assignee.email if assignee else None, "tags": tag_names,
        },
    )
    # The ticket's events are written together at the end (one insert, one task per
    # subscriber: ``record_events``), unless CCs are set, whose event comes after ``created``.
    events = [created]
    if cc_list:
        record_events(events)
        events = []
        _write_ccs(ticket, before=[], after=cc_list, actor=author)
    message = _add_message(
        ticket=ticket, visibility=Visibility.PUBLIC, author=author, body=body,
        body_html=body_html, channel=channel, attachments=attachments,
    )
    opening = new_event(
        ticket=ticket,
        kind=EventKind.CUSTOMER_MESSAGE if by_customer else EventKind.REPLY,
        actor=author,
        message=message,
    )
    # Nothing (a snooze, a scheduled reply) can wait on a ticket opened just now.
    opening.opens_ticket = True
    record_events([*events, opening])
    ticket.first_message = message
    return ticket


@transaction.atomic
def ticket_create_for_email(*, requester_email: str, requester_name: str = "", **fields) -> Ticket:
    """``ticket_create`` for the customer owning this address, created if new — in one
    transaction, so a refused ticket leaves no stray customer behind."""
    requester = customer_get_or_create_by_email(email=requester_email, name=requester_name)
    return ticket_create(requester=requester, **fields)


class UnseenCustomerMessage(Conflict):
    """The customer wrote after the newest message the replying agent had seen."""

    code = "unseen_customer_message"


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    author: Agent,
    body: str,
    body_html: str | None = None,
    attachments: Sequence[NewAttachment] = (),
    status: str | None = None,
    seen_message_id: int | None = None,
) -> Message:
    """A public reply by an agent, optionally setting the status in the same step
    ("send and set pending"). A reply to a new ticket opens it.

    With ``seen_message_id`` (the newest message the agent had in front of them), the reply
    is refused with ``UnseenCustomerMessage`` if the customer has written since: checked under
    the ticket's row lock, which every message insert also takes, so no message slips past.
    """
    check_full_agent(author)
    ticket = _locked(ticket)
    if ticket.status == Status.CLOSED:
        raise Conflict("This ticket is closed; open a follow-up instead.", code="ticket_closed")
    if seen_message_id is not None and ticket.messages.filter(
        pk__gt=seen_message_id, visibility=Visibility.PUBLIC, author_customer__isnull=False
    ).exists():
        raise UnseenCustomerMessage(
            "The customer wrote again since you opened this ticket: read their message before replying."
        )
    message = _add_message(
        ticket=ticket, visibility=Visibility.PUBLIC, author=author, body=body,
        body_html=body_html, channel=ticket.channel if ticket.channel != Channel.INTERNAL else Channel.WEB,
        attachments=attachments,
    )
    record_event(ticket=ticket, kind=EventKind.REPLY, actor=author, message=message)
    _touch(ticket, last_agent_reply_at=message.created_at)
    target = status or (Status.OPEN if ticket.status == Status.NEW else None)
    if target:
        _change_status(ticket, status=target, actor=author)
    return message


@transaction.atomic
def ticket_send_automatic_message(*, ticket: Ticket, body: str, purpose: str, actor: str = "scheduler") -> Message:
    """A public message Frontdesk writes itself (a reminder, a delay update, a check-in),
    recorded as an ``automatic`` event that mail delivers as automatic mail (RFC 3834).

    It is nobody's reply: the status and ``last_agent_reply_at`` stay as they are, so it never
    satisfies a response target. ``purpose`` is a short slug; ``actor`` names the component.
    Callers decide whether it is still due under their own lock; a closed ticket refuses.
    """
    if not _PURPOSE.match(purpose):
        raise InvalidInput(f"Invalid purpose {purpose!r}: a short lowercase slug.")
    ticket = _locked(_resolve_merges(ticket))
    if ticket.status == Status.CLOSED:
        raise Conflict("This ticket is closed.", code="ticket_closed")
    message = _add_message(
        ticket=ticket, visibility=Visibility.PUBLIC, author=None, body=body, body_html=None,
        channel=ticket.channel if ticket.channel != Channel.INTERNAL else Channel.WEB,
        attachments=(), automatic=purpose,
    )
    record_event(ticket=ticket, kind=EventKind.AUTOMATIC, actor=actor, message=message,
                 after={"purpose": purpose})
    _touch(ticket)
    return message


@transaction.atomic
def ticket_add_note(
    *,
    ticket: Ticket,
    author: Agent,
    body: str,
    body_html: str | None = None,
    attachments: Sequence[NewAttachment] = (),
) -> Message:
    """An internal note: visible to agents only, allowed for light agents and on closed
    tickets (the record may need adding to after the fact)."""
    if not author.is_active:
        raise Forbidden("This agent account is deactivated.")
    ticket = _locked(ticket)
    message = _add_message(
        ticket=ticket, visibility=Visibility.INTERNAL, author=author, body=body,
        body_html=body_html, channel=Channel.INTERNAL, attachments=attachments,
    )
    record_event(ticket=ticket, kind=EventKind.NOTE, actor=author, message=message)
    _touch(ticket)
    return message


def _resolve_merges(ticket: Ticket) -> Ticket:
    seen = set()
    while ticket.merged_into_id and ticket.pk not in seen:
        seen.add(ticket.pk)
        ticket = Ticket.objects.get(pk=ticket.merged_into_id)
    return ticket


@transaction.atomic
def ticket_receive_customer_message(
    *,
    ticket: Ticket,
    customer: Customer,
    body: str,
    body_html: str | None = None,
    channel: str = Channel.WEB,
    attachments: Sequence[NewAttachment] = (),
) -> Message:
    """A message from a customer on an existing ticket (email reply, portal, integration).

    Matching a thread is not authorising a sender: only the requester or a CC of the ticket
    may write here (``not_a_participant`` otherwise); the message is authored by whoever
    wrote it. Merged tickets forward to their target; pending and solved tickets reopen; a
    closed ticket gets a new follow-up ticket linked to it, which receives the message: its
    requester is the writer, and the closed ticket's other participants are its CCs.
    """
    ticket = _locked(_resolve_merges(ticket))
    if customer.pk != ticket.requester_id and not ticket.ccs.filter(pk=customer.pk).exists():
        raise Forbidden(
            "Only the requester or a CC can write on this ticket.", code="not_a_participant"
        )
    if channel not in Channel.values:
        raise InvalidInput(f"Unknown channel {channel!r}.")
    if ticket.status == Status.CLOSED:
        follow_up = ticket_create(
            subject=ticket.subject, requester=customer, body=body, body_html=body_html,
            channel=channel, priority=ticket.priority, group=ticket.group,
            attachments=attachments, follow_up_of=ticket,
            ccs=[c for c in [ticket.requester, *_cc_customers(ticket)] if c.pk != customer.pk][:MAX_CCS],
        )
        record_event(
            ticket=ticket, kind=EventKind.FOLLOW_UP, actor=customer,
            after={"reference": follow_up.reference},
        )
        return follow_up.messages.get()
    message = _add_message(
        ticket=ticket, visibility=Visibility.PUBLIC, author=customer, body=body,
        body_html=body_html, channel=channel, attachments=attachments,
    )
    record_event(ticket=ticket, kind=EventKind.CUSTOMER_MESSAGE, actor=customer, message=message)
    _touch(ticket, last_customer_message_at=message.created_at)
    if target := ON_CUSTOMER_MESSAGE.get(ticket.status):
        _change_status(ticket, status=target, actor=customer)
    return message


@transaction.atomic
def ticket_set_status(*, ticket: Ticket, actor: Actor, status: str) -> Ticket:
    ticket = _locked(ticket)
    if ticket.merged_into_id:
        raise Conflict("This ticket was merged into another.", code="ticket_merged")
    _change_status(ticket, status=status, actor=actor)
    return ticket


def _locked_for_requester(ticket: Ticket, customer: Customer) -> Ticket:
    """``ticket`` (or the one it was merged into) re-read under a lock, if ``customer`` is its requester."""
    ticket = _locked(ticket)
    if ticket.merged_into_id:
        ticket = _locked(_resolve_merges(ticket))
    if customer.pk != ticket.requester_id:
        raise Forbidden("Only the requester can change this ticket.", code="not_a_participant")
    return ticket


@transaction.atomic
def ticket_solve_by_customer(*, ticket: Ticket, customer: Customer) -> Ticket:
    """The requester confirms their problem is solved ("This solved my problem").

    The status event's actor is the customer: that is the timeline's record that the
    customer confirmed it. Already solved: nothing changes; closed: a conflict."""
    ticket = _locked_for_requester(ticket, customer)
    if ticket.status == Status.CLOSED:
        raise Conflict("This ticket is closed.", code="ticket_closed")
    _change_status(ticket, status=Status.SOLVED, actor=customer)
    return ticket


@transaction.atomic
def ticket_reopen_by_customer(*, ticket: Ticket, customer: Customer) -> Ticket:
    """The requester still needs help: a solved or pending ticket opens again, as a
    customer message would reopen it; other open statuses stay. Closed is final (the
    customer writes instead, which opens a follow-up)."""
    ticket = _locked_for_requester(ticket, customer)
    if ticket.status == Status.CLOSED:
        raise Conflict("This ticket is closed; write a message to open a follow-up.", code="ticket_closed")
    if target := ON_CUSTOMER_MESSAGE.get(ticket.status):
        _change_status(ticket, status=target, actor=customer)
    return ticket


@transaction.atomic
def ticket_set_priority(*, ticket: Ticket, actor: Actor, priority: str) -> Ticket:
    if priority not in Priority.values:
        raise InvalidInput(f"Unknown priority {priority!r}; choose one of {', '.join(Priority.values)}.")
    ticket = _locked(ticket)
    if priority != ticket.priority:
        before = ticket.priority
        _touch(ticket, priority=priority)
        record_event(ticket=ticket, kind=EventKind.PRIORITY, actor=actor, before=before, after=priority)
    return ticket


@transaction.atomic
def ticket_assign(
    *, ticket: Ticket, actor: Actor, group: Group | None | object = _UNSET,
    assignee: Agent | None | object = _UNSET,
) -> Ticket:
    """Route to a group and/or an agent; ``None`` clears, an omitted argument keeps.

    The assignee must be an active full agent and, when the ticket has a group, a member
    of it. Changing the group drops an assignee who is not a member of the new group.
    """
    ticket = _locked(ticket)
    if ticket.status == Status.CLOSED:
        raise Conflict("A closed ticket cannot be reassigned.", code="ticket_closed")
    new_group = ticket.group if group is _UNSET else group
    new_assignee = ticket.assignee if assignee is _UNSET else assignee
    if (
        assignee is _UNSET and new_assignee is not None and new_group is not None
        and not new_assignee.groups.filter(pk=new_group.pk).exists()
    ):
        new_assignee = None
    _check_assignment(new_group, new_assignee)
    if new_group != ticket.group:
        before = ticket.group.name if ticket.group else None
        _touch(ticket, group=new_group)
        record_event(
            ticket=ticket, kind=EventKind.GROUP, actor=actor, before=before,
            after=new_group.name if new_group else None,
        )
    if new_assignee != ticket.assignee:
        before = ticket.assignee.email if ticket.assignee else None
        _touch(ticket, assignee=new_assignee)
        record_event(
            ticket=ticket, kind=EventKind.ASSIGNEE, actor=actor, before=before,
            after=new_assignee.email if new_assignee else None,
        )
    return ticket


@transaction.atomic
def ticket_tag(
    *, ticket: Ticket, actor: Actor, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> Ticket:
    ticket = _locked(ticket)
    before = sorted(ticket.tags.values_list("name", flat=True))
    removing = set(normalize_tags(remove))
    after = sorted((set(before) | set(normalize_tags(add))) - removing)
    if len(after) > MAX_TAGS:
        raise InvalidInput(f"A ticket can carry at most {MAX_TAGS} tags.")
    if after != before:
        _set_tags(ticket, after)
        _touch(ticket)
        record_event(ticket=ticket, kind=EventKind.TAGS, actor=actor, before=before, after=after)
    return ticket


def _cc_customers(ticket: Ticket) -> list[Customer]:
    # Not the requester: a customer merge can fold a CC into them (the link stays, unused).
    return list(ticket.ccs.exclude(pk=ticket.requester_id).order_by("id"))


def _check_ccs(requester_id: int, customers: Iterable[Customer]) -> list[Customer]:
    """The CC list without repeats, or ``InvalidInput`` if it breaks a rule: the requester
    is never a CC of their own ticket, merged customers are named by their target, and a
    ticket has at most ``MAX_CCS``."""
    unique = list({customer.pk: customer for customer in customers}.values())
    if any(customer.pk == requester_id for customer in unique):
        raise InvalidInput("The requester cannot be a CC of their own ticket.", code="requester_not_cc")
    if any(customer.merged_into_id for customer in unique):
        raise InvalidInput("This customer was merged; use the customer it was merged into.")
    if len(unique) > MAX_CCS:
        raise InvalidInput(f"A ticket can have at most {MAX_CCS} CCs.", code="too_many_ccs")
    return unique


def _cc_emails(customer_ids: Iterable[int]) -> dict[int, str]:
    """The primary email address of each customer, in one query."""
    emails: dict[int, str] = {}
    rows = ContactPoint.objects.filter(customer_id__in=list(customer_ids), kind=ContactKind.EMAIL).order_by(
        "-is_primary", "id").values_list("customer_id", "value")
    for customer_id, value in rows:
        emails.setdefault(customer_id, value)
    return emails


def _write_ccs(ticket: Ticket, *, before: list[Customer], after: list[Customer], actor: Actor) -> None:
    """Store ``after`` as the CCs of ``ticket`` (locked), with a ``ccs`` event listing the
    addresses before and after. Nothing changes, nothing is written."""
    before_ids, after_ids = {c.pk for c in before}, {c.pk for c in after}
    if before_ids == after_ids:
        return
    through = Ticket.ccs.through
    if gone := before_ids - after_ids:
        through.objects.filter(ticket_id=ticket.pk, customer_id__in=gone).delete()
    if new := after_ids - before_ids:
        through.objects.bulk_create([through(ticket_id=ticket.pk, customer_id=pk) for pk in sorted(new)],
                                    ignore_conflicts=True)
    emails = _cc_emails(before_ids | after_ids)

    def listed(ids: set[int]) -> list[str]:
        return sorted(emails.get(pk) or f"customer:{pk}" for pk in ids)

    _touch(ticket)
    record_event(ticket=ticket, kind=EventKind.CCS, actor=actor, before=listed(before_ids), after=listed(after_ids))


def _locked_for_cc_change(ticket: Ticket, actor: Actor) -> Ticket:
    """The ticket under its lock, if ``actor`` may change its CCs: a full agent (visibility is
    the caller's check), the requester, or a system component. Closed tickets are final."""
    if isinstance(actor, Agent):
        check_full_agent(actor)
    ticket = _locked(ticket)
    if isinstance(actor, Customer) and actor.pk != ticket.requester_id:
        raise Forbidden("Only the requester can change who is copied.", code="not_a_participant")
    if ticket.status == Status.CLOSED:
        raise Conflict("This ticket is closed.", code="ticket_closed")
    return ticket


@transaction.atomic
def ticket_set_ccs(*, ticket: Ticket, actor: Actor, customers: Iterable[Customer]) -> Ticket:
    """Make ``customers`` the ticket's CCs: they may write on it and are copied on its public
    replies. Rules in ``_check_ccs``; one ``ccs`` event when the list changes."""
    ticket = _locked_for_cc_change(ticket, actor)
    wanted = _check_ccs(ticket.requester_id, customers)
    _write_ccs(ticket, before=_cc_customers(ticket), after=wanted, actor=actor)
    return ticket


@transaction.atomic
def ticket_add_ccs(
    *, ticket: Ticket, actor: Actor, customers: Iterable[Customer], drop_overflow: bool = False
) -> Ticket:
    """Add CCs to those the ticket has. With ``drop_overflow`` (mail: a message is never
    refused for its Cc line), customers beyond ``MAX_CCS`` and the requester are skipped
    instead of refused."""
    ticket = _locked_for_cc_change(ticket, actor)
    before = _cc_customers(ticket)
    after = list({c.pk: c for c in [*before, *customers]}.values())
    if drop_overflow:
        after = [c for c in after if c.pk != ticket.requester_id and not c.merged_into_id][:MAX_CCS]
    _write_ccs(ticket, before=before, after=_check_ccs(ticket.requester_id, after), actor=actor)
    return ticket


@transaction.atomic
def ticket_remove_ccs(*, ticket: Ticket, actor: Actor, customers: Iterable[Customer]) -> Ticket:
    ticket = _locked_for_cc_change(ticket, actor)
    before = _cc_customers(ticket)
    removing = {c.pk for c in customers}
    _write_ccs(ticket, before=before, after=[c for c in before if c.pk not in removing], actor=actor)
    return ticket


def cc_customers_for_emails(emails: Iterable[str]) -> list[Customer]:
    """The customers owning these addresses (validated), created if new, in the given order.
    Call inside the transaction that uses them, so a refused change leaves no stray customer."""
    normalized = list(dict.fromkeys(normalize_contact(kind=ContactKind.EMAIL, value=e) for e in emails))
    if len(normalized) > MAX_CCS:  # before creating anyone
        raise InvalidInput(f"A ticket can have at most {MAX_CCS} CCs.", code="too_many_ccs")
    points = email_points_get_or_create(emails=dict.fromkeys(normalized, ""))
    return [points[email].customer for email in normalized]


@transaction.atomic
def ticket_set_cc_emails(*, ticket: Ticket, actor: Actor, emails: Iterable[str]) -> Ticket:
    """``ticket_set_ccs`` naming the CCs by email address (customers found or created)."""
    _locked_for_cc_change(ticket, actor)  # refuse before creating anyone
    return ticket_set_ccs(ticket=ticket, actor=actor, customers=cc_customers_for_emails(emails))


@transaction.atomic
def ticket_merge(*, source: Ticket, target: Ticket, actor: Actor) -> Ticket:
    """Merge ``source`` into ``target``: the source closes and points to the target (later
    customer messages follow the pointer); the target gains the source's tags."""
    if source.pk == target.pk:
        raise InvalidInput("A ticket cannot be merged into itself.")
    # Lock both rows in primary-key order so two opposite merges cannot deadlock.
    locked = {t.pk: _locked(t) for t in sorted([source, target], key=lambda t: t.pk)}
    source, target = locked[source.pk], locked[target.pk]
    if source.merged_into_id or source.status == Status.CLOSED:
        raise Conflict("Only a ticket that is not closed can be merged.", code="ticket_closed")
    if target.merged_into_id or target.status == Status.CLOSED:
        raise Conflict("The target ticket is closed.", code="target_closed")
    now = timezone.now()
    _set_tags(target, sorted(set(target.tags.values_list("name", flat=True))
                             | set(source.tags.values_list("name", flat=True))))
    before_status = source.status
    _touch(source, merged_into=target, status=Status.CLOSED, closed_at=now, auto_close_at=None)
    record_event(ticket=source, kind=EventKind.MERGED_INTO, actor=actor,
                 after={"reference": target.reference})
    record_event(ticket=source, kind=EventKind.STATUS, actor=actor, before=before_status,
                 after=Status.CLOSED)
    _touch(target)
    record_event(ticket=target, kind=EventKind.MERGED, actor=actor,
                 after={"reference": source.reference, "subject": source.subject})
    return target


@transaction.atomic
def ticket_close_if_due(*, ticket_id: int, close_after_hours: int | None = None) -> str:
    """Close a solved ticket whose waiting period has passed (run by the scheduler's task).
    Safe to run twice and after a reopen: it only acts on a ticket still solved long enough.
    ``close_after_hours`` overrides ``FRONTDESK_CLOSE_SOLVED_AFTER_HOURS`` (a settings row of
    the followups app)."""
    ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
    if ticket is None:
        raise NotFound("No such ticket.")
    if ticket.status != Status.SOLVED or ticket.solved_at is None:
        return "skipped: not solved"
    hours = settings.FRONTDESK_CLOSE_SOLVED_AFTER_HOURS if close_after_hours is None else close_after_hours
    due = ticket.solved_at + timedelta(hours=hours)
    if due > timezone.now():
        # Claimed early (the period was lengthened since): wait for the new due time.
        Ticket.objects.filter(pk=ticket.pk).update(auto_close_at=due)
        return "skipped: not yet due"
    _change_status(ticket, status=Status.CLOSED, actor="scheduler")
    return "closed"


@transaction.atomic
def ticket_reschedule_auto_close(*, ticket_id: int, close_after_hours: int) -> Ticket | None:
    """Let a solved ticket close ``close_after_hours`` after it was solved, instead of the
    environment's default period (the followups settings row). Nothing for other statuses."""
    ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
    if ticket is None or ticket.status != Status.SOLVED or ticket.solved_at is None:
        return None
    due = ticket.solved_at + timedelta(hours=close_after_hours)
    if ticket.auto_close_at != due:
        Ticket.objects.filter(pk=ticket.pk).update(auto_close_at=due)
        ticket.auto_close_at = due
    return ticket
