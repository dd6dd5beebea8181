"""The durable spool for raw inbound mail (RELIABILITY.md §2.1, steps 1–3 and 6).

Layout under ``spool_dir()``::

    tmp/<uuid>                   a message being received; never acknowledged
    tmp/<uuid>.json              its envelope being written
    new/<sha256>.eml             the raw bytes, fsynced; identical bytes share one file
    new/<sha256>.<uuid>.json     the envelope of one delivery whose row may not exist yet

The order of one delivery: stream to ``tmp/<uuid>`` → fsync → envelope to ``tmp/<uuid>.json``
→ rename into ``new/`` → rename the message into ``new/<sha256>.eml`` → fsync(new/) (one
fsync covers every writer whose rename came before it: ``_DirSync``) → ``spool_index_many``:
rows + tasks in one transaction → unlink the envelopes. The SMTP listener runs the last two
side by side (``commit(sync_dir=False)``, ``sync_new_dir``) and answers 250 after both. A crash
anywhere leaves either nothing acknowledged in ``tmp/`` (removed by ``sweep()``), an envelope in
``new/`` that ``sweep()`` turns into a row unless that row already exists, or (power lost
before the directory fsync ended) a row without its file, never acknowledged, which
``sweep()`` marks failed (``flag_lost_rows``). The row's ``received_at`` is the envelope's, so
the sweep recognises a delivery it must not index twice.

Every function here does blocking file and database I/O: the SMTP listener calls them in a
thread, never on its event loop.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

from django.db import connection
from django.utils import timezone

from .headers import normalize_message_id
from .models import InboundMessage, InboundStatus, Mailbox, spool_dir
from .services import NewInbound, inbound_store_many

logger = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
HEADER_SCAN_BYTES = 64 * 1024  # where a message's Message-ID is looked for
FILE_MODE = 0o640
DIR_MODE = 0o750


class MessageTooLarge(Exception):
    """More bytes than the writer's ``max_bytes``: the sender gets 552."""


