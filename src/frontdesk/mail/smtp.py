"""The inbound SMTP listener (RELIABILITY.md §2.1), on aiosmtpd.

DATA is streamed line by line into the spool (``spool.SpoolWriter``) instead of aiosmtpd's
in-memory buffer. The order for one message: fsync the raw bytes and rename the file into
``spool/new/``; then, at the same time, fsync ``spool/new/`` and commit the ``InboundMessage``
row with its processing task (``GroupIndexer``, many deliveries per transaction).
``250 2.0.0 queued as <id>`` is sent only after both; any failure before that answers
``451 4.3.0`` (``452 4.3.1`` when the disk is full), so the sender retries (a row that
committed anyway is recognised as a duplicate of the retry; one whose file a power loss took
is flagged by the startup sweep). Mail to any recipient is accepted: the address decides the
inbox later.

Blocking work never runs on the event loop: file I/O in a thread pool, the database in one
indexing thread that records deliveries in batches (``GroupIndexer``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import enum
import json
import logging
import os
import queue
import re
import signal
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass

from aiosmtpd.smtp import SMTP, syntax
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.utils import timezone

from .health import smtp_status_path
from .spool import (
    CHUNK_BYTES,
    Envelope,
    MessageTooLarge,
    Spooled,
    SpoolWriter,
    is_out_of_space,
    spool_dirs,
    spool_index_many,
    sweep,
    sync_new_dir,
)

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10
SHUTDOWN_GRACE_SECONDS = 10
STORE_THREADS = 16  # each holds one message from its fsync until its row is committed
INDEX_BATCH = 200  # deliveries recorded in one transaction at most
# A field name is printable US-ASCII except ":" (RFC 5322 §2.2); continuation lines start with WSP.
HEADER_FIELD = re.compile(rb"[!-9;-~]+:")

REPLY_QUEUED = "250 2.0.0 queued as {}"
REPLY_TEMPFAIL = "451 4.3.0 Temporary failure storing the message, try again later"
REPLY_NO_SPACE = "452 4.3.1 Insufficient system storage, try again later"
REPLY_TOO_BIG = "552 5.3.4 Message exceeds the fixed maximum message size"
REPLY_HEADERS_TOO_BIG = "552 5.3.4 Message header section too large"
REPLY_LINE_TOO_LONG = "500 Line too long (see RFC5321 4.5.3.1.6)"
REPLY_TOO_MANY_RCPT = "452 4.5.3 Too many recipients"
REPLY_TOO_MANY_CONN = "421 4.7.0 Too many connections from your address, try again later"
REPLY_SHUTDOWN = "421 4.3.2 Service shutting down, try again later"


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_header_bytes: int
    max_recipients: int
    max_conn_per_ip: int
    timeout: float

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_bytes=settings.FRONTDESK_SMTP_MAX_BYTES, max_header_bytes=settings.FRONTDESK_SMTP_MAX_HEADER_BYTES,
            max_recipients=settings.FRONTDESK_SMTP_MAX_RECIPIENTS,
            max_conn_per_ip=settings.FRONTDESK_SMTP_MAX_CONN_PER_IP, timeout=settings.FRONTDESK_SMTP_TIMEOUT,
        )


def tls_context_from_settings() -> ssl.SSLContext | None:
    cert, key = settings.FRONTDESK_SMTP_TLS_CERT, settings.FRONTDESK_SMTP_TLS_KEY
    if not cert and not key:
        return None
    if not (cert and key):
        raise ImproperlyConfigured("set both FRONTDESK_SMTP_TLS_CERT and FRONTDESK_SMTP_TLS_KEY, or neither")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def failure_reply(exc: BaseException) -> str:
    return REPLY_NO_SPACE if is_out_of_space(exc) else REPLY_TEMPFAIL


class GroupIndexer:
    """Records committed deliveries in the database from one thread, in batches: everything
    that arrived while the previous batch was committing goes into the next transaction.

    One write lock and one fsync per batch instead of per message (group commit, as databases
    do for their log): under a burst the listener no longer queues for SQLite's single writer
    once per message, behind the workers. Each delivery still gets its own answer: 250 once
    its batch committed, 4xx for every delivery of a batch that failed.
    """

    def __init__(self, max_batch: int = INDEX_BATCH):
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[Spooled, concurrent.futures.Future] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="smtp-index", daemon=True)
        self._thread.start()

    def submit(self, spooled: Spooled, future: concurrent.futures.Future | None = None) -> concurrent.futures.Future:
        """Queue ``spooled``; ``future`` (a new one by default) gets the row id or the error."""
        future = future or concurrent.futures.Future()
        self._queue.put((spooled, future))
        return future

    def stop(self) -> None:
        """Index what is queued, then end the thread."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch = []
            item = self._queue.get()
            while item is not None:
                batch.append(item)
                if len(batch) >= self.max_batch:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            stopping = item is None
            if batch:
                self._index(batch)
        connections.close_all()

    def _index(self, batch: list[tuple[Spooled, concurrent.futures.Future]]) -> None:
        # Senders wait for this commit: a worker writing a batch lets us in between two
        # messages (SQLite; see core/db/sqlite).
        connections["default"].announces_writes = True
        try:
            rows = spool_index_many([spooled for spooled, _ in batch])
        except Exception as exc:
            logger.exception("smtp: recording %d deliveries failed", len(batch))
            connections.close_all()  # start the next batch on a fresh connection
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), row in zip(batch, rows, strict=True):
            future.set_result(row.pk)


