import stat
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from frontdesk.settings import _secret_key, database_from_url, env_bool


def test_it_defaults_to_a_server_tuned_sqlite_in_home(tmp_path):
    db = database_from_url("", tmp_path)

    assert db["ENGINE"] == "frontdesk.core.db.sqlite"  # Django's SQLite backend with a fair write lock
    assert db["NAME"] == str(tmp_path / "frontdesk.sqlite3")
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]


def test_it_reads_postgres_urls(tmp_path):
    db = database_from_url("postgres://fd:p%40ss@db.internal:6543/helpdesk?sslmode=require", tmp_path)

    assert (db["ENGINE"], db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "django.db.backends.postgresql", "helpdesk", "fd", "p@ss", "db.internal", "6543")
    assert db["OPTIONS"] == {"sslmode": "require", "connect_timeout": "5"}  # a vanished host fails fast


def test_it_refuses_unknown_schemes(tmp_path):
    with pytest.raises(ImproperlyConfigured):
        database_from_url("mysql://x/y", tmp_path)


def test_it_generates_a_private_secret_key_once(tmp_path, monkeypatch):
    monkeypatch.delenv("FRONTDESK_SECRET_KEY", raising=False)
    first = _secret_key(tmp_path)

    assert len(first) >= 50 and _secret_key(tmp_path) == first
    assert stat.S_IMODE(Path(tmp_path / "secret_key").stat().st_mode) == 0o600


def test_it_refuses_ambiguous_booleans(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured):
        env_bool("X_FLAG")


def test_it_reads_relative_and_absolute_sqlite_urls(tmp_path):
    assert database_from_url("sqlite:///data/fd.db", tmp_path)["NAME"] == "data/fd.db"
    assert database_from_url("sqlite:////var/lib/fd.db", tmp_path)["NAME"] == "/var/lib/fd.db"
