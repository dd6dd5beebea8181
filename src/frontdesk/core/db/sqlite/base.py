"""SQLite with a fair write lock: Django's backend, plus an exclusive ``flock`` on a file next
to the database taken before ``BEGIN IMMEDIATE`` and released at commit or rollback.

Why: SQLite lets one writer in at a time, and a writer that finds the lock taken polls it
from its busy handler, sleeping 1, 2, 5 … up to 100 ms between tries. Under steady load (the
SMTP listener and two workers writing all the time) a waiter keeps missing the short gaps
between the others' transactions: measured in bench/ingest.py, the listener spent 91 % of its
time in ``BEGIN IMMEDIATE`` and the workers 43 %. A blocking ``flock`` waits in the kernel and
is handed the lock as soon as it is free, so writers queue instead of starving. Every Frontdesk
process uses this backend; another program writing to the database (the sqlite3 shell) still
works, through SQLite's own lock and busy timeout.

A connection that ``announces_writes`` (the SMTP listener's indexer) holds a shared lock on
``<db>-writeintent`` while it waits for and holds the write lock; every other writer lets it go
first (for at most ``YIELD_SECONDS``) before taking the lock, and a worker writing a long batch
commits early when it sees it waiting (``write_wanted``).
"""

from __future__ import annotations

import fcntl
import os
import time

from django.db.backends.sqlite3 import base

# How long a writer that does not announce its writes (a worker) lets one that does (the SMTP
# listener, whose senders wait for the commit) go first before it takes the lock anyway.
YIELD_SECONDS = 0.05
YIELD_POLL_SECONDS = 0.0005


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lock_fd: int | None = None
        self._lock_held = False
        self._intent_fd: int | None = None
        self._intent_held = False
        self.announces_writes = False

    def _uses_write_lock(self) -> bool:
        return self.transaction_mode == "IMMEDIATE" and not self.is_in_memory_db()

    def _lock_path(self) -> str:
        return f"{self.settings_dict['NAME']}-writelock"

    def _open_intent(self) -> int:
        if self._intent_fd is None:
            path = f"{self.settings_dict['NAME']}-writeintent"
            self._intent_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
        return self._intent_fd

    def _acquire_write_lock(self) -> None:
        if self.announces_writes:
            fcntl.flock(self._open_intent(), fcntl.LOCK_SH)
            self._intent_held = True
        else:
            # The kernel does not queue flock waiters: a worker that commits and begins again
            # at once would often win the lock over the listener already waiting for it.
            deadline = time.monotonic() + YIELD_SECONDS
            while self.write_wanted() and time.monotonic() < deadline:
                time.sleep(YIELD_POLL_SECONDS)
        if self._lock_fd is None:
            # One descriptor per connection: flock locks belong to the open file, so two
            # threads of one process exclude each other as two processes do.
            self._lock_fd = os.open(self._lock_path(), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self._lock_held = True

    def _release_write_lock(self) -> None:
        if self._lock_held:
            self._lock_held = False
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        if self._intent_held:
            self._intent_held = False
            fcntl.flock(self._intent_fd, fcntl.LOCK_UN)

    def write_wanted(self) -> bool:
        """Whether a connection that ``announces_writes`` waits for (or holds) the write lock."""
        if not self._uses_write_lock():
            return False
        fd = self._open_intent()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False

    def _start_transaction_under_autocommit(self):
        if not self._uses_write_lock():
            return super()._start_transaction_under_autocommit()
        self._acquire_write_lock()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_write_lock()
            raise

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_write_lock()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_write_lock()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._release_write_lock()
            for name in ("_lock_fd", "_intent_fd"):
                if (fd := getattr(self, name)) is not None:
                    os.close(fd)
                    setattr(self, name, None)
