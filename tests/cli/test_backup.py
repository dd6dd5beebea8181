"""``frontdesk backup``, ``export`` and ``import`` as an operator runs them: subprocesses on their
own homes. Moving from SQLite to PostgreSQL is tested when a PostgreSQL server answers."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest

from .test_cli import frontdesk, home_env  # noqa: F401 — the fixture

PG_SERVER = os.environ.get("PG_TEST_URL", "postgres://postgres@127.0.0.1:5432/test")
COUNTS = (
    "from frontdesk.tickets.models import Ticket, Message, TicketEvent;"
    "from frontdesk.customers.models import Customer; from frontdesk.accounts.models import Agent;"
    "print(Ticket.objects.count(), Message.objects.count(), TicketEvent.objects.count(),"
    " Customer.objects.count(), Agent.objects.count())"
)


def counts(env) -> str:
    return frontdesk(env, "manage", "shell", "--no-imports", "-c", COUNTS).stdout.strip()


@pytest.fixture
def demo_home(home_env):  # noqa: F811
    frontdesk(home_env, "demo", "--no-serve")
    return home_env


def test_it_backs_up_the_database_and_data_folders_into_a_dated_folder(demo_home, tmp_path):
    attachments = Path(demo_home["FRONTDESK_HOME"]) / "attachments"
    attachments.mkdir(exist_ok=True)
    (attachments / "kept.bin").write_bytes(b"\x00attachment")

    folder = Path(frontdesk(demo_home, "backup", str(tmp_path / "backups")).stdout.strip().splitlines()[-1])

    assert folder.parent == tmp_path / "backups" and folder.name.startswith("frontdesk-backup-")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["database"] == "sqlite" and manifest["tickets"] == 6
    copy = sqlite3.connect(folder / "frontdesk.sqlite3")
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert copy.execute("SELECT COUNT(*) FROM tickets_ticket").fetchone() == (6,)
    assert (folder / "attachments" / "kept.bin").read_bytes() == b"\x00attachment"
    assert (folder / "secret_key").read_text() == (Path(demo_home["FRONTDESK_HOME"]) / "secret_key").read_text()
    restored = {**demo_home, "DATABASE_URL": f"sqlite:///{folder / 'frontdesk.sqlite3'}"}
    assert counts(restored) == counts(demo_home)


def test_it_refuses_to_import_into_a_database_that_has_data(demo_home, tmp_path):
    export = tmp_path / "export.json"
    frontdesk(demo_home, "export", str(export))

    refused = frontdesk(demo_home, "import", str(export), check=False)
    assert refused.returncode == 1 and "not empty" in refused.stderr
    missing = frontdesk(demo_home, "import", str(tmp_path / "nope.json"), check=False)
    assert missing.returncode == 1 and "No such file" in missing.stderr


def _postgres_database() -> str | None:
    """A fresh PostgreSQL database for the move (dropped by the caller), or None without a server."""
    try:
        admin = psycopg.connect(PG_SERVER.replace("postgres://", "postgresql://"), connect_timeout=3, autocommit=True)
    except psycopg.OperationalError:
        return None
    name = f"frontdesk_move_{uuid.uuid4().hex[:8]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name


def test_it_moves_an_instance_from_sqlite_to_postgresql(demo_home, tmp_path):
    name = _postgres_database()
    if name is None:
        pytest.skip(f"no PostgreSQL server answers at {PG_SERVER}")
    target = {**demo_home, "FRONTDESK_HOME": str(tmp_path / "pg-home"),
              "DATABASE_URL": PG_SERVER.rsplit("/", 1)[0] + f"/{name}"}
    try:
        export = tmp_path / "export.json"
        frontdesk(demo_home, "export", str(export))
        frontdesk(target, "migrate")
        imported = frontdesk(target, "import", str(export), check=False)
        assert imported.returncode == 0, imported.stderr

        assert counts(target) == counts(demo_home)
        # The id sequences moved on with the data: new rows do not collide with imported ones.
        created = frontdesk(target, "createagent", "--email", "new@example.com", "--name", "New", check=False)
        assert created.returncode == 0, created.stderr
    finally:
        subprocess.run(["psql", PG_SERVER.replace("postgres://", "postgresql://"), "-c",
                        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], capture_output=True, check=False)
