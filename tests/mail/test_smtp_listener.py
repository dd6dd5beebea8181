"""The inbound SMTP listener, through the real protocol (RELIABILITY.md §2.1).

Most tests run the listener in a thread of this process (so the test database is shared and
the store can be made to fail); the crash test runs ``frontdesk smtp`` as a subprocess on its
own SQLite home and kills it with SIGKILL in the middle of a burst.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import email
import errno
import itertools
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from frontdesk.mail import spool
from frontdesk.mail.models import InboundMessage, spool_dir
from frontdesk.mail.smtp import Limits, Listener
from frontdesk.mail.spool import Envelope, SpoolWriter, spool_index, sweep

LIMITS = Limits(max_bytes=64 * 1024, max_header_bytes=4096, max_recipients=3, max_conn_per_ip=4, timeout=10)
MESSAGE = (
    b"From: Maria Lopez <maria@example.net>\r\n"
    b"To: help@example.com\r\n"
    b"Subject: Charged twice\r\n"
    b"Message-ID: <one@example.net>\r\n"
    b"\r\n"
    b"My card was charged twice.\r\n"
    b".A line that starts with a dot.\r\n"
    b"..Two dots.\r\n"
    b".\r\n"  # a line with a single dot (stuffed by the client, so not the end)
    b"Thanks\r\n"
)


class ListenerThread:
    """A ``Listener`` on 127.0.0.1, a free port, with its event loop in a thread."""

    def __init__(self, *, limits: Limits = LIMITS, tls_context=None):
        self.loop = asyncio.new_event_loop()
        self.listener = Listener(host="127.0.0.1", port=0, limits=limits, tls_context=tls_context)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> ListenerThread:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.listener.start(), self.loop).result(10)
        return self

    @property
    def port(self) -> int:
        return self.listener.port

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.listener.stop(grace=1), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class RawClient:
    """SMTP by hand, for what smtplib will not send (bare LFs, no SIZE, half a session)."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rb")

    def reply(self) -> tuple[int, str]:
        lines = []
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError("connection closed")
            lines.append(line.decode().rstrip("\r\n"))
            if line[3:4] != b"-":
                return int(line[:3]), "\n".join(text[4:] for text in lines)

    def command(self, line: bytes) -> tuple[int, str]:
        self.sock.sendall(line + b"\r\n")
        return self.reply()

    def start_mail(self, rcpt: bytes = b"<help@example.com>") -> None:
        assert self.reply()[0] == 220
        assert self.command(b"EHLO client.example.net")[0] == 250
        assert self.command(b"MAIL FROM:<maria@example.net>")[0] == 250
        assert self.command(b"RCPT TO:" + rcpt)[0] == 250
        assert self.command(b"DATA")[0] == 354

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def home(settings, tmp_path):
    settings.FRONTDESK_HOME = tmp_path / "home"
    settings.FRONTDESK_HOME.mkdir()
    return settings.FRONTDESK_HOME


@pytest.fixture
def start_listener(home):
    started = []

    def start(**kwargs) -> ListenerThread:
        started.append(ListenerThread(**kwargs).start())
        return started[-1]

    yield start
    for server in started:
        server.stop()


def send(port: int, message: bytes = MESSAGE, rcpt=("help@example.com",), **kwargs) -> tuple[int, str]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("client.example.net")
        client.mail("maria@example.net")
        for address in rcpt:
            assert client.rcpt(address)[0] == 250
        code, text = client.data(message)
        return code, text.decode()


def spool_files(kind: str) -> list[Path]:
    folder = spool_dir() / kind
    return sorted(folder.iterdir()) if folder.is_dir() else []


def assert_nothing_stored() -> None:
    assert InboundMessage.objects.count() == 0
    assert DBTaskResult.objects.count() == 0
    assert spool_files("tmp") == []
    assert [p for p in spool_files("new") if p.suffix == ".json"] == []


