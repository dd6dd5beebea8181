"""Sign-in throttling: failed attempts per username and per client address, kept in the cache.

A sliding window: after ``limit`` failures within ``window`` seconds, further attempts are
refused until the oldest failure leaves the window. Per username stops guessing one agent's
password from many addresses; per address stops one client trying many agents (the address
limit is higher: an office shares one). The client address is REMOTE_ADDR, never a
forwarded-for header (RELIABILITY rule 9: trust headers only from trusted hops).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 15 * 60


def _limits() -> dict[str, int]:
    return {
        "user": getattr(settings, "FRONTDESK_LOGIN_FAILURES_PER_USER", 5),
        "ip": getattr(settings, "FRONTDESK_LOGIN_FAILURES_PER_IP", 20),
    }


@dataclass(frozen=True)
class Throttled(Exception):
    retry_after: int  # seconds

    @property
    def minutes(self) -> int:
        return max(1, -(-self.retry_after // 60))


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"desk:login-failures:{kind}:{digest}"


def _recent(key: str, now: float) -> list[float]:
    return [t for t in cache.get(key, []) if t > now - WINDOW_SECONDS]


def login_throttle_check(*, username: str, ip: str) -> None:
    """Raise ``Throttled`` when this username or address has used up its failures."""
    now = time.time()
    waits = []
    for kind, value in (("user", username), ("ip", ip)):
        if not value:
            continue
        failures = _recent(_key(kind, value), now)
        if len(failures) >= _limits()[kind]:
            waits.append(int(min(failures) + WINDOW_SECONDS - now) + 1)
    if waits:
        raise Throttled(retry_after=max(waits))


def login_failure_record(*, username: str, ip: str) -> None:
    now = time.time()
    for kind, value in (("user", username), ("ip", ip)):
        if not value:
            continue
        key = _key(kind, value)
        failures = _recent(key, now)[-(_limits()[kind] * 2):] + [now]
        cache.set(key, failures, WINDOW_SECONDS)


def login_failures_clear(*, username: str) -> None:
    """A successful sign-in forgives the username's failures (not the address's)."""
    cache.delete(_key("user", username))
