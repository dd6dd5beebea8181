"""Tests that need a database other connections (threads, processes) share for real.

The default SQLite test database is in memory with a shared cache, where a second writer
gets "database table is locked" instead of waiting for the lock. On such a run these tests
are run again, by ``rerun_on_sqlite_file``, in a pytest subprocess whose test database is a
file (``FRONTDESK_TEST_SQLITE_NAME``); on PostgreSQL and file SQLite they run directly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import quote

import pytest
from django.db import connection


def in_memory_sqlite() -> bool:
    return connection.vendor == "sqlite" and connection.is_in_memory_db()


def needs_shared_database() -> None:
    if in_memory_sqlite():
        pytest.skip("needs a shared database: run again on a SQLite file by rerun_on_sqlite_file")


def rerun_on_sqlite_file(test_file: str, tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["FRONTDESK_TEST_SQLITE_NAME"] = str(tmp_path / "shared.sqlite3")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", test_file, "-q", "-o", "addopts=", "-p", "no:cacheprovider",
         "-k", "not sqlite_file"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]


def database_url() -> str:
    """The URL of the test database, for a subprocess to use the same one."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    auth = quote(settings["USER"] or "")
    if settings.get("PASSWORD"):
        auth += ":" + quote(settings["PASSWORD"])
    return f"postgres://{auth}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