@pytest.mark.django_db(transaction=True)
def test_it_answers_250_only_with_the_row_its_task_and_the_exact_bytes_stored(start_listener):
    server = start_listener()

    code, text = send(server.port, rcpt=["help@example.com", "billing@example.com"])

    assert code == 250 and (match := re.fullmatch(r"2\.0\.0 queued as (\d+)", text)), text
    inbound = InboundMessage.objects.get()
    assert inbound.pk == int(match[1])
    assert (inbound.envelope_from, inbound.envelope_to) == ("maria@example.net", ["help@example.com",
                                                                                   "billing@example.com"])
    assert (inbound.peer, inbound.tls, inbound.source, inbound.status) == ("127.0.0.1", False, "smtp", "received")
    task = DBTaskResult.objects.get()
    assert task.task_path.endswith("process_inbound") and task.status == "READY"
    assert task.args_kwargs["kwargs"]["inbound_ids"] == [inbound.pk]

    path = spool_dir() / inbound.spool_name
    assert path.read_bytes() == MESSAGE  # smtplib dot-stuffed it; the listener un-stuffed it
    assert inbound.spool_name == f"new/{inbound.sha256}.eml" and inbound.size == len(MESSAGE)
    assert path.stat().st_mode & 0o777 == 0o640 and path.parent.stat().st_mode & 0o777 == 0o750
    assert spool_files("tmp") == [] and spool_files("new") == [path]  # the envelope file is gone


@pytest.mark.django_db(transaction=True)
def test_it_gives_each_delivery_its_row_even_with_identical_bytes(start_listener):
    server = start_listener()

    assert send(server.port)[0] == 250 and send(server.port)[0] == 250

    first, second = InboundMessage.objects.order_by("pk")
    assert first.spool_name == second.spool_name and len(spool_files("new")) == 1
    # Both to be processed: the second joined the processing task still waiting.
    (task,) = DBTaskResult.objects.all()
    assert task.args_kwargs["kwargs"]["inbound_ids"] == [first.pk, second.pk]


@pytest.mark.django_db(transaction=True)
def test_it_streams_a_large_message_in_chunks(start_listener):
    server = start_listener(limits=dataclasses.replace(LIMITS, max_bytes=4 * 1024 * 1024))
    body = b"".join(b"line %07d of a long attachment, base64-like text ABCDEFGHIJ\r\n" % i for i in range(40000))
    message = b"Subject: big\r\n\r\n" + body

    assert send(server.port, message)[0] == 250

    assert (spool_dir() / InboundMessage.objects.get().spool_name).read_bytes() == message


@pytest.mark.django_db(transaction=True)
def test_it_refuses_an_oversized_message_with_552_and_keeps_nothing(start_listener):
    server = start_listener(limits=dataclasses.replace(LIMITS, max_bytes=2000))
    big = b"Subject: big\r\n\r\n" + (b"y" * 70 + b"\r\n") * 40

    with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # smtplib declares SIZE=…
        with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
            client.sendmail("maria@example.net", ["help@example.com"], big)
    assert refused.value.smtp_code == 552

    client = RawClient(server.port)  # without SIZE: the limit holds while streaming
    client.start_mail()
    client.sock.sendall(big + b".\r\n")
    code, text = client.reply()
    assert (code, text) == (552, "5.3.4 Message exceeds the fixed maximum message size")
    assert_nothing_stored()

    # The session goes on: a small message on the same connection is accepted.
    assert client.command(b"MAIL FROM:<maria@example.net>")[0] == 250
    assert client.command(b"RCPT TO:<help@example.com>")[0] == 250
    assert client.command(b"DATA")[0] == 354
    assert client.command(b"Subject: small\r\n\r\nok\r\n.")[0] == 250
    client.close()
    assert InboundMessage.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_hangs_up_on_a_sender_that_never_stops(start_listener):
    server = start_listener(limits=dataclasses.replace(LIMITS, max_bytes=2000))
    client = RawClient(server.port)
    client.start_mail()

    with pytest.raises(OSError):
        for _ in range(100):  # 10 MB, far past twice the limit plus 1 MiB
            client.sock.sendall((b"x" * 998 + b"\r\n") * 100)
            time.sleep(0.001)
    client.close()
    assert_nothing_stored()


@pytest.mark.django_db(transaction=True)
def test_it_refuses_an_oversized_header_section_with_552(start_listener):
    server = start_listener(limits=dataclasses.replace(LIMITS, max_header_bytes=1000))
    headers = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"h" * 60) for i in range(20))

    code, text = send(server.port, b"Subject: many headers\r\n" + headers + b"\r\nbody\r\n")

    assert (code, text) == (552, "5.3.4 Message header section too large")
    assert_nothing_stored()


