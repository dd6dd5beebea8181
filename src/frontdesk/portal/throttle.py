"""Throttles for the public forms, kept in the Django cache (per process without Redis,
shared across processes with it).

A sliding window per (action, key): ``hit`` refuses when the key already used its
allowance within the window, and counts the attempt otherwise. The client address is
REMOTE_ADDR, never a forwarded-for header (RELIABILITY rule 9).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Limit:
    count: int
    window_seconds: int


# action → {key kind → limit}
LIMITS: dict[str, dict[str, Limit]] = {
    # The contact form: an office shares one address, so the address allowance is larger.
    "contact": {"ip": Limit(10, 3600), "email": Limit(5, 3600)},
    # "Email me a fresh link": per address, per requested email, per ticket reference.
    "link": {"ip": Limit(10, 3600), "email": Limit(3, 3600), "reference": Limit(3, 3600)},
    # Satisfaction ratings and their comments (frontdesk.csat): a few changes per ticket.
    "rating": {"ip": Limit(30, 3600), "reference": Limit(10, 3600)},
}


class Throttled(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after

    @property
    def minutes(self) -> int:
        return max(1, -(-self.retry_after // 60))


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _key(action: str, kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"portal:throttle:{action}:{kind}:{digest}"


def hit(action: str, **keys: str) -> None:
    """Count one attempt of ``action`` for each key (``ip=…, email=…``), or raise
    ``Throttled`` (counting nothing) when any key has used its allowance. One cache read and
    one write per window length for all the keys (a round trip each with Redis)."""
    now = time.time()
    limits = {_key(action, kind, value): LIMITS[action][kind] for kind, value in keys.items() if value}
    stored = cache.get_many(list(limits))
    updates: dict[int, dict[str, list[float]]] = {}
    waits = []
    for key, limit in limits.items():
        recent = [t for t in stored.get(key, []) if t > now - limit.window_seconds]
        if len(recent) >= limit.count:
            waits.append(int(min(recent) + limit.window_seconds - now) + 1)
        updates.setdefault(limit.window_seconds, {})[key] = recent + [now]
    if waits:
        raise Throttled(retry_after=max(waits))
    for window_seconds, values in updates.items():
        cache.set_many(values, window_seconds)
