"""Inbound mail throughput: SMTP acceptance and processing into tickets, next to a bare aiosmtpd ceiling.

    .venv/bin/python bench/ingest.py [--messages 2000] [--connections 8] [--tickets 100000] [--workers 2]
                                     [--profile] [--timeout 600]

Works on a scratch copy of the seeded database (``bench/.data/<db>-<tickets>``, seeded once by
seed.py if missing), so every run starts from the same 100,000 tickets and leaves the cached
database untouched. Sends the same realistic messages (corpus.py text; about 30 % replies to
earlier messages of the run, a few automated ones) twice, each time from ``--connections``
client processes that keep their SMTP connection open:

1. to a bare aiosmtpd server that writes each message to a file and fsyncs it: the ceiling;
2. to ``frontdesk smtp`` with ``--workers`` ``frontdesk worker`` processes running, and waits
   until every stored message is processed into a ticket (polling the database).

Prints a table (acceptance, processing, threading correctness, the issue's targets) and
writes JSON to bench/results/. DATABASE_URL=postgres://… runs the same against PostgreSQL.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import multiprocessing
import os
import platform
import random
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from html import escape
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from api_latency import (
    BUSY_WARNING,
    HOST,
    RESULTS_DIR,
    cpu_busy,
    db_kind,
    free_port,
    git_commit,
    log_tail,
    percentile,
    raise_on_sigterm,
    stop_server,
)

BENCH_DIR = Path(__file__).resolve().parent
INBOX_ADDRESS = "support@bench.test"
CLIENT_NAME = "client.bench.test"
# The targets, set for this 2-core machine with SQLite and 100,000 tickets.
TARGET_ACCEPT_RATIO = 0.50  # of the bare aiosmtpd ceiling
TARGET_PROCESSED_PER_S = 150.0
KNOWN_SENDER_SHARE = 0.5  # of people's new conversations: existing customers (the rest write first)
HTML_SHARE = 0.35  # multipart/alternative with an HTML part, as most mail clients send
ATTACHMENT_SHARE = 0.03
RECENT_THREADS = 150  # a reply continues one of the most recent conversations
ACK_WAIT_SECONDS = 120  # after processing: how long to wait for acknowledgements to be written
AUTOMATED_SENDERS = [
    ("Status monitor", "alerts@status.example"),
    ("Shop orders", "orders@shop-system.example"),
    ("Billing robot", "billing-robot@payments.example"),
]
USER_AGENTS = [
    "Mozilla Thunderbird 128.4", "Apple Mail (2.3774)", "Microsoft Outlook 16.0", "Roundcube Webmail/1.6",
    "K-9 Mail for Android", "",
]


# ---- the messages ----------------------------------------------------------------------

@dataclass
class Mail:
    index: int
    kind: str  # "original" | "reply" | "automated"
    thread: int  # conversations are numbered in the order they start
    message_id: str  # without angle brackets
    root_id: str  # the Message-ID of the conversation's first message
    sender: str
    payload: bytes  # CRLF lines, dot-stuffed, without the final "."


@dataclass
class Conversation:
    number: int
    sender: str
    name: str
    subject: str
    ids: list[str] = field(default_factory=list)
    last_body: str = ""
    last_date: str = ""


def ascii_local(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isascii() and c.isalnum()).lower()


def build_mails(rng: random.Random, *, count: int, reply_share: float, automated_share: float,
                known: list[tuple[str, str]]) -> list[Mail]:
    """``count`` messages in sending order. Replies continue one of the recent conversations
    and carry In-Reply-To/References; automated ones (Auto-Submitted) start conversations that
    nobody answers. ``known`` is (name, email) of existing customers, used at most once each."""
    import corpus

    writer, known = corpus.Writer(rng), list(known)
    rng.shuffle(known)
    people: list[Conversation] = []
    mails: list[Mail] = []
    for index in range(count):
        draw = rng.random()
        if people and draw < reply_share:
            conversation = rng.choice(people[-RECENT_THREADS:])
            kind = "reply"
        elif draw < reply_share + automated_share:
            name, address = rng.choice(AUTOMATED_SENDERS)
            conversation = Conversation(index, address, name, f"[{name}] {writer.subject()}")
            kind = "automated"
        else:
            if known and rng.random() < KNOWN_SENDER_SHARE:
                name, address = known.pop()
            else:
                first, last = rng.choice(corpus.FIRST_NAMES), rng.choice(corpus.LAST_NAMES)
                name = f"{first} {last}"
                address = f"{ascii_local(first)}.{ascii_local(last)}.{index}@{rng.choice(corpus.MAIL_DOMAINS)}"
            conversation = Conversation(index, address, name, writer.subject())
            people.append(conversation)
            kind = "original"
        mails.append(compose(rng, writer, index=index, kind=kind, conversation=conversation))
    return mails


def compose(rng: random.Random, writer, *, index: int, kind: str, conversation: Conversation) -> Mail:
    first_name = conversation.name.split()[0]
    domain = conversation.sender.rpartition("@")[2]
    message_id = f"{rng.getrandbits(64):016x}.{index}@{domain}"
    now = format_datetime(datetime.now(UTC))
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["Received"] = (f"from mail{rng.randint(1, 40)}.{domain} (mail.{domain} [192.0.2.{rng.randint(1, 254)}]) "
                       f"by mx.bench.test with ESMTPS id {rng.getrandbits(40):010x}; {now}")
    msg["From"] = f"{conversation.name} <{conversation.sender}>"
    msg["To"] = rng.choice([INBOX_ADDRESS, f"Support <{INBOX_ADDRESS}>"])
    msg["Date"] = now
    msg["Message-ID"] = f"<{message_id}>"
    if kind == "reply":
        subject = conversation.subject
        msg["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
        msg["In-Reply-To"] = f"<{conversation.ids[-1]}>"
        msg["References"] = " ".join(f"<{i}>" for i in conversation.ids[-10:])
        quoted = "\n".join(f"> {line}" if line else ">" for line in conversation.last_body.splitlines())
        text = (f"{writer.customer_follow_up(first_name=first_name)}\n\n"
                f"On {conversation.last_date}, {conversation.name} <{conversation.sender}> wrote:\n{quoted}\n")
    elif kind == "automated":
        msg["Subject"] = conversation.subject
        msg["Auto-Submitted"] = "auto-generated"
        text = (f"This is an automated message from {conversation.name}.\n\n{writer.note()}\n"
                f"Reference: {rng.getrandbits(32):08X}\n\nPlease do not reply to this email.\n")
    else:
        msg["Subject"] = conversation.subject
        text = writer.customer_first_message(first_name=first_name) + "\n"
    if agent := rng.choice(USER_AGENTS):
        msg["User-Agent"] = agent
    msg.set_content(text)
    if kind != "automated" and rng.random() < HTML_SHARE:
        paragraphs = "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n"))
        msg.add_alternative(f"<html><body>{paragraphs}</body></html>", subtype="html")
    if kind != "automated" and rng.random() < ATTACHMENT_SHARE:
        msg.add_attachment(rng.randbytes(rng.randint(5_000, 60_000)), maintype="image", subtype="png",
                           filename="screenshot.png")
    conversation.ids.append(message_id)
    conversation.last_body, conversation.last_date = text, now
    data = msg.as_bytes()
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return Mail(index=index, kind=kind, thread=conversation.number, message_id=message_id,
                root_id=conversation.ids[0], sender=conversation.sender,
                payload=re.sub(rb"(?m)^\.", b"..", data))


def plan_connections(mails: list[Mail], connections: int) -> list[list[Mail]]:
    """Each conversation goes over one connection, in order: a reply is sent only after its
    original was accepted, but usually long before the original is processed."""
    threads = {m.thread for m in mails}
    slot = {thread: i % connections for i, thread in enumerate(sorted(threads))}
    plan: list[list[Mail]] = [[] for _ in range(connections)]
    for mail in mails:
        plan[slot[mail.thread]].append(mail)
    return plan


# ---- the database: a scratch copy of the seeded one -----------------------------------

def sqlite_path(url: str, home: Path) -> Path:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:") else home / "frontdesk.sqlite3"


def seeded_tickets(url: str, home: Path) -> int:
    """Tickets in the cached database, 0 if it (or its schema) does not exist yet."""
    import seed

    if (postgres := seed.postgres_params(url)) is None:
        import sqlite3

        path = sqlite_path(url, home)
        if not path.exists():
            return 0
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return db.execute("SELECT count(*) FROM tickets_ticket").fetchone()[0]
        except sqlite3.OperationalError:
            return 0
        finally:
            db.close()
    import psycopg

    name, params = postgres
    try:
        with psycopg.connect(dbname=name, **params) as db:
            return db.execute("SELECT count(*) FROM tickets_ticket").fetchone()[0]
    except (psycopg.OperationalError, psycopg.errors.UndefinedTable):
        return 0


def drop_seeded(url: str, home: Path) -> None:
    """--reseed: remove the cached database (PostgreSQL: DROP DATABASE, refused while in use)."""
    import seed

    if (postgres := seed.postgres_params(url)) is None:
        path = sqlite_path(url, home)
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        return
    import psycopg
    from psycopg import sql

    name, params = postgres
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    print(f"dropped PostgreSQL database {name}", file=sys.stderr)


def ensure_seeded(args, url: str, home: Path) -> int:
    if args.reseed:
        drop_seeded(url, home)
    count = seeded_tickets(url, home)
    if count == 0:
        print(f"seeding {args.tickets:,} tickets into {home} (once; later runs reuse it)", flush=True)
        env = {**os.environ, "FRONTDESK_HOME": str(home)}
        subprocess.run([sys.executable, str(BENCH_DIR / "seed.py"), "--tickets", str(args.tickets),
                        "--seed", str(args.seed)], env=env, check=True)
        count = seeded_tickets(url, home)
    elif count != args.tickets:
        print(f"warning: the database holds {count:,} tickets, not {args.tickets:,}; measuring "
              "what is there (name another database to seed a different size)", file=sys.stderr)
    return count


def clone_database(url: str, home: Path, scratch: Path) -> str:
    """Copy the seeded database for this run; returns the DATABASE_URL of the copy.
    SQLite: the backup API into the scratch home. PostgreSQL: CREATE DATABASE … TEMPLATE."""
    import seed

    if (postgres := seed.postgres_params(url)) is None:
        import sqlite3

        target = scratch / "frontdesk.sqlite3"
        source = sqlite3.connect(f"file:{sqlite_path(url, home)}?mode=ro", uri=True)
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        return f"sqlite:///{target}"
    import psycopg
    from psycopg import sql

    name, params = postgres
    copy_name = f"{name}_ingest"
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(copy_name)))
        try:
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(copy_name), sql.Identifier(name)))
        except psycopg.errors.ObjectInUse as exc:
            raise SystemExit(f"error: cannot copy {name}: another session is using it ({exc})") from exc
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{copy_name}"))


def schema_drift() -> list[str]:
    """Tables and columns the models have and the database lacks. Migrations are still rewritten
    in place before a release, and ``migrate`` does not revisit one it has applied, so a database
    seeded before such a change silently keeps the old schema."""
    from django.apps import apps
    from django.db import connection

    missing = []
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        for model in apps.get_models():
            table = model._meta.db_table
            if table not in tables:
                missing.append(f"table {table}")
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)} WHERE 1 = 0")
            columns = {column[0] for column in cursor.description}
            missing += [f"{table}.{f.column}" for f in model._meta.local_concrete_fields if f.column not in columns]
    return missing


@dataclass
class Fixture:
    tickets: int
    known: list[tuple[str, str]]  # (name, email) of existing customers
    base: dict[str, int]  # highest ids before the run, per table


def prepare(args, messages: int) -> Fixture:
    """In the scratch database: migrate, the default inbox, senders, the ids before the run."""
    import seed

    seed.setup_django()
    seed.migrate()
    if missing := schema_drift():
        raise SystemExit(f"error: the seeded database lacks {', '.join(missing[:5])}: it was made before a "
                         "migration was rewritten, so migrate does not add them. Run again with --reseed.")
    from django.db.models import Max

    from frontdesk.accounts.models import Group
    from frontdesk.customers.models import ContactKind, ContactPoint
    from frontdesk.mail.models import InboundMessage, Inbox, OutboundMessage
    from frontdesk.tickets.models import Ticket

    inbox = Inbox.objects.filter(address=INBOX_ADDRESS).first()
    if inbox is None:
        Inbox.objects.create(
            name="Bench support", address=INBOX_ADDRESS, from_name="Bench Support", acknowledge=True,
            is_default=not Inbox.objects.filter(is_default=True).exists(),
            group=Group.objects.filter(name="Support L1").first(),
        )
    elif not inbox.acknowledge:
        Inbox.objects.filter(pk=inbox.pk).update(acknowledge=True)
    points = (ContactPoint.objects.filter(kind=ContactKind.EMAIL, is_primary=True, undeliverable_since=None,
                                          customer__merged_into=None)
              .order_by("id").values_list("customer__name", "value")[: messages * 4])
    known = [(name, value) for name, value in points if value.isascii() and name]
    base = {
        model.__name__: model.objects.aggregate(top=Max("id"))["top"] or 0
        for model in (InboundMessage, Ticket, OutboundMessage)
    }
    return Fixture(tickets=Ticket.objects.count(), known=known, base=base)


# ---- servers (subprocesses) ------------------------------------------------------------

_prctl = getattr(ctypes.CDLL(None), "prctl", None) if sys.platform == "linux" else None


def _child_setup() -> None:
    """Runs in each server child before exec: its own session, so Ctrl-C reaches only the
    bench (which stops the children with one SIGTERM each), and SIGTERM if the bench dies."""
    os.setsid()
    if _prctl is not None:
        _prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("wb") as handle:
        return subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                preexec_fn=_child_setup)


def wait_for_smtp(process: subprocess.Popen, port: int, home: Path, log: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{log} exited with {process.returncode}:\n{log_tail(home, name=log)}")
        try:
            with smtplib.SMTP(HOST, port, local_hostname=CLIENT_NAME, timeout=2) as probe:
                probe.noop()
            return
        except (OSError, smtplib.SMTPException):
            time.sleep(0.2)
    raise RuntimeError(f"no SMTP banner on port {port} within {timeout:.0f} s:\n{log_tail(home, name=log)}")


def wait_for_log(process: subprocess.Popen, home: Path, log: str, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{log} exited with {process.returncode}:\n{log_tail(home, name=log)}")
        if text in (home / log).read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{log}: no {text!r} within {timeout:.0f} s:\n{log_tail(home, name=log)}")


def serve_bare(port: int, folder: str) -> None:
    """The ceiling (runs in its own process): aiosmtpd's own DATA handling, then the message
    written to a file and fsynced in a thread pool, as Frontdesk's listener does; no database."""
    import asyncio
    import threading
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    from aiosmtpd.controller import Controller

    pool = ThreadPoolExecutor(8)

    def write(content: bytes) -> None:
        fd = os.open(os.path.join(folder, uuid.uuid4().hex), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            await asyncio.get_running_loop().run_in_executor(pool, write, envelope.content)
            return "250 2.0.0 OK"

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    controller = Controller(Handler(), hostname=HOST, port=port, enable_SMTPUTF8=True,
                            data_size_limit=25 * 1024 * 1024)
    controller.start()
    print(f"bare aiosmtpd listening on {HOST}:{port}", flush=True)
    stop.wait()
    controller.stop()
    pool.shutdown()


def start_bare(home: Path, env: dict, port: int) -> subprocess.Popen:
    folder = home / "bare-spool"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    code = (f"import sys; sys.path.insert(0, {str(BENCH_DIR)!r}); import ingest; "
            f"ingest.serve_bare({port}, {str(folder)!r})")
    return spawn([sys.executable, "-c", code], env, home / "bare.log")


def start_frontdesk(args, home: Path, env: dict, port: int) -> dict[str, subprocess.Popen]:
    cli = [sys.executable, "-m", "frontdesk.cli"]
    processes = {"smtp": spawn([*cli, "smtp", "--smtp", f"{HOST}:{port}"], env, home / "smtp.log")}
    for n in range(1, args.workers + 1):
        command = [*cli, "worker", "--interval", str(args.worker_interval)]
        if args.profile and n == 1:
            command = [sys.executable, "-m", "cProfile", "-o", str(home / "worker-1.prof"), *command[1:]]
        processes[f"worker-{n}"] = spawn(command, env, home / f"worker-{n}.log")
    return processes


def stop_all(processes: dict[str, subprocess.Popen]) -> None:
    """One SIGTERM each (a second one makes a worker abandon its task), listener first."""
    for process in processes.values():
        stop_server(process)


# ---- CPU accounting --------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: int | str, children: bool = False) -> float:
    """CPU seconds of one process (and of its reaped children), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return ticks / CLK_TCK


def _postgres_cpu() -> float:
    total = 0.0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/comm") as comm:
                    if comm.read().strip() != "postgres":
                        continue
            except OSError:
                continue
            total += _proc_cpu(entry.name, children=True)  # the postmaster holds exited backends
    return total


@dataclass
class CpuSnapshot:
    at: float
    busy: float  # machine-wide CPU seconds, all processes
    bench: float
    processes: dict[str, float]
    postgres: float


def cpu_snapshot(processes: dict[str, subprocess.Popen], postgres: bool) -> CpuSnapshot:
    try:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:9]]
        busy = (sum(values) - values[3] - values[4]) / CLK_TCK
    except OSError:
        busy = float("nan")
    return CpuSnapshot(at=time.time(), busy=busy, bench=time.process_time(),
                       processes={name: _proc_cpu(p.pid) for name, p in processes.items()},
                       postgres=_postgres_cpu() if postgres else 0.0)


def cpu_shares(before: CpuSnapshot, after: CpuSnapshot, clients: float) -> dict[str, float]:
    """Who used the machine between two snapshots, as shares of all its CPUs. ``others`` is
    everything not started by this run: other people's test suites show up there."""
    capacity = max(1e-9, (after.at - before.at) * (os.cpu_count() or 1))
    shares = {"clients": clients}
    for name, seconds in after.processes.items():
        group = "workers" if name.startswith("worker") else name
        shares[group] = shares.get(group, 0.0) + seconds - before.processes.get(name, 0.0)
    if after.postgres:
        shares["postgres"] = after.postgres - before.postgres
    shares["bench"] = after.bench - before.bench
    shares["others"] = max(0.0, after.busy - before.busy - sum(shares.values()))
    return {name: round(seconds / capacity, 3) for name, seconds in shares.items()}


def cpu_seconds(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """CPU seconds (user + system) each group of our processes used between two snapshots:
    the figure to compare between runs on a shared machine (rates swing with the load)."""
    used: dict[str, float] = {}
    for name, seconds in after.processes.items():
        group = "workers" if name.startswith("worker") else name
        used[group] = used.get(group, 0.0) + seconds - before.processes.get(name, 0.0)
    if after.postgres:
        used["postgres"] = after.postgres - before.postgres
    return {name: round(seconds, 3) for name, seconds in used.items()}


# ---- the load (client processes: no Django here) --------------------------------------

@dataclass
class ClientJob:
    port: int
    messages: list[tuple[int, str, bytes]]  # (index, envelope sender, payload)
    start_at: float  # wall clock, shared by all clients
    deadline: float


@dataclass
class ClientResult:
    accepted: list[int]  # indexes of messages answered 250
    latencies: list[float]  # end of DATA (the final ".") to the 250, seconds
    last_accept: float
    errors: int
    error_samples: list[str]
    cpu_seconds: float
    unsent: int = 0


def _connect(port: int) -> smtplib.SMTP:
    smtp = smtplib.SMTP(HOST, port, local_hostname=CLIENT_NAME, timeout=120)
    # The final "." goes out alone and must not wait for the ACK of the body (Nagle).
    smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    smtp.ehlo()
    return smtp


def run_client(job: ClientJob) -> ClientResult:
    """One SMTP connection, kept open, one message after the other until done or the deadline."""
    result = ClientResult(accepted=[], latencies=[], last_accept=0.0, errors=0, error_samples=[], cpu_seconds=0)
    cpu_start = time.process_time()
    time.sleep(max(0.0, job.start_at - time.time()))
    smtp: smtplib.SMTP | None = None

    def fail(index: int, problem: str) -> None:
        result.errors += 1
        if len(result.error_samples) < 3:
            result.error_samples.append(f"message {index}: {problem}")

    for position, (index, sender, payload) in enumerate(job.messages):
        if time.time() > job.deadline:
            result.unsent = len(job.messages) - position
            break
        try:
            if smtp is None:
                smtp = _connect(job.port)
            # Mail clients send 8-bit text bodies, declared with BODY=8BITMIME (RFC 6152).
            code, reply = smtp.mail(sender, options=[] if payload.isascii() else ["BODY=8BITMIME"])
            if code == 250:
                code, reply = smtp.rcpt(INBOX_ADDRESS)
            if code != 250:
                fail(index, f"{code} {reply!r}")
                smtp.rset()
                continue
            smtp.putcmd("data")
            code, reply = smtp.getreply()
            if code != 354:
                fail(index, f"DATA: {code} {reply!r}")
                continue
            smtp.send(payload)
            started = time.perf_counter()
            smtp.send(b".\r\n")
            code, reply = smtp.getreply()
            elapsed = time.perf_counter() - started
        except (OSError, smtplib.SMTPException) as exc:
            fail(index, f"{type(exc).__name__}: {exc}")
            if smtp is not None:
                smtp.close()
            smtp = None
            continue
        if code == 250:
            result.accepted.append(index)
            result.latencies.append(elapsed)
            result.last_accept = time.time()
        else:
            fail(index, f"{code} {reply!r}")
    if smtp is not None:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    result.cpu_seconds = time.process_time() - cpu_start
    return result


@dataclass
class Acceptance:
    server: str
    accepted: int
    errors: int
    unsent: int
    seconds: float
    throughput: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    vs_ceiling: float | None = None
    cpu: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # per process group, for the whole run
    error_samples: list[str] = field(default_factory=list)
    rounds: list[float] = field(default_factory=list)  # msg/s of each round (the ceiling's)


def start_burst(pool, plan: list[list[Mail]], port: int, timeout: float):
    """Hand every connection its messages; returns (start time, pending results)."""
    start_at = time.time() + 0.5  # every client process waiting at the line
    jobs = [ClientJob(port=port, messages=[(m.index, m.sender, m.payload) for m in messages],
                      start_at=start_at, deadline=start_at + timeout) for messages in plan]
    return start_at, pool.map_async(run_client, jobs)


def summarize_burst(server: str, start_at: float, results: list[ClientResult]) -> Acceptance:
    latencies = sorted(x for r in results for x in r.latencies)
    seconds = max([r.last_accept for r in results] + [start_at]) - start_at
    return Acceptance(
        server=server, accepted=len(latencies), errors=sum(r.errors for r in results),
        unsent=sum(r.unsent for r in results), seconds=round(seconds, 3),
        throughput=len(latencies) / seconds if seconds > 0 else 0.0,
        p50_ms=percentile(latencies, 0.50), p90_ms=percentile(latencies, 0.90),
        p99_ms=percentile(latencies, 0.99), max_ms=percentile(latencies, 1.0),
        error_samples=[s for r in results for s in r.error_samples][:5],
    )


def wait_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def measure_ceiling(args, pool, plan, home: Path, env: dict) -> Acceptance:
    """The same burst ``--ceiling-rounds`` times against one bare server; the fastest round
    counts. Outside load can only slow a round down, and a 2-second burst is easily hit."""
    port = free_port()
    print(f"ceiling: bare aiosmtpd on {HOST}:{port}, {args.messages:,} messages over "
          f"{args.connections} connections, {args.ceiling_rounds} rounds", flush=True)
    server = start_bare(home, env, port)
    processes = {"server": server}
    rounds: list[Acceptance] = []
    try:
        wait_for_smtp(server, port, home, "bare.log")
        for _ in range(args.ceiling_rounds):
            start_at, pending = start_burst(pool, plan, port, args.timeout)
            wait_until(start_at)
            before = cpu_snapshot(processes, postgres=False)
            results = pending.get()
            after = cpu_snapshot(processes, postgres=False)
            row = summarize_burst("bare aiosmtpd + fsync (ceiling)", start_at, results)
            row.cpu = cpu_shares(before, after, sum(r.cpu_seconds for r in results))
            row.cpu_seconds = cpu_seconds(before, after)
            rounds.append(row)
            print(f"  accepted {row.accepted:,} in {row.seconds:.1f} s: {row.throughput:,.0f} msg/s "
                  f"(others used {row.cpu['others']:.0%} of the CPU)", flush=True)
    except BaseException:
        pool.terminate()  # stop the load first: the servers then stop at once
        raise
    finally:
        stop_all(processes)
        shutil.rmtree(home / "bare-spool", ignore_errors=True)
    best = max(rounds, key=lambda r: r.throughput)
    best.rounds = [round(r.throughput, 1) for r in rounds]
    return best


# ---- Frontdesk: accept, then process (polling the database) ---------------------------

@dataclass
class Processing:
    rows: int = 0
    done: int = 0  # processed or duplicate
    by_status: dict[str, int] = field(default_factory=dict)
    failed_tasks: int = 0
    seconds: float = 0.0  # first message sent to the last one processed
    throughput: float = 0.0
    lag_p50_s: float = float("nan")  # stored (250) to processed, per message
    lag_p99_s: float = float("nan")
    timed_out: bool = False
    acks_queued: int = 0
    acks_delivered: int = 0
    acks_seconds: float = 0.0  # first message sent to the last acknowledgement written
    acks_to_automated: int = 0
    outbox_files: int = 0


@dataclass
class Correctness:
    originals: int = 0  # accepted originals, automated ones included
    automated: int = 0
    replies: int = 0  # accepted replies whose original was accepted too
    replies_threaded: int = 0
    tickets_created: int = 0
    misthreaded_samples: list[str] = field(default_factory=list)

    @property
    def threaded_share(self) -> float:
        return self.replies_threaded / self.replies if self.replies else 1.0


def run_frontdesk(args, pool, plan, mails: list[Mail], home: Path, env: dict, fixture: Fixture):
    from django.db.models import Count, Q

    from frontdesk.mail.models import InboundMessage, InboundStatus

    port = free_port()
    print(f"frontdesk: smtp on {HOST}:{port} + {args.workers} workers; data in {home}", flush=True)
    processes = start_frontdesk(args, home, env, port)
    run_rows = InboundMessage.objects.filter(pk__gt=fixture.base["InboundMessage"])
    try:
        wait_for_smtp(processes["smtp"], port, home, "smtp.log")
        for name, process in processes.items():
            if name.startswith("worker"):
                wait_for_log(process, home, f"{name}.log", "Starting worker")
        start_at, pending = start_burst(pool, plan, port, args.timeout)
        wait_until(start_at)
        before = cpu_snapshot(processes, postgres=fixture_is_postgres())
        deadline, next_report = start_at + args.timeout, start_at + 2
        results, processing = None, Processing()
        while True:
            if results is None and pending.ready():
                results = pending.get()
                accept = summarize_burst("frontdesk smtp", start_at, results)
                print(f"  accepted {accept.accepted:,} in {accept.seconds:.1f} s: "
                      f"{accept.throughput:,.0f} msg/s", flush=True)
            counts = run_rows.aggregate(rows=Count("id"), waiting=Count("id", filter=Q(status=InboundStatus.RECEIVED)))
            if results is not None and (not args.workers or (counts["waiting"] == 0
                                                             and counts["rows"] >= accept.accepted)):
                break
            if time.time() > deadline:
                processing.timed_out = True
                break
            if time.time() >= next_report:
                print(f"  {time.time() - start_at:5.1f} s: {counts['rows']:,} stored, "
                      f"{counts['rows'] - counts['waiting']:,} processed", flush=True)
                next_report += 2
            time.sleep(0.25)
        if results is None:  # timed out while still sending: the clients stop at the same deadline
            results = pending.get()
            accept = summarize_burst("frontdesk smtp", start_at, results)
        if args.workers:
            wait_for_acks(fixture, deadline=time.time() + ACK_WAIT_SECONDS)
        after = cpu_snapshot(processes, postgres=fixture_is_postgres())
    except BaseException:
        # Stop the load first: a listener still receiving DATA waits up to 10 s before it stops.
        pool.terminate()
        raise
    finally:
        stop_all(processes)
    accept.cpu = cpu_shares(before, after, sum(r.cpu_seconds for r in results))
    accept.cpu_seconds = cpu_seconds(before, after)
    accepted = {i for r in results for i in r.accepted}
    processing = collect_processing(processing, fixture, start_at, home)
    correctness = check_threading(mails, accepted, fixture) if args.workers else Correctness()
    return accept, processing, correctness


def fixture_is_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def wait_for_acks(fixture: Fixture, *, deadline: float) -> None:
    """Acknowledgements are delivered by later tasks (to the outbox folder): wait for them."""
    from frontdesk.mail.models import OutboundMessage, OutboundStatus

    queued = OutboundMessage.objects.filter(
        pk__gt=fixture.base["OutboundMessage"], status__in=[OutboundStatus.QUEUED, OutboundStatus.RETRYING]
    )
    while queued.exists() and time.time() < deadline:
        time.sleep(0.25)


def collect_processing(processing: Processing, fixture: Fixture, start_at: float, home: Path) -> Processing:
    from django.db.models import Count, Max
    from django_tasks_db.models import DBTaskResult

    from frontdesk.mail.models import InboundMessage, InboundStatus, OutboundKind, OutboundMessage, OutboundStatus

    rows = InboundMessage.objects.filter(pk__gt=fixture.base["InboundMessage"])
    processing.by_status = {r["status"]: r["n"] for r in rows.values("status").annotate(n=Count("id"))}
    processing.rows = sum(processing.by_status.values())
    processing.done = processing.by_status.get(InboundStatus.PROCESSED, 0) + processing.by_status.get(
        InboundStatus.DUPLICATE, 0)
    finished = rows.exclude(processed_at=None)
    last = finished.aggregate(last=Max("processed_at"))["last"]
    if last is not None:
        processing.seconds = round(last.timestamp() - start_at, 3)
        processing.throughput = processing.done / processing.seconds if processing.seconds > 0 else 0.0
    lags = sorted((p - r).total_seconds() for r, p in finished.values_list("received_at", "processed_at"))
    processing.lag_p50_s = percentile(lags, 0.50) / 1000
    processing.lag_p99_s = percentile(lags, 0.99) / 1000
    processing.failed_tasks = DBTaskResult.objects.filter(
        enqueued_at__gte=datetime.fromtimestamp(start_at - 1, UTC), status="FAILED").count()
    acks = OutboundMessage.objects.filter(pk__gt=fixture.base["OutboundMessage"], kind=OutboundKind.ACK)
    processing.acks_queued = acks.count()
    delivered = acks.filter(status=OutboundStatus.SENT)
    processing.acks_delivered = delivered.count()
    last_ack = delivered.aggregate(last=Max("sent_at"))["last"]
    processing.acks_seconds = round(last_ack.timestamp() - start_at, 3) if last_ack else 0.0
    processing.acks_to_automated = acks.filter(recipient__in=[a for _, a in AUTOMATED_SENDERS]).count()
    outbox = home / "outbox"
    processing.outbox_files = len(list(outbox.glob("*.eml"))) if outbox.is_dir() else 0
    return processing


def check_threading(mails: list[Mail], accepted: set[int], fixture: Fixture) -> Correctness:
    """Did every reply land on its conversation's ticket? Were tickets created for originals only?"""
    from frontdesk.mail.models import InboundMessage
    from frontdesk.tickets.models import Ticket

    ticket_of = {
        message_id.strip("<>"): ticket_id
        for message_id, ticket_id in InboundMessage.objects.filter(pk__gt=fixture.base["InboundMessage"])
        .values_list("message_id", "ticket_id")
    }
    accepted_ids = {m.message_id for m in mails if m.index in accepted}
    result = Correctness(tickets_created=Ticket.objects.filter(pk__gt=fixture.base["Ticket"]).count())
    for mail in mails:
        if mail.index not in accepted:
            continue
        if mail.kind != "reply":
            result.originals += 1
            result.automated += mail.kind == "automated"
        elif mail.root_id in accepted_ids:
            result.replies += 1
            mine, root = ticket_of.get(mail.message_id), ticket_of.get(mail.root_id)
            if mine is not None and mine == root:
                result.replies_threaded += 1
            elif len(result.misthreaded_samples) < 5:
                result.misthreaded_samples.append(f"{mail.message_id} on ticket {mine}, its original on {root}")
    return result


# ---- profile ---------------------------------------------------------------------------

def profile_summary(path: Path, top: int = 25) -> list[dict]:
    """The profiled worker's top functions by cumulative time, as shares of its time in tasks."""
    import pstats

    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    in_tasks = max((ct for (file, _, name), (_, _, _, ct, _) in stats.items()
                    if name == "run_task" and file.endswith("db_worker.py")), default=0.0)
    rows = []
    for (file, line, name), (_, calls, tottime, cumtime, _) in stats.items():
        short = re.sub(r".*/(site-packages|src)/", "", file)
        rows.append({"function": f"{short}:{line}({name})", "calls": calls, "tottime_s": round(tottime, 3),
                     "cumtime_s": round(cumtime, 3), "share": round(cumtime / in_tasks, 3) if in_tasks else None})
    by_self = sorted(rows, key=lambda r: r["tottime_s"], reverse=True)[:top]
    # The worker's own frames (startup, the polling loop) enclose run_task: leave them out.
    within = sorted((r for r in rows if not in_tasks or r["cumtime_s"] <= round(in_tasks, 3)),
                    key=lambda r: r["cumtime_s"], reverse=True)[:top]
    return [{**r, "rank": "cumulative"} for r in within] + [{**r, "rank": "self"} for r in by_self]


def format_profile(rows: list[dict]) -> str:
    lines = ["", "profile of worker-1 (cProfile; slows that worker, so this run's rates are not comparable)"]
    for rank, title in (("cumulative", "by cumulative time"), ("self", "by own time")):
        lines += ["", f"{title:<78}{'calls':>9}{'own s':>8}{'cum s':>8}{'of tasks':>9}"]
        for r in (r for r in rows if r["rank"] == rank):
            share = f"{r['share']:.0%}" if r["share"] is not None else ""
            lines.append(f"{r['function'][:78]:<78}{r['calls']:>9,}{r['tottime_s']:>8.2f}{r['cumtime_s']:>8.2f}"
                         f"{share:>9}")
    return "\n".join(lines)


# ---- reporting -------------------------------------------------------------------------

def describe_run(args, fixture: Fixture, mails: list[Mail], kind: str, source: str) -> dict:
    import aiosmtpd
    import django

    from frontdesk.settings import DATABASES

    return {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "database": kind, "source_database": source, "database_name": str(DATABASES["default"]["NAME"]),
        "tickets": fixture.tickets, "messages": len(mails),
        "originals": sum(m.kind == "original" for m in mails),
        "automated": sum(m.kind == "automated" for m in mails),
        "replies": sum(m.kind == "reply" for m in mails),
        "bytes": sum(len(m.payload) for m in mails),
        "connections": args.connections, "workers": args.workers, "worker_interval_s": args.worker_interval,
        "ceiling_rounds": args.ceiling_rounds, "profiled": bool(args.profile), "seed": args.seed,
        "cpus": os.cpu_count(),
        "python": platform.python_version(), "django": django.get_version(),
        "aiosmtpd": getattr(aiosmtpd, "__version__", ""), "machine": platform.platform(),
        "git_commit": git_commit(), "src_changes": src_changes(),
    }


def src_changes() -> list[str]:
    """Uncommitted changes under src/ (others work in the same tree): what the run measured."""
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=BENCH_DIR.parent,
                             capture_output=True, text=True, timeout=5)
    except OSError:
        return []
    return out.stdout.splitlines()


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def targets(ceiling: Acceptance, accept: Acceptance, processing: Processing) -> list[dict]:
    ratio = accept.throughput / ceiling.throughput if ceiling.throughput else 0.0
    return [
        {"target": "accepting vs the bare aiosmtpd ceiling", "wanted": f">= {TARGET_ACCEPT_RATIO:.2f}x",
         "actual": f"{ratio:.2f}x", "pass": ratio >= TARGET_ACCEPT_RATIO},
        {"target": "fully processed into tickets", "wanted": f">= {TARGET_PROCESSED_PER_S:.0f} msg/s",
         "actual": f"{processing.throughput:.1f} msg/s",
         "pass": processing.throughput >= TARGET_PROCESSED_PER_S and not processing.timed_out},
    ]


def checks(processing: Processing, correctness: Correctness) -> list[dict]:
    human = correctness.originals - correctness.automated
    return [
        {"check": "replies on their original's ticket", "expected": correctness.replies,
         "actual": correctness.replies_threaded, "note": f"{correctness.threaded_share:.1%}",
         "pass": correctness.replies_threaded == correctness.replies},
        {"check": "tickets created = originals", "expected": correctness.originals,
         "actual": correctness.tickets_created, "note": "",
         "pass": correctness.tickets_created == correctness.originals},
        {"check": "acknowledgements queued = originals not automated", "expected": human,
         "actual": processing.acks_queued,
         "note": f"{processing.acks_to_automated} to automated" if processing.acks_to_automated else "",
         "pass": processing.acks_queued == human and not processing.acks_to_automated},
        {"check": "acknowledgements delivered (outbox)", "expected": processing.acks_queued,
         "actual": processing.acks_delivered, "note": f"{processing.outbox_files:,} files",
         "pass": processing.acks_delivered == processing.acks_queued},
    ]


def format_cpu(shares: dict[str, float]) -> str:
    return ", ".join(f"{name} {share:.0%}" for name, share in shares.items())


def format_report(run: dict, ceiling: Acceptance, accept: Acceptance, processing: Processing,
                  check_rows: list[dict], target_rows: list[dict]) -> str:
    head = (f"Frontdesk inbound mail: {run['database']}, {run['tickets']:,} tickets, {run['messages']:,} messages "
            f"({run['originals'] + run['automated']:,} new conversations of which {run['automated']} automated, "
            f"{run['replies']:,} replies; {run['bytes'] / run['messages'] / 1024:.1f} KiB average) over "
            f"{run['connections']} SMTP connections, frontdesk smtp + {run['workers']} workers, {run['cpus']} CPUs; "
            f"commit {run['git_commit']}" + (f" + {len(run['src_changes'])} changed files in src/"
                                             if run["src_changes"] else ""))
    columns = (f"{'accepting (SMTP)':<34}{'accepted':>9}{'errors':>7}{'msg/s':>8}{'p50 ms':>8}{'p99 ms':>8}"
               f"{'vs ceiling':>11}{'client CPU':>11}")
    lines = [head, "", columns, "-" * len(columns)]
    for row in (ceiling, accept):
        lines.append(f"{row.server:<34}{row.accepted:>9,}{row.errors + row.unsent:>7}{row.throughput:>8,.0f}"
                     f"{row.p50_ms:>8.1f}{row.p99_ms:>8.1f}{row.vs_ceiling or 0:>10.2f}x"
                     f"{row.cpu.get('clients', 0):>11.0%}")
    if not run["workers"]:
        lines += ["", "processing: not measured (--workers 0: the listener alone, nothing processing meanwhile)"]
    else:
        lines += format_processing(run, processing, check_rows)
    title = "targets (the issue's: this 2-core machine, SQLite, 100,000 tickets)"
    columns = f"{title:<70}{'wanted':>14}{'actual':>14}"
    lines += ["", columns, "-" * (len(columns) + 5)]
    for t in target_rows:
        lines.append(f"{t['target']:<70}{t['wanted']:>14}{t['actual']:>14} {verdict(t['pass'])}")
    lines += ["", f"CPU, share of the machine: ceiling run: {format_cpu(ceiling.cpu)}",
              f"                           frontdesk run: {format_cpu(accept.cpu)}"]
    lines.append("CPU per message (ms, user + system): " + ", ".join(
        f"{name} {1000 * seconds / max(1, row.accepted):.2f}"
        for row in (ceiling, accept) for name, seconds in row.cpu_seconds.items()))
    busy = run.get("cpu_busy_before")
    others = max(ceiling.cpu.get("others", 0), accept.cpu.get("others", 0))
    if (busy is not None and busy > BUSY_WARNING) or others > BUSY_WARNING:
        lines.append(f"warning: other work used the CPU ({busy or 0:.0%} before the run, up to {others:.0%} "
                     "during it); numbers are lower and noisier than on an idle machine")
    if run["database"] != "sqlite":
        lines.append(f"note: the targets were set for SQLite; this run used {run['database']}")
    if processing.timed_out:
        lines.append(f"warning: processing did not finish within --timeout {run['timeout_s']:g} s")
    for row in (ceiling, accept):
        for sample in row.error_samples:
            lines.append(f"  error ({row.server}): {sample}")
    for status, n in processing.by_status.items():
        if run["workers"] and status not in {"processed", "duplicate"}:
            lines.append(f"  inbound rows {status}: {n}")
    return "\n".join(lines)


def format_processing(run: dict, processing: Processing, check_rows: list[dict]) -> list[str]:
    errors = processing.rows - processing.done + processing.failed_tasks
    columns = (f"{'processing (' + str(run['workers']) + ' workers)':<34}{'done':>9}{'errors':>7}{'msg/s':>8}"
               f"{'seconds':>8}{'lag p50 s':>10}{'lag p99 s':>10}")
    lines = ["", columns, "-" * len(columns),
             f"{'fully processed into tickets':<34}{processing.done:>9,}{errors:>7}{processing.throughput:>8.1f}"
             f"{processing.seconds:>8.1f}{processing.lag_p50_s:>10.1f}{processing.lag_p99_s:>10.1f}",
             f"{'acknowledgements written':<34}{processing.acks_delivered:>9,}"
             f"{processing.acks_queued - processing.acks_delivered:>7}"
             f"{processing.acks_delivered / processing.acks_seconds if processing.acks_seconds else 0:>8.1f}"
             f"{processing.acks_seconds:>8.1f}"]
    columns = f"{'correctness':<52}{'expected':>9}{'actual':>9}{'':>12}"
    lines += ["", columns, "-" * (len(columns) + 5)]
    for c in check_rows:
        lines.append(f"{c['check']:<52}{c['expected']:>9,}{c['actual']:>9,}{c['note']:>12} {verdict(c['pass'])}")
    return lines


def write_json(payload: dict) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"ingest-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


# ---- the command -----------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages to send (default 2000)")
    parser.add_argument("--connections", type=int, default=8,
                        help="concurrent SMTP connections, one client process each (default 8)")
    parser.add_argument("--tickets", type=int, default=100_000, help="seeded dataset size (default 100000)")
    parser.add_argument("--workers", type=int, default=2,
                        help="frontdesk worker processes (default 2; 0: measure the listener alone)")
    parser.add_argument("--worker-interval", type=float, default=1.0,
                        help="seconds an idle worker sleeps between polls (default 1.0, as `frontdesk worker`)")
    parser.add_argument("--reply-share", type=float, default=0.30, help="share of replies (default 0.30)")
    parser.add_argument("--automated-share", type=float, default=0.03,
                        help="share of automated mail with Auto-Submitted (default 0.03)")
    parser.add_argument("--ceiling-rounds", type=int, default=3,
                        help="bursts against the bare server; the fastest counts (default 3)")
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds allowed for sending and for processing, per server (default 600)")
    parser.add_argument("--profile", action="store_true",
                        help="run worker 1 under cProfile and print its top costs (slows it down)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="the seeded FRONTDESK_HOME to copy (default bench/.data/<db>-<tickets>)")
    parser.add_argument("--seed", type=int, default=42, help="random seed for messages (and a new seed)")
    parser.add_argument("--reseed", action="store_true",
                        help="drop the cached seeded database and seed it again (after a schema change)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.messages < 1 or args.connections < 1 or args.workers < 0 or args.ceiling_rounds < 1:
        print("error: --messages and --connections must be positive, --workers at least 0", file=sys.stderr)
        return 2
    source_url = os.environ.get("DATABASE_URL", "")
    kind = db_kind(source_url)
    cache = (args.data_dir or BENCH_DIR / ".data" / f"{kind}-{args.tickets}").resolve()
    cache.mkdir(parents=True, exist_ok=True)
    scratch = BENCH_DIR.resolve() / ".data" / f"ingest-{cache.name}"
    raise_on_sigterm()
    ensure_seeded(args, source_url, cache)
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    if (cache / "secret_key").exists():
        shutil.copy2(cache / "secret_key", scratch / "secret_key")
    started = time.perf_counter()
    url = clone_database(source_url, cache, scratch)
    print(f"copied the seeded database for this run in {time.perf_counter() - started:.1f} s: {url}", flush=True)
    os.environ.update({"FRONTDESK_HOME": str(scratch), "DATABASE_URL": url, "FRONTDESK_DEBUG": "0"})
    os.environ.pop("FRONTDESK_SMTP_URL", None)  # acknowledgements go to the outbox folder
    if args.connections > 20:  # the listener's per-IP cap (FRONTDESK_SMTP_MAX_CONN_PER_IP, default 20)
        os.environ["FRONTDESK_SMTP_MAX_CONN_PER_IP"] = str(args.connections)
    fixture = prepare(args, args.messages)
    mails = build_mails(random.Random(args.seed), count=args.messages, reply_share=args.reply_share,
                        automated_share=args.automated_share, known=fixture.known)
    plan = plan_connections(mails, args.connections)
    run = describe_run(args, fixture, mails, kind, source_url or str(sqlite_path(source_url, cache)))
    run["timeout_s"] = args.timeout
    from django.db import connections

    connections.close_all()  # the servers get their own; this process reconnects to poll
    run["cpu_busy_before"] = cpu_busy()
    if run["cpu_busy_before"] and run["cpu_busy_before"] > BUSY_WARNING:
        print(f"warning: {run['cpu_busy_before']:.0%} of the CPU is busy with other work", file=sys.stderr)
    env = dict(os.environ)
    # spawn, not fork: the clients must not inherit this process's database connection.
    with multiprocessing.get_context("spawn").Pool(args.connections) as pool:
        ceiling = measure_ceiling(args, pool, plan, scratch, env)
        accept, processing, correctness = run_frontdesk(args, pool, plan, mails, scratch, env, fixture)
    ceiling.vs_ceiling = 1.0
    accept.vs_ceiling = accept.throughput / ceiling.throughput if ceiling.throughput else None
    check_rows = checks(processing, correctness) if args.workers else []
    target_rows = targets(ceiling, accept, processing)[: 2 if args.workers else 1]
    print()
    print(format_report(run, ceiling, accept, processing, check_rows, target_rows))
    for sample in correctness.misthreaded_samples:
        print(f"  misthreaded: {sample}")
    profile = []
    if args.profile and (scratch / "worker-1.prof").exists():
        profile = profile_summary(scratch / "worker-1.prof")
        print(format_profile(profile))
    payload = {"run": run, "acceptance": [asdict(ceiling), asdict(accept)], "processing": asdict(processing),
               "correctness": {**asdict(correctness), "threaded_share": correctness.threaded_share},
               "checks": check_rows, "targets": target_rows, "profile": profile}
    print(f"\nJSON: {write_json(payload)}\nlogs and the database copy: {scratch}")
    failed = any(not c["pass"] for c in check_rows + target_rows)
    return 1 if failed or accept.errors or ceiling.errors or processing.timed_out else 0


if __name__ == "__main__":
    sys.exit(main())
