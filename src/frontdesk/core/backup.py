"""Backups and moving an instance between databases.

``backup_create``: a consistent copy of everything an instance needs to come back — the
database (SQLite through its online backup API, safe while Frontdesk runs; PostgreSQL through
``pg_dump``), the attachments, the raw mail spool and the outbox — into a new dated folder.

``data_export`` / ``data_import``: every row as Django fixtures (JSON), database-neutral, to
move an instance from SQLite to PostgreSQL (or back): export on the old, ``migrate`` the new,
import there, copy the files folders.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection

from .errors import Conflict, InvalidInput

# Folders of FRONTDESK_HOME that hold data (the database aside).
DATA_FOLDERS = ("attachments", "spool", "outbox")
# Rows that are derived or per-installation: recreated by ``migrate`` or worthless elsewhere.
EXPORT_EXCLUDES = ("contenttypes", "auth.permission", "admin.logentry", "sessions")


def _database_copy(target: Path) -> str:
    db = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        destination = target / "frontdesk.sqlite3"
        source = sqlite3.connect(db["NAME"])
        copy = sqlite3.connect(destination)
        try:
            with copy:
                source.backup(copy)  # page by page, consistent even while others write
            if copy.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise Conflict("The database copy failed its integrity check.", code="backup_corrupt")
        finally:
            source.close()
            copy.close()
        return destination.name
    if connection.vendor == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if not pg_dump:
            raise InvalidInput("pg_dump is not installed: install the PostgreSQL client tools.", code="pg_dump_missing")
        destination = target / "frontdesk.pgdump"
        env = {"PGPASSWORD": str(db.get("PASSWORD") or "")}
        command = [pg_dump, "--format=custom", f"--file={destination}", "--no-owner",
                   f"--host={db.get('HOST') or 'localhost'}", f"--port={db.get('PORT') or 5432}",
                   f"--username={db.get('USER') or 'postgres'}", db["NAME"]]
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise Conflict(f"pg_dump failed: {result.stderr.strip()[:500]}", code="backup_failed")
        return destination.name
    raise InvalidInput(f"No backup method for {connection.vendor}.")


def backup_create(*, directory: Path) -> Path:
    """Write a new ``frontdesk-backup-<UTC time>`` folder under ``directory`` and return it.
    A half-written backup keeps a ``.partial`` suffix, so it is never mistaken for a good one."""
    from frontdesk.tickets.models import Ticket

    directory.mkdir(parents=True, exist_ok=True)
    name = f"frontdesk-backup-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    partial = directory / f"{name}.partial"
    partial.mkdir()
    database_file = _database_copy(partial)
    home = Path(settings.FRONTDESK_HOME)
    for folder in DATA_FOLDERS:
        if (home / folder).is_dir():
            shutil.copytree(home / folder, partial / folder, dirs_exist_ok=True)
    if (home / "secret_key").is_file():
        # The generated key signs every link in customers' mailboxes: restored with it, they still work.
        shutil.copy2(home / "secret_key", partial / "secret_key")
    manifest = {
        "created_at": datetime.now(UTC).isoformat(), "database": connection.vendor, "database_file": database_file,
        "folders": [f for f in DATA_FOLDERS if (partial / f).is_dir()], "tickets": Ticket.objects.count(),
    }
    (partial / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    final = directory / name
    partial.rename(final)
    return final


def data_export(*, output: Path) -> None:
    """Every row (less ``EXPORT_EXCLUDES``) as a JSON fixture, foreign keys to derived rows by natural key."""
    call_command("dumpdata", exclude=list(EXPORT_EXCLUDES), natural_foreign=True, output=str(output), verbosity=0)


def data_import(*, source: Path, force: bool = False) -> None:
    """Load an export into this (migrated) database — refused if it already holds tickets or
    agents, unless ``force``. Django resets the id sequences after loading."""
    from frontdesk.accounts.models import Agent
    from frontdesk.tickets.models import Ticket

    if not source.is_file():
        raise InvalidInput(f"No such file: {source}")
    if not force and (Ticket.objects.exists() or Agent.objects.exists()):
        raise Conflict("This database is not empty; import into a freshly migrated one (or pass --force).",
                       code="not_empty")
    call_command("loaddata", str(source), verbosity=0)
