"""Goodwill background work: thin, ids only, safe to run twice."""

from __future__ import annotations

from frontdesk.core.tasks import retrying_task


@retrying_task
def goodwill_fulfil(*, grant_id: int) -> str:
    """Send a granted gesture to the back-office webhook (retried with backoff on failure)."""
    from .services import grant_fulfil

    return grant_fulfil(grant_id=grant_id)


@retrying_task
def goodwill_approval_due(*, grant_id: int) -> str:
    """An approval request reached its due time: remind, then escalate."""
    from .services import grant_approval_due

    return grant_approval_due(grant_id=grant_id)