def is_out_of_space(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in {errno.ENOSPC, errno.EDQUOT}


@dataclass(frozen=True)
class Envelope:
    """What the transport knew about a message; the headers may claim otherwise."""

    mail_from: str = ""
    rcpt_tos: tuple[str, ...] = ()
    peer: str = ""
    tls: bool = False
    source: str = "smtp"
    mailbox_id: int | None = None


@dataclass(frozen=True)
class Spooled:
    """One delivery, durable in ``new/``. ``spool_name`` is relative to ``spool_dir()``."""

    spool_name: str
    sha256: str
    size: int
    received_at: datetime
    envelope: Envelope = field(default_factory=Envelope)
    sidecar: Path | None = None
    message_id: str = ""  # normalised, from the header block: known before processing
    rename_ticket: int = 0  # its place among this process's renames into new/ (``sync_new_dir``)


def spool_path(spool_name: str) -> Path:
    return spool_dir() / spool_name


def _ensure_dir(path: Path) -> Path:
    if not path.is_dir():
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        os.chmod(path, DIR_MODE)  # mkdir's mode is reduced by the umask
    return path


def spool_dirs() -> tuple[Path, Path]:
    """``(tmp, new)``, created 0750 if missing."""
    root = _ensure_dir(spool_dir())
    return _ensure_dir(root / "tmp"), _ensure_dir(root / "new")


def _fsync(fd: int) -> None:
    os.fsync(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        _fsync(fd)
    finally:
        os.close(fd)


class _DirSync:
    """fsync of ``new/`` shared by concurrent writers (group commit for the directory): a
    writer whose rename an fsync that started after it already covers does not fsync again.
    The SMTP listener's store threads commit side by side; one directory fsync makes every
    earlier rename durable.

    Counting a rename never waits for an fsync in progress (two locks): a writer that renamed
    while one runs is covered by the next one, which starts as soon as that one ends."""

    def __init__(self) -> None:
        self._count_lock = threading.Lock()  # held for a counter update only
        self._sync_lock = threading.Lock()  # held for one fsync at a time
        self._renamed = 0  # renames done (a counter, per process)
        self._synced = 0  # renames covered by a finished fsync

    def renamed(self) -> int:
        with self._count_lock:
            self._renamed += 1
            return self._renamed

    def sync(self, path: Path, ticket: int) -> None:
        with self._sync_lock:
            if self._synced >= ticket:
                return
            with self._count_lock:
                covers = self._renamed  # every rename done before the fsync starts
            _fsync_dir(path)
            self._synced = max(self._synced, covers)


_new_dir_sync = _DirSync()


def _create(path: Path) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    os.fchmod(fd, FILE_MODE)  # exactly 0640, whatever the umask
    return fd


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _clean(text: str) -> str:
    """Envelope strings may carry undecodable bytes (surrogateescape): keep them storable."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class SpoolWriter:
    """Receives one message in pieces into ``tmp/<uuid>``; ``commit`` makes it durable.

    Creating one and ``write`` touch no disk (the file is created by the first ``flush``, or by
    ``commit`` for a message that fits in one chunk), so an event loop may call them; ``flush``,
    ``commit`` and ``discard`` do I/O. Memory stays at about one chunk:
    callers flush when ``buffered`` reaches ``CHUNK_BYTES`` (``write`` flushes itself beyond
    four chunks, for callers that never do). Use as a context manager to discard on error.
    """

    def __init__(self, *, max_bytes: int | None = None, source: str = "smtp"):
        self.max_bytes = max_bytes
        self.size = 0
        self._buffer = bytearray()
        self._head = bytearray()  # the first HEADER_SCAN_BYTES: the Message-ID is read from them
        self._hash = hashlib.sha256()
        root = spool_dir()
        self._new = root / "new"
        self._id = uuid.uuid4().hex
        # Named by writer, so the listener's startup sweep knows which leftovers are its own.
        self.tmp_path = root / "tmp" / f"{source}-{self._id}"
        self._fd: int | None = None
        self._state = "new"  # → "open" (file created) → "done" (committed or discarded)

    def _open(self) -> int:
        if self._state == "new":
            spool_dirs()
            self._fd = _create(self.tmp_path)
            self._state = "open"
        assert self._fd is not None, "commit or discard already called"
        return self._fd

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.max_bytes is not None and self.size > self.max_bytes:
            raise MessageTooLarge(f"more than {self.max_bytes} bytes")
        if len(self._head) < HEADER_SCAN_BYTES:
            self._head += data[: HEADER_SCAN_BYTES - len(self._head)]
        self._buffer += data
        if len(self._buffer) >= 4 * CHUNK_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._buffer and self._state != "done":
            self._hash.update(self._buffer)
            _write_all(self._open(), self._buffer)
            self._buffer.clear()

    def commit(self, *, envelope: Envelope, sync_dir: bool = True) -> Spooled:
        """fsync the message, write its envelope beside it, rename both into ``new/``, fsync
        ``new/`` (shared with concurrent writers). On any error the temporary files are
        removed and the error raised.

        ``sync_dir=False`` leaves the directory fsync to the caller (``sync_new_dir``), who
        runs it alongside recording the row and acknowledges only after both (the SMTP
        listener). The message is already readable under its final name."""
        assert self._state != "done", "commit or discard already called"
        tmp_sidecar = self.tmp_path.with_suffix(".json")
        sidecar: Path | None = None
        try:
            fd = self._open()
            self.flush()
            _fsync(fd)
            self._fd = None
            os.close(fd)
            sha256 = self._hash.hexdigest()
            spooled = Spooled(
                spool_name=f"new/{sha256}.eml", sha256=sha256, size=self.size,
                received_at=timezone.now(), envelope=envelope, message_id=message_id_in(bytes(self._head)),
            )
            # Not fsynced: the envelope only matters until the row commits, and a crash before
            # that means no 250 was sent (the sender retries); the sweep reports a torn one.
            fd = _create(tmp_sidecar)
            try:
                _write_all(fd, json.dumps(_sidecar_data(spooled)).encode())
            finally:
                os.close(fd)
            # The envelope is in new/ before the message: a message in new/ without a row always
            # has its envelope there for the sweep (a crash between the renames leaves an
            # envelope without a message, which the sweep drops: it was never acknowledged).
            sidecar = self._new / f"{sha256}.{self._id}.json"
            os.rename(tmp_sidecar, sidecar)
            os.rename(self.tmp_path, self._new / f"{sha256}.eml")
            ticket = _new_dir_sync.renamed()
            if sync_dir:
                # Durable name before the row exists: one fsync of new/ covers every concurrent writer.
                _new_dir_sync.sync(self._new, ticket)
            self._state = "done"
        except BaseException:
            if sidecar is not None:
                sidecar.unlink(missing_ok=True)
            tmp_sidecar.unlink(missing_ok=True)
            self.discard()
            raise
        return replace(spooled, sidecar=sidecar, rename_ticket=ticket)

    def discard(self) -> None:
        """Forget the message: close and remove the temporary file. Safe to call twice."""
        created, self._state = self._state != "new", "done"
        if self._fd is not None:
            try:
                os.close(self._fd)
            finally:
                self._fd = None
        self._buffer.clear()
        if created:
            self.tmp_path.unlink(missing_ok=True)

    def __enter__(self) -> SpoolWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.discard()


def sync_new_dir(spooled: Spooled) -> None:
    """Make the renames of ``spooled`` into ``new/`` durable (for ``commit(sync_dir=False)``):
    one fsync of the directory, shared with every writer that renamed before it started."""
    _new_dir_sync.sync(spool_dir() / "new", spooled.rename_ticket)


def _sidecar_data(spooled: Spooled) -> dict:
    envelope = spooled.envelope
    return {
        "spool_name": spooled.spool_name, "sha256": spooled.sha256, "size": spooled.size,
        "received_at": spooled.received_at.isoformat(),
        "mail_from": _clean(envelope.mail_from), "rcpt_tos": [_clean(a) for a in envelope.rcpt_tos],
        "peer": envelope.peer, "tls": envelope.tls, "source": envelope.source, "mailbox_id": envelope.mailbox_id,
        "message_id": spooled.message_id,
    }


def _read_sidecar(path: Path) -> Spooled:
    data = json.loads(path.read_text())
    return Spooled(
        spool_name=data["spool_name"], sha256=data["sha256"], size=int(data["size"]),
        received_at=datetime.fromisoformat(data["received_at"]),
        envelope=Envelope(
            mail_from=data["mail_from"], rcpt_tos=tuple(data["rcpt_tos"]), peer=data["peer"], tls=bool(data["tls"]),
            source=data.get("source", "smtp"), mailbox_id=data.get("mailbox_id"),
        ),
        sidecar=path, message_id=data.get("message_id") or header_message_id(spool_dir() / data["spool_name"]),
    )



def header_message_id(path: Path) -> str:
    """The normalised Message-ID from a stored message's header block, or ""."""
    try:
        with path.open("rb") as handle:
            return message_id_in(handle.read(HEADER_SCAN_BYTES))
    except OSError:
        return ""


def message_id_in(head: bytes) -> str:
    """The normalised Message-ID in the header block at the start of ``head``, or "". Known at
    receipt, so a reply processed before its original can still find it (pipeline.find_thread)."""
    end = min((i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0), default=len(head))
    headers = BytesHeaderParser(policy=compat32).parsebytes(head[:end])
    return normalize_message_id(str(headers.get("Message-ID", "")))[:998]


def _new_inbound(spooled: Spooled) -> NewInbound:
    envelope = spooled.envelope
    return NewInbound(
        spool_name=spooled.spool_name, sha256=spooled.sha256, size=spooled.size,
        envelope_from=_clean(envelope.mail_from), envelope_to=[_clean(a) for a in envelope.rcpt_tos],
        peer=envelope.peer, tls=envelope.tls, source=envelope.source,
        # The spool's timestamp identifies this delivery to sweep(), so the row carries it.
        received_at=spooled.received_at, message_id=spooled.message_id,
        mailbox=Mailbox.objects.filter(pk=envelope.mailbox_id).first() if envelope.mailbox_id else None,
    )


@contextmanager
def _synchronous_full():
    """WAL with synchronous=NORMAL (our default) may lose the last commits on power loss; a row
    we answer 250 for must survive that (RFC 5321 §6.1). Only for this commit: the same
    connection (an IMAP poll in a worker) goes back to NORMAL for its other work."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous=FULL")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=NORMAL")


def spool_index_many(spooled: Sequence[Spooled]) -> list[InboundMessage]:
    """Record committed deliveries (rows + processing tasks, one transaction), then drop their
    envelope files. After this returns the senders may be told 250. If recording fails the
    envelopes are removed too: the senders are told 4xx and keep their messages (RFC 5321
    §4.2.5), so no later sweep may index them a second time."""
    if not spooled:
        return []
    try:
        new = [_new_inbound(item) for item in spooled]
        with _synchronous_full():
            rows = inbound_store_many(new)
    finally:
        for item in spooled:
            if item.sidecar is not None:
                item.sidecar.unlink(missing_ok=True)
    return rows


def spool_index(*, spooled: Spooled) -> InboundMessage:
    return spool_index_many([spooled])[0]


@dataclass
class SweepReport:
    indexed: int = 0
    already_indexed: int = 0
    never_renamed: int = 0
    tmp_removed: int = 0
    unreadable: list[str] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)  # rows waiting for a message file that is gone


LOST_ERROR = (
    "SpoolFileMissing: the raw message is not in the spool. The listener records the row while it "
    "makes the message's name durable and answers 250 only after both, so a crash in between "
    "loses a delivery that was never acknowledged: the sender sends it again."
)


def flag_lost_rows() -> list[int]:
    """Rows still waiting to be processed whose message file is gone, marked ``failed`` (kept,
    visible in the unprocessed-mail list) instead of failing in a worker; returns their ids.
    The listener commits a row while the fsync of ``new/`` runs (``smtp._store``): power lost
    before that fsync ended can leave the row without its file, and no 250 was sent for it."""
    missing = [
        pk for pk, spool_name in InboundMessage.objects.filter(status=InboundStatus.RECEIVED)
        .values_list("pk", "spool_name").iterator()
        if not spool_path(spool_name).is_file()
    ]
    if missing:
        InboundMessage.objects.filter(pk__in=missing, status=InboundStatus.RECEIVED).update(
            status=InboundStatus.FAILED, error=LOST_ERROR, processed_at=timezone.now())
        logger.error("spool: %d waiting messages have no file in the spool (never acknowledged): %s",
                     len(missing), missing[:20])
    return missing


# Longer than any delivery takes between its first byte and its commit (the SMTP idle
# timeout bounds a stalled one): younger spool files may belong to a delivery in progress.
SWEEP_MIN_AGE = timedelta(minutes=10)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")  # just renamed or removed by its writer: not ours to touch


def sweep() -> SweepReport:
    """Run at startup, before accepting mail (RELIABILITY.md §2.1 step 6): index every
    delivery whose envelope is still in ``new/`` and has no row (a crash between fsync and
    commit), remove ``tmp/`` leftovers (never acknowledged), and flag waiting rows whose file
    is gone (``flag_lost_rows``: a crash before the fsync of ``new/`` ended).

    The listener (one per spool) runs this before it accepts mail, so SMTP deliveries are
    indexed at once. IMAP pollers in the workers may be writing right now: their envelopes and
    any temp file are only touched once older than ``SWEEP_MIN_AGE`` (a poller that crashed
    re-fetches the message anyway, since it is not marked seen). An unreadable envelope is
    left in place and reported, never deleted.
    """
    tmp, new = spool_dirs()
    report = SweepReport()
    settled = time.time() - SWEEP_MIN_AGE.total_seconds()
    for path in tmp.iterdir():
        if path.is_file() and (path.name.startswith("smtp-") or _mtime(path) < settled):
            path.unlink(missing_ok=True)
            report.tmp_removed += 1
    for sidecar in sorted(new.glob("*.json")):
        try:
            spooled = _read_sidecar(sidecar)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.error("spool: cannot read envelope %s (%s); left in place", sidecar, exc)
            report.unreadable.append(sidecar.name)
            continue
        if spooled.envelope.source != "smtp" and _mtime(sidecar) >= settled:
            continue  # a poller's delivery, possibly still in progress
        if not spool_path(spooled.spool_name).is_file():
            sidecar.unlink(missing_ok=True)
            report.never_renamed += 1
        elif InboundMessage.objects.filter(sha256=spooled.sha256, received_at=spooled.received_at).exists():
            sidecar.unlink(missing_ok=True)  # committed, crashed before removing the envelope
            report.already_indexed += 1
        else:
            inbound = spool_index(spooled=spooled)
            logger.warning("spool: indexed %s as inbound %s after an interrupted delivery", sidecar.name, inbound.pk)
            report.indexed += 1
    report.lost = flag_lost_rows()
    return report
