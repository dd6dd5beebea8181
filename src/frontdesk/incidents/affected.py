"""The one way customers become affected by an incident.

Every source (a linked ticket, a CSV upload, an organization, the API, an agent) ends in
``affected_customers_add``, so "added twice" is the same as "added once" everywhere, and work
that must reach customers added later (updates already sent, the incident's gesture) has one
place to hook in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from frontdesk.accounts.models import Agent

from .distribution import on_customers_added
from .models import AffectedCustomer, Incident


@dataclass(frozen=True)
class AffectedEntry:
    customer_id: int
    group_key: str = ""
    external_id: str = ""
    ticket_id: int | None = None


def _fill_blanks(existing: AffectedCustomer, entry: AffectedEntry) -> bool:
    """A customer who comes in again keeps what we knew and gains what we did not."""
    changed = False
    for field in ("group_key", "external_id", "ticket_id"):
        new = getattr(entry, field)
        if new and not getattr(existing, field):
            setattr(existing, field, new)
            changed = True
    return changed


@transaction.atomic
def affected_customers_add(
    *, incident: Incident, entries: Iterable[AffectedEntry], source: str, actor: Agent | None,
) -> list[int]:
    """Add customers to ``incident`` once each; returns the ids of the rows created now.

    Entries for a customer already affected (in this call or before) merge into the existing
    row: blanks are filled, nothing known is overwritten."""
    wanted: dict[int, AffectedEntry] = {}
    for entry in entries:
        known = wanted.get(entry.customer_id)
        wanted[entry.customer_id] = entry if known is None else AffectedEntry(
            customer_id=entry.customer_id, group_key=known.group_key or entry.group_key,
            external_id=known.external_id or entry.external_id, ticket_id=known.ticket_id or entry.ticket_id,
        )
    existing = {row.customer_id: row for row in AffectedCustomer.objects.filter(
        incident=incident, customer_id__in=list(wanted),
    )}
    updated = [row for cid, row in existing.items() if _fill_blanks(row, wanted[cid])]
    if updated:
        AffectedCustomer.objects.bulk_update(updated, ["group_key", "external_id", "ticket_id"])
    now = timezone.now()
    AffectedCustomer.objects.bulk_create([
        AffectedCustomer(
            incident=incident, customer_id=cid, source=source, group_key=e.group_key, external_id=e.external_id,
            ticket_id=e.ticket_id, added_by=actor, added_at=now,
        )
        for cid, e in wanted.items() if cid not in existing
    ], ignore_conflicts=True)  # a concurrent add of the same customer wins; ours is a no-op
    # A row a concurrent call created for the same customer is returned by both calls: work
    # hooked on new rows must be idempotent anyway.
    created = list(
        AffectedCustomer.objects.filter(incident=incident, customer_id__in=[c for c in wanted if c not in existing])
        .values_list("id", flat=True)
    )
    on_customers_added(incident=incident, affected_ids=created)  # reach: latest update + the gesture
    return created
