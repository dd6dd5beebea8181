"""The ticket status machine: the one place that says which status may follow which."""

from __future__ import annotations

from frontdesk.core.errors import Conflict

from .models import Status

TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED}),
    Status.OPEN: frozenset({Status.PENDING, Status.ON_HOLD, Status.SOLVED}),
    Status.PENDING: frozenset({Status.OPEN, Status.ON_HOLD, Status.SOLVED}),
    Status.ON_HOLD: frozenset({Status.OPEN, Status.PENDING, Status.SOLVED}),
    Status.SOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    # Closed is final: a customer reply to a closed ticket opens a follow-up ticket.
    Status.CLOSED: frozenset(),
}

# Where a ticket goes when its customer writes (statuses not listed stay as they are:
# a new ticket stays new, on-hold waits on a third party).
ON_CUSTOMER_MESSAGE: dict[str, str] = {
    Status.PENDING: Status.OPEN,
    Status.SOLVED: Status.OPEN,
}


class InvalidTransition(Conflict):
    code = "invalid_transition"


def check_transition(*, current: str, target: str) -> None:
    if target not in Status.values:
        raise InvalidTransition(f"Unknown status {target!r}.")
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (closed is final)"
        raise InvalidTransition(
            f"A {current} ticket cannot become {target}; allowed: {allowed}."
        )