class _Data(enum.Enum):
    NOMINAL = enum.auto()
    TOO_LONG = enum.auto()
    TOO_MUCH = enum.auto()
    HEADERS_TOO_BIG = enum.auto()
    FAILED = enum.auto()


class Handler:
    """aiosmtpd hooks. Every recipient is accepted, up to the limit."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if len(envelope.rcpt_tos) >= server.limits.max_recipients:
            return REPLY_TOO_MANY_RCPT
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"


class FrontdeskSMTP(SMTP):
    """One SMTP session. Adds to aiosmtpd: streaming DATA into the spool, a header size limit,
    a per-IP connection cap, an idle timeout that also covers a stalled DATA."""

    def __init__(self, listener: Listener):
        self.listener = listener
        self.limits = listener.limits
        self.peer_ip: str | None = None
        self.over_cap = False
        self.in_data = False
        super().__init__(
            listener.handler, data_size_limit=self.limits.max_bytes, enable_SMTPUTF8=True,
            hostname=listener.hostname, ident="Frontdesk", tls_context=listener.tls_context,
            timeout=self.limits.timeout, loop=listener.loop,
        )

    def connection_made(self, transport) -> None:
        if self.peer_ip is None:  # not again after STARTTLS
            peer = transport.get_extra_info("peername")
            self.peer_ip = str(peer[0]) if peer else ""
            self.over_cap = not self.listener.admit(self)
        super().connection_made(transport)

    def connection_lost(self, error) -> None:
        self.listener.release(self)
        super().connection_lost(error)

    async def _handle_client(self) -> None:
        if self.over_cap:
            logger.warning("smtp: %s over the per-IP connection cap", self.peer_ip)
            await self.push(REPLY_TOO_MANY_CONN)
            self.transport.close()
            return
        await super()._handle_client()

    def goodbye(self, reply: str = REPLY_SHUTDOWN) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        try:
            transport.write(reply.encode() + b"\r\n")
        finally:
            transport.close()

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        # The checks before 354 are aiosmtpd 1.4.6's.
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        if self.listener.spool_problem is not None:  # seen by the last heartbeat: say so before 354
            await self.push(failure_reply(self.listener.spool_problem))
            return
        # No disk I/O yet: the file is created in a pool thread by the first flush or the commit.
        writer = SpoolWriter(max_bytes=self.limits.max_bytes)
        self.in_data = True
        try:
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            reply = await self._receive(writer)
        finally:
            self.in_data = False
        self._set_post_data_state()
        if reply is not None:
            await self.push(reply)

    async def _receive(self, writer: SpoolWriter) -> str | None:
        """Read DATA up to the lone dot, streaming it to ``writer``; return the reply, or None
        when the connection is already closed.

        As aiosmtpd 1.4.6: only CRLF ends a line, so a bare LF (``\\n.\\n``, SMTP smuggling)
        never ends the message; a leading dot is removed (RFC 5321 §4.5.2); overlong lines and
        oversized messages are read to the end before 500/552 is answered (RFC 5321 §4.2.5),
        but nothing of them is kept.
        """
        limit = self.limits.max_bytes
        give_up_after = 2 * limit + 1024 * 1024  # a sender that never stops is cut off
        state, failure = _Data.NOMINAL, None
        size = header_bytes = 0
        in_headers, mid_line = True, False
        last_reset = self.loop.time()
        flushing: concurrent.futures.Future | None = None
        complete = False
        try:
            while self.transport is not None:
                try:
                    line = await self._reader.readuntil(b"\r\n")
                except asyncio.LimitOverrunError as exc:
                    if state is _Data.NOMINAL:
                        state = _Data.TOO_LONG
                    line = await self._reader.read(exc.consumed)
                if self.loop.time() - last_reset >= 1:  # idle timeout: reset while data flows
                    self._reset_timeout()
                    last_reset = self.loop.time()
                if not mid_line and line == b".\r\n":
                    complete = True
                    break
                mid_line = not line.endswith(b"\r\n")
                size += len(line)
                if state is _Data.NOMINAL and size > limit:
                    state = _Data.TOO_MUCH
                if size > give_up_after:
                    writer.discard()
                    self.goodbye(REPLY_TOO_BIG)
                    return None
                if state is _Data.NOMINAL and len(line) > self.line_length_limit:
                    state = _Data.TOO_LONG
                if state is not _Data.NOMINAL:
                    writer.discard()  # nothing of it is kept: free the disk now
                    continue
                if in_headers:
                    if line == b"\r\n" or not (line[:1] in b" \t" or HEADER_FIELD.match(line)):
                        in_headers = False
                    else:
                        header_bytes += len(line)
                        if header_bytes > self.limits.max_header_bytes:
                            state = _Data.HEADERS_TOO_BIG
                            writer.discard()
                            continue
                if line.startswith(b"."):
                    line = line[1:]
                try:
                    if writer.buffered + len(line) > CHUNK_BYTES:
                        flushing = self.listener.submit(writer.flush)
                        await asyncio.wrap_future(flushing)
                        flushing = None
                    writer.write(line)
                except MessageTooLarge:
                    state = _Data.TOO_MUCH
                    writer.discard()
                except OSError as exc:
                    state, failure = _Data.FAILED, exc
                    writer.discard()
                    logger.error("smtp: spool write failed: %s", exc)
        except asyncio.CancelledError:
            # The connection is gone. A flush may still be running in its thread: discard
            # only after it, never close a file descriptor another thread is writing to.
            if flushing is not None:
                flushing.add_done_callback(lambda _future: writer.discard())
            else:
                writer.discard()
            self._writer.close()
            raise
        if not complete:  # the connection went away without the final dot
            writer.discard()
            return None
        if state is not _Data.NOMINAL:
            writer.discard()
            return {
                _Data.TOO_LONG: REPLY_LINE_TOO_LONG, _Data.TOO_MUCH: REPLY_TOO_BIG,
                _Data.HEADERS_TOO_BIG: REPLY_HEADERS_TOO_BIG,
            }.get(state) or failure_reply(failure)
        return await self._store(writer)

    async def _store(self, writer: SpoolWriter) -> str:
        """Make the message durable, then answer: fsync the file and rename it into ``new/``;
        then, side by side, fsync ``new/`` (here, in the pool thread) and commit its row and
        task (the indexer's group commit). 250 only once both are done; 4xx if either failed.

        Durability is that of doing them one after the other: until both are done nobody was
        told 250. A row committed while the directory fsync failed (or the machine lost
        power first) belongs to a delivery the sender retries: processing recognises the
        duplicate, and the listener's startup sweep flags a row whose file is gone."""
        assert self.envelope is not None
        envelope = Envelope(
            mail_from=self.envelope.mail_from or "", rcpt_tos=tuple(self.envelope.rcpt_tos),
            peer=self.peer_ip or "", tls=self._tls_protocol is not None,
        )
        indexer = self.listener.indexer

        def store() -> int:
            # In a pool thread, so the event loop is woken once per message: the row is queued
            # for the indexer as soon as the file is in new/, the directory fsync runs while the
            # indexer commits, and the thread waits for that commit.
            spooled = writer.commit(envelope=envelope, sync_dir=False)
            recorded = indexer.submit(spooled)
            try:
                sync_new_dir(spooled)
            finally:
                inbound_id = recorded.result()  # its error, if any, wins: either answers 4xx
            return inbound_id

        committing = self.listener.submit(store)
        try:
            inbound_id = await asyncio.wrap_future(committing)
        except asyncio.CancelledError:
            # The client left: a store already running finishes on its own (the sender got
            # no 250 and will retry; processing recognises the duplicate).
            if committing.cancel():
                writer.discard()
            raise
        except Exception as exc:
            logger.exception("smtp: storing a message from %s failed", self.peer_ip)
            return failure_reply(exc)
        logger.info("smtp: queued inbound %s from %s (%d bytes)", inbound_id, self.peer_ip, writer.size)
        return REPLY_QUEUED.format(inbound_id)


class Listener:
    """The server socket, its sessions, the thread pool and the heartbeat file."""

    def __init__(self, *, host: str, port: int, limits: Limits | None = None,
                 tls_context: ssl.SSLContext | None | bool = True, hostname: str | None = None):
        self.host, self.port = host, port
        self.limits = limits or Limits.from_settings()
        self.tls_context = tls_context_from_settings() if tls_context is True else tls_context or None
        self.hostname = hostname or settings.FRONTDESK_MAIL_DOMAIN or "localhost"
        self.handler = Handler()
        self.address = f"{host}:{port}"
        self.loop: asyncio.AbstractEventLoop | None = None
        self.executor: concurrent.futures.ThreadPoolExecutor | None = None
        self.indexer: GroupIndexer | None = None
        self.server: asyncio.AbstractServer | None = None
        self.sessions: dict[int, FrontdeskSMTP] = {}  # by id(): aiosmtpd sessions are unhashable
        self.per_ip: dict[str, int] = {}
        self._heartbeat: asyncio.Task | None = None
        self.started_at = timezone.now()
        self.spool_problem: BaseException | None = None  # the spool could not be opened at the last look

    def submit(self, fn: Callable, *args, **kwargs) -> concurrent.futures.Future:
        assert self.executor is not None
        return self.executor.submit(fn, *args, **kwargs)

    async def in_thread(self, fn: Callable, *args, **kwargs):
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))

    def admit(self, session: FrontdeskSMTP) -> bool:
        ip = session.peer_ip or ""
        if self.per_ip.get(ip, 0) >= self.limits.max_conn_per_ip:
            return False
        self.per_ip[ip] = self.per_ip.get(ip, 0) + 1
        self.sessions[id(session)] = session
        return True

    def release(self, session: FrontdeskSMTP) -> None:
        if self.sessions.pop(id(session), None) is not None:
            ip = session.peer_ip or ""
            self.per_ip[ip] -= 1
            if not self.per_ip[ip]:
                del self.per_ip[ip]

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.executor = concurrent.futures.ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="smtp-store")
        self.indexer = GroupIndexer()
        self.server = await self.loop.create_server(lambda: FrontdeskSMTP(self), self.host, self.port)
        host, port = self.server.sockets[0].getsockname()[:2]
        self.port = port
        self.address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.started_at = timezone.now()
        await self._beat_once()  # /healthz says "ok" as soon as start() returns
        self._heartbeat = self.loop.create_task(self._beat())

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await self._beat_once()

    async def _beat_once(self) -> None:
        try:
            await self.in_thread(self._write_status)
        except Exception:  # a missing heartbeat shows as "stale"; mail keeps flowing
            logger.exception("smtp: cannot write %s", smtp_status_path())

    def _write_status(self) -> None:
        try:
            spool_dirs()
            self.spool_problem = None
        except OSError as exc:
            if self.spool_problem is None:
                logger.error("smtp: the spool cannot be written: %s", exc)
            self.spool_problem = exc
        path = smtp_status_path()
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps({
            "address": self.address, "pid": os.getpid(), "started_at": self.started_at.isoformat(),
            "updated_at": timezone.now().isoformat(),
        }))
        os.replace(tmp, path)

    async def stop(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Stop accepting, let messages being received finish for up to ``grace`` seconds,
        say 421 to everyone else, wait for stores in flight, remove the heartbeat file."""
        assert self.server is not None and self.executor is not None and self.loop is not None
        self.server.close()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        deadline = self.loop.time() + grace
        while any(s.in_data for s in self.sessions.values()) and self.loop.time() < deadline:
            await asyncio.sleep(0.05)
        handlers = [s._handler_coroutine for s in self.sessions.values() if s._handler_coroutine]
        for session in list(self.sessions.values()):
            session.goodbye()
        await asyncio.gather(*handlers, return_exceptions=True)
        await self.server.wait_closed()
        await self.loop.run_in_executor(None, self.executor.shutdown)
        if self.indexer is not None:
            await self.loop.run_in_executor(None, self.indexer.stop)
        try:
            pid = json.loads(smtp_status_path().read_text()).get("pid")
        except (OSError, ValueError):
            pid = None
        if pid == os.getpid():
            smtp_status_path().unlink(missing_ok=True)


def parse_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def serve(*, address: str, on_ready: Callable[[str], None] | None = None) -> None:
    """``frontdesk smtp``: sweep the spool, then serve until SIGINT/SIGTERM."""
    report = sweep()
    connections.close_all()
    if report.indexed or report.tmp_removed or report.unreadable or report.lost:
        logger.warning(
            "smtp: spool sweep indexed %d interrupted deliveries, removed %d unacknowledged temp files, "
            "%d unreadable envelopes, flagged %d rows whose file was lost", report.indexed, report.tmp_removed,
            len(report.unreadable), len(report.lost),
        )
    host, port = parse_address(address)
    asyncio.run(_serve(host, port, on_ready))


async def _serve(host: str, port: int, on_ready: Callable[[str], None] | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    listener = Listener(host=host, port=port)
    await listener.start()
    if on_ready:
        on_ready(listener.address)
    await stop.wait()
    await listener.stop()