@pytest.mark.django_db(transaction=True)
def test_it_refuses_lines_longer_than_rfc_5321_allows(start_listener):
    server = start_listener()
    client = RawClient(server.port)
    client.start_mail()

    client.sock.sendall(b"Subject: long\r\n\r\n" + b"z" * 5000 + b"\r\n.\r\n")

    assert client.reply()[0] == 500
    client.close()
    assert_nothing_stored()


@pytest.mark.django_db(transaction=True)
def test_it_answers_452_beyond_the_recipient_limit(start_listener):
    server = start_listener(limits=dataclasses.replace(LIMITS, max_recipients=2))

    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        client.ehlo("client.example.net")
        client.mail("maria@example.net")
        assert client.rcpt("help@example.com")[0] == 250
        assert client.rcpt("anything@elsewhere.example")[0] == 250  # any recipient is accepted
        assert client.rcpt("third@example.com") == (452, b"4.5.3 Too many recipients")
        assert client.data(MESSAGE)[0] == 250

    assert InboundMessage.objects.get().envelope_to == ["help@example.com", "anything@elsewhere.example"]


@pytest.mark.django_db(transaction=True)
def test_it_answers_451_and_keeps_nothing_when_the_database_fails(start_listener, monkeypatch):
    def broken_store(deliveries):
        raise RuntimeError("database went away")

    monkeypatch.setattr(spool, "inbound_store_many", broken_store)
    server = start_listener()

    code, text = send(server.port)

    assert (code, text) == (451, "4.3.0 Temporary failure storing the message, try again later")
    assert_nothing_stored()


@pytest.mark.django_db(transaction=True)
def test_it_answers_452_and_removes_the_temp_file_when_the_disk_is_full(start_listener, monkeypatch):
    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(spool, "_fsync", disk_full)
    server = start_listener()

    assert send(server.port) == (452, "4.3.1 Insufficient system storage, try again later")
    assert_nothing_stored()
    assert spool_files("new") == []


@pytest.mark.django_db(transaction=True)
def test_it_commits_the_row_while_the_spool_directory_is_synced_and_answers_after_both(start_listener, monkeypatch):
    real_fsync_dir = spool._fsync_dir
    moments = {}

    def slow_fsync_dir(path):
        # The row commits meanwhile (it would never appear if the two ran one after the other).
        deadline = time.monotonic() + 5
        while not InboundMessage.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        moments["row_seen_during_fsync"] = InboundMessage.objects.exists()
        time.sleep(0.2)
        real_fsync_dir(path)
        moments["fsync_done"] = time.monotonic()

    monkeypatch.setattr(spool, "_fsync_dir", slow_fsync_dir)
    server = start_listener()

    code, _ = send(server.port)

    assert code == 250 and moments["row_seen_during_fsync"]
    assert time.monotonic() >= moments["fsync_done"]  # the 250 came after the directory fsync


