"""Conversation links: issue, resolve, revoke.

A token is ``django.core.signing`` data (own salt, timestamped) holding a link id and a
random nonce. It is accepted only if the signature holds, it is younger than
``FRONTDESK_CONVERSATION_LINK_DAYS``, the nonce matches the stored hash, the link is not
revoked, and the ticket (after following merges) still belongs to the link's customer.
Every failure is the same ``None``: callers show one neutral page whatever went wrong.

This module imports tickets and customers only; ``mail`` imports it to put a link in
every email to a customer (both are channels; see ``intake`` for the reverse direction).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.utils import timezone

from frontdesk.customers.models import Customer
from frontdesk.tickets.models import Ticket

from .models import ConversationLink

TOKEN_SALT = "frontdesk.portal.conversation-link"
MAX_TOKEN_CHARS = 300
# Writing ``last_used_at`` on every page view would turn reads into writes.
LAST_USED_GRANULARITY = timedelta(minutes=5)
MAX_MERGE_HOPS = 10


@dataclass(frozen=True)
class ResolvedLink:
    link: ConversationLink
    ticket: Ticket  # the ticket to show: the link's own, or the one it was merged into


def _hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def link_issue(*, ticket: Ticket, customer: Customer | None = None) -> str:
    """A new link to ``ticket`` for its requester (or ``customer``, who must be the
    requester) → the token. The token is returned once and never stored."""
    customer_id = customer.pk if customer else ticket.requester_id
    if customer_id != ticket.requester_id:
        raise ValueError("A conversation link is only ever issued to the ticket's requester.")
    nonce = secrets.token_urlsafe(24)
    link = ConversationLink.objects.create(ticket=ticket, customer_id=customer_id, nonce_hash=_hash(nonce))
    return signing.dumps({"l": link.pk, "n": nonce}, salt=TOKEN_SALT)


def link_issue_many(*, tickets: list[Ticket]) -> list[str]:
    """``link_issue`` for many tickets (each for its requester), with one insert (atomic by
    itself: ``bulk_create`` is)."""
    nonces = [secrets.token_urlsafe(24) for _ in tickets]
    links = ConversationLink.objects.bulk_create([
        ConversationLink(ticket=ticket, customer_id=ticket.requester_id, nonce_hash=_hash(nonce))
        for ticket, nonce in zip(tickets, nonces, strict=True)
    ])
    return [signing.dumps({"l": link.pk, "n": nonce}, salt=TOKEN_SALT)
            for link, nonce in zip(links, nonces, strict=True)]


def link_path(token: str) -> str:
    return f"/c/{token}/"


def link_url(token: str) -> str:
    """The absolute URL put in mail: FRONTDESK_BASE_URL + /c/<token>/."""
    return settings.FRONTDESK_BASE_URL + link_path(token)


def link_issue_url(*, ticket: Ticket) -> str:
    return link_url(link_issue(ticket=ticket))


def surviving_ticket(ticket: Ticket) -> Ticket | None:
    """Follow merge pointers to the ticket the conversation continues in."""
    for _ in range(MAX_MERGE_HOPS):
        if not ticket.merged_into_id:
            return ticket
        ticket = Ticket.objects.select_related("requester").get(pk=ticket.merged_into_id)
    return None


def link_check(link: ConversationLink | None) -> ResolvedLink | None:
    """The ticket a link currently opens, or None (revoked, or no longer the customer's)."""
    if link is None or link.revoked_at is not None:
        return None
    ticket = surviving_ticket(link.ticket)
    # A merge into another customer's ticket must not open that ticket.
    if ticket is None or ticket.requester_id != link.customer_id:
        return None
    return ResolvedLink(link=link, ticket=ticket)


def link_get(*, link_id: int) -> ResolvedLink | None:
    link = ConversationLink.objects.select_related("ticket", "customer").filter(pk=link_id).first()
    return link_check(link)


def link_resolve(*, token: str) -> ResolvedLink | None:
    """The link and ticket a token opens, or None for any failure (malformed, tampered,
    expired, unknown, revoked, ticket no longer the customer's)."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        data = signing.loads(
            token, salt=TOKEN_SALT, max_age=timedelta(days=settings.FRONTDESK_CONVERSATION_LINK_DAYS)
        )
        link_id, nonce = int(data["l"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    link = ConversationLink.objects.select_related("ticket", "customer").filter(pk=link_id).first()
    if link is None or not hmac.compare_digest(link.nonce_hash, _hash(nonce)):
        return None
    return link_check(link)


def link_mark_used(*, link: ConversationLink) -> None:
    now = timezone.now()
    if link.last_used_at is None or now - link.last_used_at > LAST_USED_GRANULARITY:
        ConversationLink.objects.filter(pk=link.pk).update(last_used_at=now)
        link.last_used_at = now


def link_revoke(*, link: ConversationLink) -> None:
    ConversationLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def link_revoke_all(*, ticket: Ticket) -> int:
    """Revoke every link to ``ticket`` (and to tickets merged into it) → how many."""
    ticket_ids = [ticket.pk, *Ticket.objects.filter(merged_into=ticket).values_list("pk", flat=True)]
    return ConversationLink.objects.filter(ticket_id__in=ticket_ids, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
