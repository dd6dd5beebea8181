"""The shared cache: Redis when ``REDIS_URL`` is set (``ResilientRedisCache``, which never takes
the site down with it), else files in ``FRONTDESK_HOME`` shared by every local process
(``FileCache``).

What lives in the cache is helpful, not essential: who is viewing a ticket, inbox counts, login
and contact-form throttles. If Redis stops, Django's backend would raise on every page; this
one logs (once a minute) and behaves as an empty cache that forgets writes, so the workspace,
the portal and the API keep working and recover by themselves when Redis returns.
Throttles fail open meanwhile: better than locking every agent out.
"""

from __future__ import annotations

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

FILE_CULL_INTERVAL_SECONDS = 10.0


class FileCache(FileBasedCache):
    """Django's file cache, checked against ``MAX_ENTRIES`` at most every 10 s per process.

    Django's ``FileBasedCache`` lists its whole directory on every ``set`` to decide whether
    to cull: with a few thousand entries that listing costs more than the request writing the
    entry (measured: 1 ms of CPU per set at 900 entries, two sets per contact-form post for
    its throttles, growing with the directory). Checking at most once an interval lets the
    directory run past ``MAX_ENTRIES`` by what the processes write in one interval before the
    next check trims it (culling is a bound on disk use, not on what the cache answers).
    """

    _last_cull = float("-inf")

    def _cull(self):
        now = time.monotonic()
        if now - self._last_cull < FILE_CULL_INTERVAL_SECONDS:
            return
        self._last_cull = now
        super()._cull()


UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)
_LOG_EVERY_SECONDS = 60


class ResilientRedisCache(RedisCache):
    _last_warning = 0.0

    def _unavailable(self, operation: str, exc: Exception) -> None:
        now = time.monotonic()
        if now - ResilientRedisCache._last_warning > _LOG_EVERY_SECONDS:
            ResilientRedisCache._last_warning = now
            logger.warning("cache unavailable (%s: %s); carrying on without it", operation, exc)

    def _try(self, operation: str, call, fallback):
        try:
            return call()
        except UNAVAILABLE as exc:
            self._unavailable(operation, exc)
            return fallback

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._try("add", lambda: super(ResilientRedisCache, self).add(key, value, timeout, version), False)

    def get(self, key, default=None, version=None):
        return self._try("get", lambda: super(ResilientRedisCache, self).get(key, default, version), default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._try("set", lambda: super(ResilientRedisCache, self).set(key, value, timeout, version), None)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._try("touch", lambda: super(ResilientRedisCache, self).touch(key, timeout, version), False)

    def delete(self, key, version=None):
        return self._try("delete", lambda: super(ResilientRedisCache, self).delete(key, version), False)

    def get_many(self, keys, version=None):
        return self._try("get_many", lambda: super(ResilientRedisCache, self).get_many(keys, version), {})

    def has_key(self, key, version=None):
        return self._try("has_key", lambda: super(ResilientRedisCache, self).has_key(key, version), False)

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except UNAVAILABLE as exc:
            # As for a missing key: callers start counting afresh.
            self._unavailable("incr", exc)
            raise ValueError(f"Key {key!r} not found (cache unavailable)") from exc

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._try("set_many", lambda: super(ResilientRedisCache, self).set_many(data, timeout, version),
                         list(data))

    def delete_many(self, keys, version=None):
        return self._try("delete_many", lambda: super(ResilientRedisCache, self).delete_many(keys, version), None)

    def clear(self):
        return self._try("clear", lambda: super(ResilientRedisCache, self).clear(), None)
