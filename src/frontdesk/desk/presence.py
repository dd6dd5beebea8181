"""Who else has a ticket open, and who is typing on it: collision awareness for agents.

Ephemeral state in Django's cache, never in the database: each open ticket page sends a
heartbeat every few seconds (``static/desk/ticket.js``). Every agent's state is its own cache
entry with a short TTL, so an agent who closes the tab (or whose browser dies) disappears on
their own after ``PRESENCE_TTL`` seconds, and no two heartbeats overwrite each other's state.
A per-ticket roster lists the agents to look up; a roster write lost to a race heals on the
next heartbeat of the agent it missed.

Where this lives: the ``default`` cache. With ``REDIS_URL`` it is Redis, shared by every web
process of a scaled deployment (tests/scale/test_realtime_fanout.py: an agent served by one
process sees who is present and typing through another). Without it, files in
FRONTDESK_HOME/cache, shared by the web workers of one machine. If Redis stops, presence is
empty until it returns (``core/cache.py``); nothing else breaks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache

from frontdesk.accounts.models import Agent

PRESENCE_TTL = 15  # seconds an agent counts as present after their last heartbeat
ROSTER_TTL = 60 * 60
MAX_ROSTER = 50
TYPING_KINDS = {"reply", "note"}


@dataclass(frozen=True)
class Presence:
    agent_id: int
    name: str
    typing: str  # "", "reply" or "note"
    seen_at: float

    @property
    def is_typing(self) -> bool:
        return bool(self.typing)


def _roster_key(ticket_id: int) -> str:
    return f"desk:presence:{ticket_id}"


def _agent_key(ticket_id: int, agent_id: int) -> str:
    return f"desk:presence:{ticket_id}:{agent_id}"


def _others(ticket_id: int, roster: list[int], states: dict, agent_id: int) -> list[Presence]:
    others = []
    for other_id in roster:
        state = states.get(_agent_key(ticket_id, other_id))
        if other_id != agent_id and state:
            others.append(Presence(agent_id=other_id, name=state["name"], typing=state["typing"],
                                   seen_at=state["at"]))
    return sorted(others, key=lambda p: (not p.is_typing, p.name.lower(), p.agent_id))


def presence_beat(*, ticket_id: int, agent: Agent, typing: str = "") -> list[Presence]:
    """Record that ``agent`` has the ticket open (and is typing a ``reply`` or ``note``, or
    not); return the other agents present, those typing first."""
    typing = typing if typing in TYPING_KINDS else ""
    cache.set(
        _agent_key(ticket_id, agent.pk),
        {"name": agent.name or agent.email, "typing": typing, "at": time.time()},
        PRESENCE_TTL,
    )
    roster = cache.get(_roster_key(ticket_id)) or []
    states = cache.get_many([_agent_key(ticket_id, other) for other in roster])
    alive = [other for other in roster if _agent_key(ticket_id, other) in states and other != agent.pk]
    updated = [*alive[-(MAX_ROSTER - 1):], agent.pk] if agent.pk not in roster else [
        other for other in roster if other == agent.pk or other in alive
    ]
    if updated != roster:
        cache.set(_roster_key(ticket_id), updated, ROSTER_TTL)
    else:
        cache.touch(_roster_key(ticket_id), ROSTER_TTL)
    return _others(ticket_id, roster, states, agent.pk)


def presence_leave(*, ticket_id: int, agent: Agent) -> None:
    """The agent closed the page: stop showing them at once rather than after the TTL."""
    cache.delete(_agent_key(ticket_id, agent.pk))


def presence_others(*, ticket_id: int, agent: Agent) -> list[Presence]:
    """The other agents with the ticket open now (read only: rendering the page)."""
    roster = cache.get(_roster_key(ticket_id)) or []
    states = cache.get_many([_agent_key(ticket_id, other) for other in roster])
    return _others(ticket_id, roster, states, agent.pk)
