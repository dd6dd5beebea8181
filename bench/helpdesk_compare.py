"""Frontdesk side by side with django-helpdesk: the same data, server, load and mail.

    .venv/bin/python bench/helpdesk_compare.py [--tickets 100000] [--duration 10] [--concurrency 4]
                                               [--workers 2] [--rounds 1] [--messages 1000]
                                               [--skip-ingest] [--frontdesk-ingest-json PATH]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/frontdesk_bench .venv/bin/python bench/helpdesk_compare.py

1. Frontdesk: ``bench/.data/<db>-<tickets>`` seeded once by seed.py (the cache every bench uses).
2. django-helpdesk (the PyPI release in helpdesk_setup.HELPDESK_VERSION): installed into
   bench/.helpdesk-venv with the same gunicorn, a minimal site written to
   bench/.data/helpdesk-site, its database seeded once with bulk_create from Frontdesk's own
   rows (every ticket, every message as a FollowUp, the same texts and times).
3. Both served by gunicorn with ``--workers`` sync workers, both up at once, and driven one
   endpoint at a time by the load generator of api_latency.py (client processes, sequential
   requests), interleaved per round; signed in as an admin agent / a staff user.
4. Mail: Frontdesk's figure from bench/ingest.py (run here, or its JSON given), and
   django-helpdesk's ``get_email`` over a local mailbox directory holding the same generated
   messages (ingest.build_mails, replies in the same batch as their originals).

Prints the table of both and the Frontdesk / django-helpdesk ratios against the targets of
issue 9; writes JSON to bench/results/helpdesk_compare-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import time
from base64 import b64encode
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
import api_latency as load  # noqa: E402  (bench/ is not a package)
import helpdesk_setup as hd  # noqa: E402
from compare_load import Target, drive  # noqa: E402

RESULTS_DIR = BENCH_DIR / "results"
HOST = "127.0.0.1"
ADMIN_EMAIL = "bench-compare-admin@bench.frontdesk.test"


@dataclass
class Comparison:
    name: str
    frontdesk: str  # measurement names
    helpdesk: str
    target: float | None  # Frontdesk / django-helpdesk throughput ratio the issue asks for
    metric: str = "req/s"


COMPARISONS = [
    Comparison("hello world (server ceiling)", "fd livez", "hd livez", None),
    Comparison("ticket list: page", "fd inbox page (all open)", "hd ticket list page", None),
    Comparison("ticket list: data (the rows)", "fd inbox page (all open)", "hd ticket list data (datatables)", 10),
    Comparison("ticket view", "fd ticket page", "hd ticket view", 10),
    Comparison("search (a word, all tickets)", "fd search", "hd search (datatables)", 10),
    Comparison("public form GET", "fd contact form GET", "hd submit form GET", 5),
    Comparison("public form POST (new ticket)", "fd contact form POST", "hd submit form POST", 5),
]


# ---- fixtures (in-process Frontdesk; django-helpdesk through helpdesk_site.py) -----------

def frontdesk_targets(rng: random.Random, words: list[str]) -> list[Target]:
    from django.conf import settings
    from django.test import Client

    from frontdesk.accounts.models import Agent
    from frontdesk.accounts.services import agent_create

    admin = Agent.objects.filter(email=ADMIN_EMAIL).first() or agent_create(
        email=ADMIN_EMAIL, name="Bench compare admin", role="admin", group_names=[])
    client = Client(HTTP_HOST=HOST)
    client.force_login(admin)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    references = load.sample_references(rng, 1000)
    token = load.bench_token(load.ADMIN_EMAIL, role="admin")
    form = ("csrfmiddlewaretoken={csrf}&started={started}&website=&name=Bench+Customer+{n}"
            "&email=bench.customer.{n}%40compare.test&subject=Printer+on+floor+{n}+is+offline"
            "&message=The+printer+on+our+floor+stopped+printing+this+morning.+Can+you+help%3F")
    return [
        Target("fd livez", "GET", ["/livez"]),
        Target("fd inbox page (all open)", "GET", ["/desk/views/all-open/"], cookie=cookie),
        Target("fd ticket page", "GET", [f"/desk/tickets/{r}/" for r in references], cookie=cookie),
        Target("fd search", "GET", [f"/desk/search/?q={quote(w)}" for w in words], cookie=cookie),
        Target("fd contact form GET", "GET", ["/help/"]),
        Target("fd contact form POST", "POST", ["/help/"], form=form, ok=(302,)),
        Target("fd API tickets list", "GET", ["/api/v1/tickets?limit=25"], bearer=token),
    ]


def helpdesk_query(search: str = "") -> str:
    """The base64 query django-helpdesk's list page puts in its datatables URL: the default
    list (open and reopened, by created), or, for a search from its list page (``?q=``), no
    status filter and the search string."""
    if search:
        params = {"filtering": {}, "filtering_null": {}, "sorting": "created", "sortreverse": None,
                  "search_string": search}
    else:
        params = {"filtering": {"status__in": [1, 2]}, "sorting": "created", "search_string": "",
                  "sortreverse": False}
    return b64encode(json.dumps(params).encode()).decode()


def helpdesk_targets(fixture: dict, words: list[str]) -> list[Target]:
    cookie = f"sessionid={fixture['session']}"
    # What the datatables script sends for the first page (25 rows, its default order).
    table = "?draw=1&start=0&length=25&search%5Bvalue%5D=&search%5Bregex%5D=false"
    form = ("csrfmiddlewaretoken={csrf}&queue=" + str(fixture["public_queue"]) +
            "&title=Printer+on+floor+{n}+is+offline&submitter_email=bench.customer.{n}%40compare.test"
            "&priority=3&due_date=&body=The+printer+on+our+floor+stopped+printing+this+morning.+Can+you+help%3F")
    return [
        Target("hd livez", "GET", ["/livez"]),
        Target("hd ticket list page", "GET", ["/helpdesk/tickets/"], cookie=cookie),
        Target("hd ticket list data (datatables)", "GET",
               [f"/helpdesk/datatables_ticket_list/{helpdesk_query()}{table}"], cookie=cookie),
        Target("hd ticket view", "GET", [f"/helpdesk/tickets/{i}/" for i in fixture["ticket_ids"]], cookie=cookie),
        Target("hd search (datatables)", "GET",
               [f"/helpdesk/datatables_ticket_list/{helpdesk_query(w)}{table}" for w in words], cookie=cookie),
        Target("hd submit form GET", "GET", ["/helpdesk/tickets/submit/"]),
        Target("hd submit form POST", "POST", ["/helpdesk/tickets/submit/"], form=form, ok=(302,)),
    ]


def search_words(rng: random.Random, count: int = 20) -> list[str]:
    """Words people search for: from the subjects of random tickets (as desk_pages.py)."""

    subjects = load.random_tickets(rng, 400).values_list("subject", flat=True)
    words = [w.strip(",.?!:").lower() for s in subjects for w in s.split()[:3]]
    words = sorted({w for w in words if len(w) >= 5 and w.isalpha()})
    return rng.sample(words, min(count, len(words)))


# ---- measuring ---------------------------------------------------------------------------

def wait_live(server: subprocess.Popen, port: int, log: Path, timeout: float = 60) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = load.log_tail(log.parent, name=log.name)
            raise RuntimeError(f"the server exited with {server.returncode}:\n{tail}")
        connection = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            connection.request("GET", "/livez")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.3)
    raise RuntimeError(f"no answer on /livez within {timeout:.0f} s:\n{load.log_tail(log.parent, name=log.name)}")


def measure(args, targets: list[tuple[int, Target]]) -> list:
    """Each target in turn, interleaved over rounds (Frontdesk row, then django-helpdesk's);
    rows pooled per target with api_latency.summarize."""
    bursts: dict[str, list] = {t.name: [] for _, t in targets}
    with multiprocessing.get_context("spawn").Pool(args.concurrency) as pool:
        for round_number in range(args.rounds):
            for port, target in targets:
                if round_number == 0 and args.warmup > 0:
                    drive(pool, target, port=port, duration=args.warmup, concurrency=args.concurrency)
                burst = drive(pool, target, port=port, duration=args.duration, concurrency=args.concurrency)
                bursts[target.name].append(burst)
                done = sum(len(r.latencies) for r in burst[0])
                print(f"  round {round_number + 1}/{args.rounds} {target.name}: {done / burst[1]:,.1f} req/s"
                      + (f" ({sum(r.errors for r in burst[0])} errors)" if any(r.errors for r in burst[0]) else ""),
                      flush=True)
    return [load.summarize(name, runs) for name, runs in bursts.items()]


def interleave(frontdesk: list[Target], helpdesk: list[Target], fd_port: int, hd_port: int):
    """Pairs next to each other, so outside load lands on both sides alike."""
    hd_by_name = {t.name: t for t in helpdesk}
    order: list[tuple[int, Target]] = []
    for comparison in COMPARISONS:
        for port, name, source in ((fd_port, comparison.frontdesk, {t.name: t for t in frontdesk}),
                                   (hd_port, comparison.helpdesk, hd_by_name)):
            if name in source and all(t.name != name for _, t in order):
                order.append((port, source[name]))
    order += [(fd_port, t) for t in frontdesk if all(t.name != o.name for _, o in order)]
    return order


def scratch_copies(kind: str, tickets: int, hd_url: str) -> tuple[Path, str, str]:
    """The web run posts forms, which add tickets: it runs on copies (as bench/ingest.py does),
    so the seeded databases other benches reuse keep exactly ``--tickets``. Made after the
    sessions and tokens exist, so the copies hold them. Returns (Frontdesk home, its
    DATABASE_URL, django-helpdesk's url)."""
    import ingest

    home = BENCH_DIR / ".data" / f"compare-{kind}-{tickets}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    source = Path(os.environ["FRONTDESK_HOME"])
    if (source / "secret_key").exists():  # sessions and signed form fields must still verify
        shutil.copy2(source / "secret_key", home / "secret_key")
    fd_url = ingest.clone_database(os.environ.get("DATABASE_URL", ""), source, home)
    hd_scratch = hd.SITE / f"compare-{kind}-{tickets}"
    shutil.rmtree(hd_scratch, ignore_errors=True)
    hd_scratch.mkdir(parents=True)
    hd_copy = copy_sqlite(hd_url, hd_scratch) if kind == "sqlite" else ingest.clone_database(hd_url, hd_scratch,
                                                                                             hd_scratch)
    return home, fd_url, hd_copy


def frontdesk_tickets(url: str, home: Path) -> int:
    import ingest

    return ingest.seeded_tickets(url, home)


def run_web(args, kind: str, hd_url: str, fixture: dict) -> tuple[list, dict]:
    rng = random.Random(args.seed)
    words = search_words(rng)
    frontdesk, helpdesk = frontdesk_targets(rng, words), helpdesk_targets(fixture, words)
    from django.db import connections

    connections.close_all()
    started = time.perf_counter()
    fd_home, fd_url, hd_copy = scratch_copies(kind, args.tickets, hd_url)
    print(f"copied both databases for the web run in {time.perf_counter() - started:.0f} s", flush=True)
    before = {"frontdesk": frontdesk_tickets(fd_url, fd_home), "helpdesk": hd.run_site(hd_copy, "count")["tickets"]}
    fd_port, hd_port = load.free_port(), load.free_port()
    print(f"starting frontdesk web on {fd_port} and django-helpdesk (gunicorn) on {hd_port}, "
          f"{args.workers} sync workers each", flush=True)
    original = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = fd_url  # load.start_server passes os.environ on
    fd_server = load.start_server(args, fd_home, fd_port)
    if original is None:
        os.environ.pop("DATABASE_URL")
    else:
        os.environ["DATABASE_URL"] = original
    hd_server = hd.start_server(hd_copy, hd_port, args.workers, hd.SITE / "server.log")
    try:
        wait_live(fd_server, fd_port, fd_home / "server.log")
        wait_live(hd_server, hd_port, hd.SITE / "server.log")
        measurements = measure(args, interleave(frontdesk, helpdesk, fd_port, hd_port))
    finally:
        load.stop_server(fd_server)
        load.stop_server(hd_server)
        load.revoke_bench_tokens()
    # Every successful post (warm-up included) must have made a ticket: a 302 alone proves nothing.
    created = {"frontdesk": frontdesk_tickets(fd_url, fd_home) - before["frontdesk"],
               "helpdesk": hd.run_site(hd_copy, "count")["tickets"] - before["helpdesk"]}
    return measurements, {"search_words": words, "tickets_created_by_posts": created}


# ---- mail --------------------------------------------------------------------------------

def frontdesk_ingest(args, kind: str) -> dict:
    """bench/ingest.py's figures: run it (same --messages and --seed), or read its JSON."""
    path = args.frontdesk_ingest_json
    if path is None:
        command = [sys.executable, str(BENCH_DIR / "ingest.py"), "--messages", str(args.messages),
                   "--tickets", str(args.tickets), "--seed", str(args.seed), "--ceiling-rounds", "1"]
        print(f"running {' '.join(command[1:])}", flush=True)
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=BENCH_DIR.parent)
        print("\n".join(done.stdout.splitlines()[-25:]), flush=True)
        found = re.search(r"^JSON: (.+)$", done.stdout, re.M)
        if not found:
            raise RuntimeError(f"bench/ingest.py wrote no JSON (exit status {done.returncode})")
        path = Path(found.group(1).strip())
    data = json.loads(Path(path).read_text())
    processing, correctness = data["processing"], data["correctness"]
    return {"json": str(path), "messages": data["run"].get("messages"), "throughput": processing["throughput"],
            "seconds": processing["seconds"], "threaded_share": correctness["threaded_share"],
            "replies": correctness["replies"], "timed_out": processing["timed_out"]}


def helpdesk_mails(args, kind: str, fd_home: Path) -> list:
    """The messages bench/ingest.py sends, built the same way: same seed, same known senders
    (its ``prepare`` reads them from the copy of this very database)."""
    import ingest
    from frontdesk.customers.models import ContactKind, ContactPoint

    points = (ContactPoint.objects.filter(kind=ContactKind.EMAIL, is_primary=True, undeliverable_since=None,
                                          customer__merged_into=None)
              .order_by("id").values_list("customer__name", "value")[: args.messages * 4])
    known = [(name, value) for name, value in points if value.isascii() and name]
    return ingest.build_mails(random.Random(args.seed), count=args.messages, reply_share=0.30,
                              automated_share=0.03, known=known)


def helpdesk_ingest(args, kind: str, hd_url: str, mails: list) -> dict:
    """``get_email`` over a local mailbox directory on a copy of the seeded database: once on an
    empty mailbox (start-up cost), once on the messages; then the threading check."""
    import ingest

    scratch = hd.SITE / f"ingest-{kind}-{args.tickets}"
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "mailbox").mkdir(parents=True)
    url = ingest.clone_database(hd_url, scratch, scratch) if kind != "sqlite" else copy_sqlite(hd_url, scratch)
    hd.run_site(url, "mailqueue", str(scratch / "mailbox"))
    command = [str(hd.VENV / "bin" / "python"), "-m", "django", "get_email", "--quiet"]
    env = hd.env_for(url, HD_OUTBOX=str(scratch / "outbox"))
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True)
    startup = time.perf_counter() - started
    for mail in mails:  # undo the SMTP dot-stuffing: these are files, not DATA
        (scratch / "mailbox" / f"{mail.index:06d}.eml").write_bytes(re.sub(rb"(?m)^\.\.", b".", mail.payload))
    started = time.perf_counter()
    with (scratch / "get_email.log").open("wb") as log:
        subprocess.run(command, env=env, check=True, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - started
    (scratch / "mails.json").write_text(json.dumps(
        [{"index": m.index, "kind": m.kind, "message_id": m.message_id, "root_id": m.root_id} for m in mails]))
    check = hd.run_site(url, "threading", str(scratch / "mails.json"))
    left = len(list((scratch / "mailbox").iterdir()))
    return {"messages": len(mails), "seconds": round(seconds, 2), "startup_s": round(startup, 2),
            "throughput": len(mails) / seconds, "throughput_after_startup": len(mails) / max(0.001, seconds - startup),
            "stored": check["stored"], "left_in_mailbox": left, "replies": check["replies"],
            "threaded_share": check["threaded"] / check["replies"] if check["replies"] else 1.0,
            "misthreaded_samples": check["samples"], "scratch": str(scratch)}


def copy_sqlite(url: str, scratch: Path) -> str:
    import sqlite3

    target = scratch / "helpdesk.sqlite3"
    source, copy = sqlite3.connect(url.removeprefix("sqlite://")), sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    return f"sqlite:///{target}"


# ---- report ------------------------------------------------------------------------------

def ratio_rows(measurements: list, mail: dict | None) -> list[dict]:
    by_name = {m.endpoint: m for m in measurements}
    rows = []
    for comparison in COMPARISONS:
        fd, hd_row = by_name.get(comparison.frontdesk), by_name.get(comparison.helpdesk)
        if fd is None or hd_row is None:
            continue
        rows.append(row(comparison.name, fd.throughput, hd_row.throughput, comparison.target, "req/s",
                        fd.p50_ms, hd_row.p50_ms, fd.errors + hd_row.errors))
    if mail and mail.get("frontdesk") and mail.get("helpdesk"):
        fd, hd_mail = mail["frontdesk"], mail["helpdesk"]
        rows.append(row("mail ingest", fd["throughput"], hd_mail["throughput"], 5, "msg/s", None, None, 0))
    return rows


def row(name, fd, hd_value, target, metric, fd_p50, hd_p50, errors) -> dict:
    ratio = fd / hd_value if hd_value else float("inf")
    return {"name": name, "metric": metric, "frontdesk": fd, "helpdesk": hd_value, "ratio": ratio,
            "frontdesk_p50_ms": fd_p50, "helpdesk_p50_ms": hd_p50, "target": target, "errors": errors,
            "pass": None if target is None else (ratio >= target and errors == 0)}


def format_report(run: dict, measurements: list, rows: list[dict], mail: dict | None, web: dict) -> str:
    lines = [f"Frontdesk vs django-helpdesk {run['helpdesk_version']}: {run['database']}, "
             f"{run['tickets']:,} tickets each ({run['helpdesk_followups']:,} follow-ups / "
             f"{run['frontdesk_messages']:,} messages), gunicorn {run['workers']} sync workers each, "
             f"{run['concurrency']} client processes, {run['rounds']} x {run['duration_s']:g} s, "
             f"{run['cpus']} CPUs", ""]
    columns = f"{'endpoint':<36}{'requests':>9}{'errors':>7}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
    lines += [columns, "-" * len(columns)]
    for m in measurements:
        lines.append(f"{m.endpoint:<36}{m.requests:>9,}{m.errors:>7}{m.throughput:>9,.1f}{m.p50_ms:>9.1f}"
                     f"{m.p90_ms:>9.1f}{m.p99_ms:>9.1f}")
    if mail:
        for side in ("frontdesk", "helpdesk"):
            if figures := mail.get(side):
                lines.append(f"{side + ' mail ingest':<36}{figures['messages'] or 0:>9,}{'':>7}"
                             f"{figures['throughput']:>9,.1f} msg/s, replies threaded "
                             f"{figures['threaded_share']:.1%} of {figures['replies']:,}")
        if figures := mail.get("helpdesk"):
            lines.append(f"  django-helpdesk get_email: {figures['stored']:,} of {figures['messages']:,} stored, "
                         f"{figures['left_in_mailbox']:,} left in the mailbox, {figures['seconds']:.1f} s "
                         f"(start-up on an empty mailbox {figures['startup_s']:.1f} s)")
    if created := web.get("tickets_created_by_posts"):
        lines.append(f"  tickets created by the form posts (warm-up included): Frontdesk {created['frontdesk']:,}, "
                     f"django-helpdesk {created['helpdesk']:,}")
    lines += ["", f"{'comparison':<34}{'Frontdesk':>12}{'helpdesk':>12}{'ratio':>9}{'target':>8}  verdict",
              "-" * 84]
    for r in rows:
        verdict = "" if r["pass"] is None else ("pass" if r["pass"] else "FAIL")
        target = f">= {r['target']}x" if r["target"] else ""
        lines.append(f"{r['name']:<34}{r['frontdesk']:>12,.1f}{r['helpdesk']:>12,.1f}{r['ratio']:>8.1f}x"
                     f"{target:>8}  {verdict}")
    lines.append("ratio: Frontdesk / django-helpdesk throughput (req/s or msg/s) in the same run")
    busy = run.get("cpu_busy_before")
    if busy is not None and busy > load.BUSY_WARNING:
        lines.append(f"warning: {busy:.0%} of the CPU was busy with other work before the run (load average "
                     f"{run['load_average_before']:.1f} before, {run['load_average_after']:.1f} after): "
                     "absolute figures are low and noisy, the same-run ratios hold better")
    for m in measurements:
        lines += [f"  error ({m.endpoint}): {s}" for s in m.error_samples]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="dataset size (default 100000)")
    parser.add_argument("--duration", type=float, default=10, help="seconds per endpoint and round (default 10)")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds before each endpoint (default 2)")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved passes over all endpoints (default 1)")
    parser.add_argument("--concurrency", type=int, default=4, help="client processes (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers per server (default 2)")
    parser.add_argument("--messages", type=int, default=1000, help="mails for the ingest comparison (default 1000)")
    parser.add_argument("--skip-ingest", action="store_true", help="web pages only")
    parser.add_argument("--skip-web", action="store_true", help="mail ingest only")
    parser.add_argument("--frontdesk-ingest-json", type=Path, help="read Frontdesk's ingest figures from this "
                        "bench/ingest.py JSON instead of running it")
    parser.add_argument("--seed", type=int, default=42)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.threads = 1  # api_latency.start_server reads it: sync workers on both sides
    kind = load.db_kind(os.environ.get("DATABASE_URL", ""))
    fd_home = (BENCH_DIR / ".data" / f"{kind}-{args.tickets}").resolve()
    fd_home.mkdir(parents=True, exist_ok=True)
    os.environ.update({"FRONTDESK_HOME": str(fd_home), "FRONTDESK_DEBUG": "0"})
    load.raise_on_sigterm()
    hd.ensure_venv()
    hd.write_site()
    import seed

    tickets = seed.ready_database(tickets=args.tickets, seed_value=args.seed)
    hd_url, hd_counts = hd.ensure_seeded(kind, args.tickets)
    fixture = hd.run_site(hd_url, "fixture")
    from frontdesk.tickets.models import Message

    run = {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "database": kind, "tickets": tickets,
           "frontdesk_messages": Message.objects.count(), "helpdesk_tickets": hd_counts["tickets"],
           "helpdesk_followups": hd_counts["followups"], "helpdesk_version": hd.HELPDESK_VERSION,
           "workers": args.workers, "concurrency": args.concurrency, "rounds": args.rounds,
           "duration_s": args.duration, "warmup_s": args.warmup, "cpus": os.cpu_count(),
           "python": platform.python_version(), "machine": platform.platform(), "git_commit": load.git_commit(),
           "cpu_busy_before": load.cpu_busy(), "load_average_before": os.getloadavg()[0]}
    measurements, web = ([], {}) if args.skip_web else run_web(args, kind, hd_url, fixture)
    mail = None
    if not args.skip_ingest:
        mails = helpdesk_mails(args, kind, fd_home)
        from django.db import connections

        connections.close_all()
        mail = {"helpdesk": helpdesk_ingest(args, kind, hd_url, mails)}
        print(f"django-helpdesk get_email: {mail['helpdesk']['throughput']:.1f} msg/s", flush=True)
        mail["frontdesk"] = frontdesk_ingest(args, kind)
    run["load_average_after"] = os.getloadavg()[0]
    rows = ratio_rows(measurements, mail)
    print()
    print(format_report(run, measurements, rows, mail, web))
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"helpdesk_compare-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"run": run, "web": web, "results": [asdict(m) for m in measurements],
                                "mail": mail, "comparisons": rows}, indent=2, default=str) + "\n")
    print(f"\nJSON: {path}")
    return 1 if any(m.errors for m in measurements) else 0


if __name__ == "__main__":
    sys.exit(main())
