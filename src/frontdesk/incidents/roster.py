"""Lists of people (a CSV upload, the back-office's API call) → affected customers.

One set of rules for both: a row has an email (required, the identity), a name, an optional
external id and an optional group key (companions: everyone on one booking). Emails are
matched case-insensitively on email contact points exactly as the customers app does
(``normalize_contact`` lowercases; ``email_points_get_or_create`` creates a customer for an
unknown address). The same email twice is one customer: the first non-empty value of each
column wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import transaction

from frontdesk.accounts.models import Agent
from frontdesk.core.errors import InvalidInput
from frontdesk.customers.models import ContactKind, ContactPoint
from frontdesk.customers.services import email_points_get_or_create, normalize_contact

from .affected import AffectedEntry, affected_customers_add
from .models import Incident

MAX_NAME = 200
MAX_EMAIL = 254  # ContactPoint.value
MAX_KEY = 100


@dataclass(frozen=True)
class RosterRow:
    email: str
    name: str = ""
    external_id: str = ""
    group_key: str = ""


def _clean(value, *, limit: int, what: str) -> str:
    text = " ".join(str(value or "").split())
    if len(text) > limit:
        raise InvalidInput(f"The {what} is longer than {limit} characters.", code="too_long")
    return text


def roster_row(raw: Mapping[str, object]) -> RosterRow:
    """A validated row, or ``InvalidInput`` saying what is wrong with it."""
    email = str(raw.get("email") or "").strip()
    if not email:
        raise InvalidInput("The email address is missing.", code="email_required")
    if len(email) > MAX_EMAIL:
        raise InvalidInput(f"The email address is longer than {MAX_EMAIL} characters.", code="invalid_email")
    try:
        email = normalize_contact(kind=ContactKind.EMAIL, value=email)
    except InvalidInput as exc:
        raise InvalidInput(f"{email!r} is not a valid email address.", code="invalid_email") from exc
    return RosterRow(
        email=email, name=_clean(raw.get("name"), limit=MAX_NAME, what="name"),
        external_id=_clean(raw.get("external_id"), limit=MAX_KEY, what="external id"),
        group_key=_clean(raw.get("group_key"), limit=MAX_KEY, what="group key"),
    )


def merge_rows(rows: Iterable[RosterRow]) -> tuple[list[RosterRow], int]:
    """Distinct rows by email (first-seen order) and how many duplicates were merged in."""
    merged: dict[str, RosterRow] = {}
    duplicates = 0
    for row in rows:
        known = merged.get(row.email)
        if known is None:
            merged[row.email] = row
            continue
        duplicates += 1
        merged[row.email] = RosterRow(
            email=row.email, name=known.name or row.name, external_id=known.external_id or row.external_id,
            group_key=known.group_key or row.group_key,
        )
    return list(merged.values()), duplicates


def unknown_emails(emails: list[str]) -> int:
    """How many of ``emails`` (normalised) no customer has yet."""
    known = 0
    for start in range(0, len(emails), 2000):
        chunk = emails[start:start + 2000]
        known += ContactPoint.objects.filter(kind=ContactKind.EMAIL, value__in=chunk).count()
    return len(emails) - known


@dataclass
class RosterResult:
    added: list[int]  # AffectedCustomer ids created now
    customers_created: int


@transaction.atomic
def roster_add(*, incident: Incident, rows: list[RosterRow], source: str, actor: Agent | None) -> RosterResult:
    """Add distinct ``rows`` (see ``merge_rows``) as affected customers, creating customers for
    unknown addresses: a few bulk statements for the whole list, one transaction."""
    if not rows:
        return RosterResult(added=[], customers_created=0)
    emails = {row.email: row.name for row in rows}
    # Known addresses as plain pairs (no model instances: this runs 100,000 times for a big
    # upload); only the unknown ones go through the customers app's get-or-create.
    customer_of = dict(ContactPoint.objects.filter(kind=ContactKind.EMAIL, value__in=list(emails))
                       .values_list("value", "customer_id"))
    unknown = {email: name for email, name in emails.items() if email not in customer_of}
    if unknown:
        customer_of.update({email: point.customer_id
                            for email, point in email_points_get_or_create(emails=unknown).items()})
    entries = [
        AffectedEntry(customer_id=customer_of[row.email], group_key=row.group_key, external_id=row.external_id)
        for row in rows
    ]
    added = affected_customers_add(incident=incident, entries=entries, source=source, actor=actor)
    return RosterResult(added=added, customers_created=len(unknown))