@pytest.mark.django_db(transaction=True)
def test_it_answers_451_when_the_spool_directory_cannot_be_synced(start_listener, monkeypatch):
    def failing_fsync_dir(path):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(spool, "_fsync_dir", failing_fsync_dir)
    server = start_listener()

    assert send(server.port) == (451, "4.3.0 Temporary failure storing the message, try again later")
    # The row committed meanwhile: the sender retries, and processing recognises the duplicate.
    monkeypatch.undo()
    assert send(server.port)[0] == 250
    assert InboundMessage.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_it_answers_451_when_the_row_cannot_be_committed_while_the_directory_syncs(start_listener, monkeypatch):
    synced = []
    real_fsync_dir = spool._fsync_dir

    def broken_store(deliveries):
        time.sleep(0.1)  # the directory fsync has run by now
        raise RuntimeError("database went away")

    monkeypatch.setattr(spool, "inbound_store_many", broken_store)
    monkeypatch.setattr(spool, "_fsync_dir", lambda path: synced.append(real_fsync_dir(path)))
    server = start_listener()

    assert send(server.port) == (451, "4.3.0 Temporary failure storing the message, try again later")
    assert synced and InboundMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_it_answers_451_when_the_spool_cannot_be_written(start_listener, home):
    server = start_listener()
    shutil.rmtree(spool_dir(), ignore_errors=True)
    spool_dir().write_text("not a folder")  # fails even for root, unlike a chmod

    # Found at the end of DATA (the file is created with the commit) ...
    assert send(server.port) == (451, "4.3.0 Temporary failure storing the message, try again later")
    assert InboundMessage.objects.count() == 0

    # ... and, once the heartbeat has seen it, before the sender transfers anything.
    asyncio.run_coroutine_threadsafe(server.listener._beat_once(), server.loop).result(timeout=10)
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        client.ehlo("client.example.net")
        client.mail("maria@example.net")
        client.rcpt("help@example.com")
        code, text = client.docmd("DATA")

    assert (code, text) == (451, b"4.3.0 Temporary failure storing the message, try again later")
    assert InboundMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("smuggle", [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r\n.\r"])
def test_it_does_not_let_bare_line_ends_smuggle_a_second_message(start_listener, smuggle):
    # hannob/smtpsmug: a message ended by something other than CRLF.CRLF, then a second
    # transaction in the same DATA. It must stay one message.
    server = start_listener()
    client = RawClient(server.port)
    client.start_mail()

    client.sock.sendall(
        b"Subject: one\r\n\r\nfirst" + smuggle
        + b"MAIL FROM:<ceo@example.com>\r\nRCPT TO:<help@example.com>\r\nDATA\r\n"
        + b"Subject: smuggled\r\n\r\nsecond\r\n.\r\n"
    )

    code, text = client.reply()
    assert code == 250 and "queued as" in text
    assert client.command(b"QUIT")[0] == 221
    client.close()
    inbound = InboundMessage.objects.get()
    assert b"Subject: smuggled" in (spool_dir() / inbound.spool_name).read_bytes()


@pytest.mark.django_db(transaction=True)
def test_it_caps_connections_per_ip_with_421(start_listener):
    server = start_listener(limits=dataclasses.replace(LIMITS, max_conn_per_ip=2))
    held = [smtplib.SMTP("127.0.0.1", server.port, timeout=10) for _ in range(2)]

    with pytest.raises(smtplib.SMTPConnectError) as refused:
        smtplib.SMTP("127.0.0.1", server.port, timeout=10)
    assert refused.value.smtp_code == 421

    held.pop().quit()
    deadline = time.monotonic() + 5
    while server.listener.per_ip.get("127.0.0.1", 0) > 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert send(server.port)[0] == 250
    held.pop().quit()


@pytest.mark.django_db(transaction=True)
def test_it_drops_an_idle_client_even_in_the_middle_of_data(start_listener):
    server = start_listener(limits=dataclasses.replace(LIMITS, timeout=1))
    client = RawClient(server.port)
    client.start_mail()
    client.sock.sendall(b"Subject: and then nothing\r\n")

    client.sock.settimeout(5)
    assert client.file.read() == b""  # closed by the server, no reply
    client.close()
    time.sleep(0.2)
    assert_nothing_stored()


@pytest.mark.django_db(transaction=True)
def test_it_offers_starttls_and_records_it(start_listener, tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=localhost", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = start_listener(tls_context=context)

    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        client.ehlo("client.example.net")
        assert client.has_extn("starttls")
        client.starttls(context=ssl._create_unverified_context())
        client.ehlo("client.example.net")
        client.sendmail("maria@example.net", ["help@example.com"], MESSAGE)

    assert InboundMessage.objects.get().tls is True


@pytest.mark.django_db(transaction=True)
def test_it_reports_its_heartbeat_in_healthz(start_listener, home):
    assert Client().get("/healthz").json()["smtp"] == {"status": "not_running"}

    server = start_listener()
    body = Client().get("/healthz").json()
    assert body["smtp"] == {"status": "ok", "address": f"127.0.0.1:{server.port}"}
    beat = json.loads((home / "smtp.status").read_text())
    assert beat["pid"] == os.getpid() and beat["address"] == f"127.0.0.1:{server.port}"

    beat["updated_at"] = (timezone.now() - timedelta(seconds=61)).isoformat()
    (home / "smtp.status").write_text(json.dumps(beat))
    assert Client().get("/healthz").json()["smtp"]["status"] == "stale"

    server.stop()
    server.stop = lambda: None
    assert Client().get("/healthz").json()["smtp"] == {"status": "not_running"}


def _spool(data: bytes, **envelope) -> spool.Spooled:
    writer = SpoolWriter()
    writer.write(data)
    return writer.commit(envelope=Envelope(**envelope))


@pytest.mark.django_db
def test_the_sweep_indexes_interrupted_deliveries_and_removes_temp_leftovers(home):
    # Crash after fsync, before the row: the envelope file is still in new/.
    orphan = _spool(b"Subject: orphan\r\n\r\nhello\r\n", mail_from="a@example.net", rcpt_tos=("help@example.com",),
                    peer="192.0.2.7", tls=True)
    # Crash after the commit, before the envelope file was removed.
    done = _spool(b"Subject: done\r\n\r\nhello\r\n", mail_from="b@example.net", rcpt_tos=("help@example.com",))
    spool_index(spooled=dataclasses.replace(done, sidecar=None))
    # Crash before anything was acknowledged.
    unfinished = SpoolWriter()
    unfinished.write(b"Subject: half a mess")
    unfinished.flush()
    (spool_dir() / "tmp" / "smtp-0123.json").write_text("{")
    # Crash between the two renames: an envelope whose message never reached new/.
    lost = _spool(b"never acknowledged")
    (spool_dir() / lost.spool_name).unlink()
    # An IMAP poller's delivery in progress, and its temp file: not the sweep's to touch yet.
    polling = _spool(b"Subject: being polled\r\n\r\nhi\r\n", source="imap")
    in_flight = spool_dir() / "tmp" / "imap-in-flight"
    in_flight.write_bytes(b"Subject: arriving")
    old = time.time() - spool.SWEEP_MIN_AGE.total_seconds() - 1

    report = sweep()

    assert (report.indexed, report.already_indexed, report.never_renamed, report.tmp_removed) == (1, 1, 1, 2)
    assert spool_files("tmp") == [in_flight] and [p for p in spool_files("new") if p.suffix == ".json"] == [
        polling.sidecar]
    indexed = InboundMessage.objects.get(sha256=orphan.sha256)
    assert (indexed.envelope_from, indexed.envelope_to, indexed.peer, indexed.tls) == (
        "a@example.net", ["help@example.com"], "192.0.2.7", True)
    assert indexed.received_at == orphan.received_at and indexed.spool_name == orphan.spool_name
    assert InboundMessage.objects.filter(sha256=done.sha256).count() == 1
    covered = [i for task in DBTaskResult.objects.filter(task_path__endswith="process_inbound")
               for i in task.args_kwargs["kwargs"]["inbound_ids"]]
    assert sorted(covered) == sorted(InboundMessage.objects.values_list("pk", flat=True))  # each has its task

    assert sweep() == spool.SweepReport()  # nothing left to do
    os.utime(polling.sidecar, (old, old))  # the poller never finished: now it is the sweep's
    assert sweep().indexed == 1


@pytest.mark.django_db
def test_the_sweep_flags_a_waiting_row_whose_message_file_was_lost(home):
    # Power lost after the row committed but before the fsync of new/ ended: no 250 was sent.
    lost = spool_index(spooled=_spool(b"Subject: lost\r\n\r\nhello\r\n"))
    kept = spool_index(spooled=_spool(b"Subject: kept\r\n\r\nhello\r\n"))
    (spool_dir() / lost.spool_name).unlink()

    report = sweep()

    assert report.lost == [lost.pk]
    lost.refresh_from_db()
    assert lost.status == "failed" and lost.error.startswith("SpoolFileMissing")
    kept.refresh_from_db()
    assert kept.status == "received"
    assert sweep().lost == []


@pytest.mark.django_db
def test_the_sweep_leaves_an_unreadable_envelope_in_place(home):
    spool.spool_dirs()
    broken = spool_dir() / "new" / "deadbeef.json"
    broken.write_text("{not json")

    assert sweep().unreadable == ["deadbeef.json"]
    assert broken.exists()


# --- the command, as a subprocess on its own SQLite home ------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def processes():
    """Processes a test starts, each in its own process group; whatever still runs at the end
    (a failed assertion) is killed with its children."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@pytest.fixture
def home_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "FRONTDESK_"))}
    env.update(FRONTDESK_HOME=str(tmp_path / "home"), FRONTDESK_LOG_LEVEL="WARNING")
    subprocess.run([sys.executable, "-m", "frontdesk.cli", "migrate"], env=env, check=True, timeout=120)
    return env


def start(processes, env, log: Path, *args: str) -> subprocess.Popen:
    with log.open("a") as output:
        process = subprocess.Popen([sys.executable, "-m", "frontdesk.cli", *args], env=env, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    processes.append(process)
    return process


def start_smtp(processes, env, port: int, log: Path) -> subprocess.Popen:
    """``frontdesk smtp`` on ``port``, its output in ``log``; returns once it listens."""
    process = start(processes, env, log, "smtp", "--smtp", f"127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while f"listening on smtp://127.0.0.1:{port}" not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"frontdesk smtp did not start:\n{log.read_text()}")
        time.sleep(0.05)
    return process


def rows_by_test_id(home: Path) -> collections.Counter:
    with sqlite3.connect(home / "frontdesk.sqlite3") as db:
        rows = dict(db.execute("SELECT id, spool_name FROM mail_inboundmessage").fetchall())
        tasks = db.execute("SELECT args_kwargs FROM django_tasks_database_dbtaskresult "
                           "WHERE task_path LIKE '%process_inbound'").fetchall()
    covered = [i for (args,) in tasks for i in json.loads(args)["kwargs"]["inbound_ids"]]
    assert sorted(covered) == sorted(rows)  # every row has its task, one task per group commit
    names = list(rows.values())
    return collections.Counter(
        email.message_from_bytes((home / "spool" / name).read_bytes())["X-Test-Id"] for name in names
    )


@pytest.mark.slow
def test_no_acknowledged_message_is_lost_or_doubled_when_killed_mid_burst(home_env, processes):
    home, port = Path(home_env["FRONTDESK_HOME"]), free_port()
    acknowledged, attempted = [], []
    filler = b"".join(b"%05d the quick brown fox jumps over the lazy dog 0123456789\r\n" % i for i in range(400))

    def sender(name: str, stop: threading.Event) -> None:
        for i in itertools.count():
            if stop.is_set():
                return
            test_id = f"{name}-{i}"
            attempted.append(test_id)
            message = f"Subject: burst {test_id}\r\nX-Test-Id: {test_id}\r\n\r\n".encode() + filler
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                    client.sendmail("maria@example.net", ["help@example.com"], message)
                acknowledged.append(test_id)  # sendmail returned: the server said 250
            except (OSError, smtplib.SMTPException):
                time.sleep(0.01)

    for round_ in range(3):  # each restart sweeps what the previous kill left
        server = start_smtp(processes, home_env, port, home.parent / f"smtp-{round_}.log")
        stop, before = threading.Event(), len(acknowledged)
        threads = [threading.Thread(target=sender, args=(f"{round_}.{n}", stop)) for n in range(8)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < before + 30 and time.monotonic() < deadline:
            time.sleep(0.005)
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        stop.set()
        for thread in threads:
            thread.join(30)
        assert len(acknowledged) >= before + 30

    log = home.parent / "restarted.log"
    restarted = start_smtp(processes, home_env, port, log)
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(30) == 0, log.read_text()
    assert not (home / "smtp.status").exists()  # a clean stop removes the heartbeat

    counts = rows_by_test_id(home)
    assert [test_id for test_id in acknowledged if counts[test_id] != 1] == []
    assert max(counts.values()) == 1  # nothing stored twice, acknowledged or not
    assert set(counts) <= set(attempted)
    assert list((home / "spool" / "tmp").iterdir()) == []
    assert list((home / "spool" / "new").glob("*.json")) == []


@pytest.mark.slow
def test_run_starts_the_smtp_listener_beside_the_web_server(home_env, processes, tmp_path):
    http, smtp, log = f"127.0.0.1:{free_port()}", free_port(), tmp_path / "run.log"
    server = start(processes, home_env, log, "run", "--http", http, "--smtp", f"127.0.0.1:{smtp}")
    deadline, health = time.monotonic() + 60, None
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"http://{http}/healthz", timeout=5) as response:
                health = json.loads(response.read())
            if health["smtp"]["status"] == "ok":
                break
        except OSError:
            pass
        time.sleep(0.3)
    assert health and health["smtp"] == {"status": "ok", "address": f"127.0.0.1:{smtp}"}, log.read_text()
    assert send(smtp)[0] == 250

    server.send_signal(signal.SIGINT)
    assert server.wait(30) == 0, log.read_text()
    assert sum(rows_by_test_id(Path(home_env["FRONTDESK_HOME"])).values()) == 1
