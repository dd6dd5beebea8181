"""``GET /api/v1/search?q=…&cursor=…``: the search box's results as JSON (same syntax, same
permission rules: an agent never learns of a ticket they may not see)."""

from __future__ import annotations

from datetime import datetime

from ninja import Router, Schema

from . import selectors

router = Router(tags=["search"])


class TicketHitOut(Schema):
    reference: str
    subject: str
    status: str
    priority: str
    group: str | None
    assignee: str | None
    requester: str
    updated_at: datetime
    snippet: str  # HTML: escaped text, the matching words in <mark>


class CustomerHitOut(Schema):
    id: int
    name: str
    emails: list[str]


class SearchOut(Schema):
    tickets: list[TicketHitOut]
    customers: list[CustomerHitOut]
    ranked: bool  # best matches first (a small match set), else newest first
    next_cursor: str | None


@router.get("/search", response=SearchOut)
def search(request, q: str = "", cursor: str | None = None):
    """Tickets (a page of 25, with a snippet of the matching message) and, on the first page,
    customers. Query syntax: words, "phrases", prefix*, status:, tag:, from:, assignee:,
    group:, before:/after: (YYYY-MM-DD), is:unassigned. A bad operator value is a 400
    ``invalid_query`` with a readable detail."""
    results = selectors.search(agent=request.auth, text=q, cursor=cursor)
    return {
        "tickets": [{
            "reference": t.reference, "subject": t.subject, "status": t.status, "priority": t.priority,
            "group": t.group.name if t.group_id else None,
            "assignee": t.assignee.email if t.assignee_id else None,
            "requester": t.requester_email or str(t.requester), "updated_at": t.updated_at,
            "snippet": str(t.snippet),
        } for t in results.tickets],
        "customers": [{
            "id": c.pk, "name": c.name,
            "emails": [p.value for p in c.contact_points.all() if p.kind == "email"],
        } for c in results.customers],
        "ranked": results.ranked,
        "next_cursor": results.next_cursor,
    }
