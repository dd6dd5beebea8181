"""The SQLite backend's write lock: writers queue on it, and it is let go on commit, on
rollback and on close (frontdesk.core.db.sqlite)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db.utils import ConnectionHandler

from frontdesk.settings import database_from_url


def open_database(path):
    """A connection of our own to a file database, as another process would have."""
    handler = ConnectionHandler({"default": database_from_url(f"sqlite:///{path}", path.parent)})
    return handler["default"]


@pytest.fixture
def database(tmp_path, django_db_blocker):
    """A file database outside the test database (which is in memory and has no lock)."""
    path = tmp_path / "lock.sqlite3"
    with django_db_blocker.unblock():
        setup = open_database(path)
        with setup.cursor() as cursor:
            cursor.execute("CREATE TABLE log (who TEXT, at REAL)")
        setup.close()
        yield path


def write(path, who: str, *, hold: float = 0.0, fail: bool = False, started=None) -> None:
    connection = open_database(path)
    try:
        with _atomic(connection):
            if started is not None:
                started.set()
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO log VALUES (%s, %s)", [who, time.monotonic()])
            time.sleep(hold)
            if fail:
                raise RuntimeError("roll back")
    except RuntimeError:
        pass
    finally:
        connection.close()


class _atomic:
    """``transaction.atomic`` for a connection outside ``django.db.connections``."""

    def __init__(self, connection):
        self.connection = connection

    def __enter__(self):
        self.connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.connection.commit()
        else:
            self.connection.rollback()
        self.connection.set_autocommit(True)
        return False


def rows(path) -> list[tuple[str, float]]:
    connection = open_database(path)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT who, at FROM log ORDER BY at")
            return cursor.fetchall()
    finally:
        connection.close()


def test_a_second_writer_waits_for_the_first_to_commit(database):
    started = threading.Event()
    first = threading.Thread(target=write, args=(database, "first"), kwargs={"hold": 0.4, "started": started})
    first.start()
    started.wait(5)
    began = time.monotonic()
    write(database, "second")
    waited = time.monotonic() - began
    first.join(5)
    assert [who for who, _ in rows(database)] == ["first", "second"]
    assert waited >= 0.3  # blocked on the lock, not failed with "database is locked"


def test_the_lock_is_released_on_rollback_and_on_close(database, tmp_path):
    write(database, "rolled back", fail=True)
    began = time.monotonic()
    write(database, "after rollback")
    assert time.monotonic() - began < 0.3
    abandoned = open_database(database)
    abandoned.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    abandoned.close()  # a transaction never finished: closing must free the lock
    began = time.monotonic()
    write(database, "after close")
    assert time.monotonic() - began < 0.3
    assert [who for who, _ in rows(database)] == ["after rollback", "after close"]
    assert (tmp_path / "lock.sqlite3-writelock").exists()


def lock_is_free(path) -> bool:
    import fcntl
    import os

    fd = os.open(f"{path}-writelock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops a lock we may have taken
    return True


def test_the_lock_file_is_held_exactly_while_a_write_transaction_is_open(database):
    connection = open_database(database)
    try:
        assert lock_is_free(database)
        with _atomic(connection):
            assert not lock_is_free(database)
        assert lock_is_free(database)
        with connection.cursor() as cursor:  # reads and autocommit statements take no lock
            cursor.execute("SELECT count(*) FROM log")
        assert lock_is_free(database)
    finally:
        connection.close()
