"""Server time of the agent workspace pages (inbox views, search, ticket page), against a
seeded database, next to a hello-world baseline measured the same way in the same run.

    .venv/bin/python bench/desk_pages.py [--tickets 100000] [--requests 40] [--rounds 2] [--only TEXT]
    .venv/bin/python bench/desk_pages.py --tickets 1000000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/frontdesk_bench_1m \
        .venv/bin/python bench/desk_pages.py --tickets 1000000

Seeds ``bench/.data/<db>-<tickets>`` once (seed.py, the same cache as api_latency.py), signs
in a tier-1 agent (and an admin) in-process, and times each page through Django's test client:
the whole request through every middleware (sessions, CSRF, OTP, CSP, the desk access check),
the queries and the template, without network or WSGI server. ``/livez`` through the same
client is the baseline. Prints p50/p95 ms and queries per page against the 100 ms target;
writes JSON to bench/results/.

The machine may be shared: the run samples the CPU other processes use before it starts and
during every page (all CPU time minus this process and its PostgreSQL backend), prints it, and
interleaves the pages over ``--rounds`` so outside bursts spread over all of them. ``cpu p50``
is this process's own CPU per request (SQLite runs inside it), which outside load barely moves.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
from api_latency import BUSY_WARNING, cpu_busy  # noqa: E402  (bench/ is not a package)

RESULTS_DIR = BENCH_DIR / "results"
TARGET_MS = 100.0
AGENT_EMAIL = "bench-desk@bench.frontdesk.test"
ADMIN_EMAIL = "bench-desk-admin@bench.frontdesk.test"
HOST = "127.0.0.1"


@dataclass
class Page:
    name: str
    paths: list[str]  # requests cycle through these
    who: str = "agent"  # "agent" (tier 1, visibility filter), "admin" or "seeded" (see seeded_agent)
    cold_counts: bool = False  # clear the cache before each request (view counts recomputed)


@dataclass
class Row:
    name: str
    requests: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    queries: str
    status: str
    cpu_p50_ms: float = 0.0  # this process's CPU time per request (not the database server's)
    others: float | None = None  # share of the machine other processes used meanwhile


def prepare(args):
    sys.path.insert(0, str(BENCH_DIR))
    import seed

    return seed.ready_database(tickets=args.tickets, seed_value=args.seed)


def bench_agent(email: str, role: str):
    from frontdesk.accounts.models import Agent, Group
    from frontdesk.accounts.services import agent_create

    agent = Agent.objects.filter(email=email).first()
    if agent is None:
        group = Group.objects.filter(tier=1).order_by("id").first()
        agent = agent_create(email=email, name=f"Bench {role}", role=role,
                             group_names=[group.name] if group else [])
    return agent


def seeded_agent(agent):
    """A seeded agent of the bench agent's tier-1 group: one with tickets assigned (a year
    and more of them, most closed), so "Mine" has rows to find among many."""
    from frontdesk.accounts.models import Agent

    group = agent.groups.order_by("id").first()
    return (Agent.objects.filter(groups=group, is_active=True, email__endswith="@" + seeded_domain())
            .exclude(pk=agent.pk).order_by("id").first()) if group else None


def seeded_domain() -> str:
    import dataset

    return dataset.AGENT_DOMAIN


def pages(rng: random.Random, agent) -> list[Page]:
    """What to request: every built-in view (first page), deep cursor pages, filters, sorts,
    search, and the ticket page when it exists."""
    from django.urls import NoReverseMatch, reverse

    from frontdesk.desk.selectors import BUILTIN_VIEWS, filters_from_params
    from frontdesk.tickets.models import Tag, Ticket
    from frontdesk.tickets.selectors import apply_filters, encode_cursor, tickets_visible_to

    found = [
        Page("livez (baseline)", ["/livez"]),
        Page("login page (anonymous)", ["/desk/login/"], who="anonymous"),
    ]
    for view in BUILTIN_VIEWS:
        found.append(Page(f"view {view.slug}", [f"/desk/views/{view.slug}/"]))
    found.append(Page("view mine, counts not cached", ["/desk/"], cold_counts=True))
    found.append(Page("view mine as a seeded agent", ["/desk/"], who="seeded"))
    found.append(Page("view all-open as admin", ["/desk/views/all-open/"], who="admin"))
    # Deep pages: cursors at random depths of the view, as "Older →" would give after paging.
    for slug in ("all-open", "solved"):
        view = next(v for v in BUILTIN_VIEWS if v.slug == slug)
        visible = apply_filters(tickets_visible_to(agent=agent), filters_from_params(agent=agent, params=view.params))
        ids = list(visible.order_by("-updated_at", "-id").values_list("id", flat=True)[:50_000])
        sample = Ticket.objects.filter(id__in=rng.sample(ids, min(20, len(ids)))).only("updated_at")
        cursors = [encode_cursor(ticket, "-updated_at") for ticket in sample]
        if cursors:
            found.append(Page(f"view {slug}, deep page", [f"/desk/views/{slug}/?after={c}" for c in cursors]))
    group_id = agent.groups.values_list("id", flat=True).first()
    tags = list(Tag.objects.order_by("id").values_list("name", flat=True)[:5])
    found.append(Page("filtered: open, urgent+high, my group", [
        f"/desk/views/all-open/?f=1&status=open&priority=urgent&priority=high&group={group_id}",
    ]))
    if tags:
        found.append(Page("filtered: tag, any status", [f"/desk/views/all-open/?f=1&tag={quote(t)}" for t in tags]))
    month_ago = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 30 * 86400))
    found.append(Page("filtered: created last 30 days", [f"/desk/views/all-open/?f=1&created_from={month_ago}"]))
    found.append(Page("sort by priority", ["/desk/views/all-open/?sort=-priority"]))
    found.append(Page("sort by created, oldest first", ["/desk/views/all-open/?sort=created_at"]))
    top = Ticket.objects.order_by("-id").values_list("id", flat=True).first() or 0
    random_ids = [rng.randint(1, top) for _ in range(400)]
    sample = list(tickets_visible_to(agent=agent).filter(id__in=random_ids).values("reference", "subject")[:20])
    found.append(Page("search: reference", [f"/desk/search/?q={t['reference'].lower()}" for t in sample]))
    words = [t["subject"].split()[0] for t in sample if t["subject"].split()]
    found.append(Page("search: subject word", [f"/desk/search/?q={quote(w)}" for w in words]))
    try:
        reverse("desk:ticket", args=["X"])
        found.append(Page("ticket page", [f"/desk/tickets/{t['reference']}/" for t in sample]))
        # As helpdesk_compare.py asks for it: an admin (no visibility filter, full side panel).
        found.append(Page("ticket page as admin", [f"/desk/tickets/{t['reference']}/" for t in sample], who="admin"))
    except NoReverseMatch:
        pass
    return found


class CpuMeter:
    """CPU jiffies of the whole machine, of this process and of its PostgreSQL backend (if
    any), to tell how much of the machine others used while a page was measured."""

    def __init__(self):
        self.backend = None
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.backend = cursor.fetchone()[0]

    @staticmethod
    def _process(pid) -> int:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, IndexError, ValueError):
            return 0

    def sample(self) -> tuple[int, int, int] | None:
        try:
            with open("/proc/stat") as stat:
                values = [int(v) for v in stat.readline().split()[1:]]
        except OSError:
            return None
        ours = self._process("self") + (self._process(self.backend) if self.backend else 0)
        return sum(values) - values[3] - values[4], sum(values), ours  # busy, total, ours

    @staticmethod
    def others(before, after) -> float | None:
        if before is None or after is None or after[1] <= before[1]:
            return None
        busy = (after[0] - before[0]) - (after[2] - before[2])
        return max(0.0, busy / (after[1] - before[1]))


@dataclass
class Samples:
    times: list[float]
    cpu: list[float]
    queries: set
    statuses: set
    others: list[tuple]  # (before, after) CPU samples per measured stretch


def warm_up(page: Page, clients: dict) -> Samples:
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = clients[page.who]
    samples = Samples([], [], set(), set(), [])
    for path in page.paths[:3]:  # warm-up, and the query count
        cache.clear()
        client.get(path)
        with CaptureQueriesContext(connection) as captured:
            if page.cold_counts:
                cache.clear()
            client.get(path)
        samples.queries.add(len(captured))
    return samples


def measure(page: Page, clients: dict, requests: range, samples: Samples, meter: CpuMeter) -> None:
    from django.core.cache import cache

    client = clients[page.who]
    before = meter.sample()
    for number in requests:
        path = page.paths[number % len(page.paths)]
        if page.cold_counts:
            cache.clear()
        started, cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        samples.cpu.append((time.process_time() - cpu) * 1000)
        samples.times.append((time.perf_counter() - started) * 1000)
        samples.statuses.add(response.status_code)
    samples.others.append((before, meter.sample()))


def summarize(page: Page, samples: Samples) -> Row:
    times = sorted(samples.times)
    queries = samples.queries
    shares = [CpuMeter.others(a, b) for a, b in samples.others]
    shares = [s for s in shares if s is not None]
    return Row(
        name=page.name, requests=len(times), p50_ms=statistics.median(times),
        p95_ms=times[min(len(times) - 1, int(len(times) * 0.95))], max_ms=times[-1],
        queries=f"{min(queries)}" if len(queries) == 1 else f"{min(queries)}-{max(queries)}",
        status=",".join(str(s) for s in sorted(samples.statuses)),
        cpu_p50_ms=statistics.median(samples.cpu),
        others=statistics.mean(shares) if shares else None,
    )


def format_table(rows: list[Row], header: str) -> str:
    baseline = rows[0].p50_ms
    lines = [header, f"{'page':40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'cpu p50':>8} {'queries':>8} "
                     f"{'vs livez':>9} {'others':>7}  target", "-" * 113]
    for row in rows:
        verdict = "" if row.name.startswith("livez") else (
            "ok" if max(row.p50_ms, row.p95_ms) < TARGET_MS else "OVER")
        if row.status != "200":
            verdict += f" (HTTP {row.status})"
        others = f"{row.others:6.0%}" if row.others is not None else "     ?"
        lines.append(f"{row.name:40} {row.p50_ms:8.1f} {row.p95_ms:8.1f} {row.max_ms:8.1f} {row.cpu_p50_ms:8.1f} "
                     f"{row.queries:>8} {row.p50_ms / baseline:8.0f}x {others:>7}  {verdict}")
    lines.append(f"target: p50 and p95 < {TARGET_MS:.0f} ms server time per page; cpu p50: this process's CPU "
                 "per request; others: share of the machine (all CPUs) other processes used meanwhile")
    return "\n".join(lines)


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BENCH_DIR, capture_output=True,
                              text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="size of the seeded database")
    parser.add_argument("--requests", type=int, default=40, help="timed requests per page")
    parser.add_argument("--rounds", type=int, default=2,
                        help="interleave the pages this many times, splitting --requests (default 2)")
    parser.add_argument("--only", default="", help="measure only pages whose name contains this (and livez)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data-dir", type=Path, help="FRONTDESK_HOME (default bench/.data/<db>-<tickets>)")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    kind = "postgres" if url.startswith(("postgres://", "postgresql://", "pgsql://")) else "sqlite"
    home = (args.data_dir or BENCH_DIR / ".data" / f"{kind}-{args.tickets}").resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["FRONTDESK_HOME"] = str(home)
    os.environ.setdefault("FRONTDESK_DEBUG", "0")
    count = prepare(args)

    from django.test import Client

    agent, admin = bench_agent(AGENT_EMAIL, "agent"), bench_agent(ADMIN_EMAIL, "admin")
    clients = {"anonymous": Client(HTTP_HOST=HOST), "agent": Client(HTTP_HOST=HOST), "admin": Client(HTTP_HOST=HOST)}
    clients["agent"].force_login(agent)
    clients["admin"].force_login(admin)
    if (seeded := seeded_agent(agent)) is not None:
        clients["seeded"] = Client(HTTP_HOST=HOST)
        clients["seeded"].force_login(seeded)
    rng = random.Random(args.seed)
    busy_before = cpu_busy()
    if busy_before is not None and busy_before > BUSY_WARNING:
        print(f"warning: {busy_before:.0%} of the CPU is busy with other work", file=sys.stderr)
    meter = CpuMeter()
    found = [p for p in pages(rng, agent) if (p.name.startswith("livez") or args.only in p.name)
             and p.who in clients]
    samples = {}
    for page in found:
        samples[page.name] = warm_up(page, clients)
    rounds = max(1, min(args.rounds, args.requests))
    for round_number in range(rounds):
        share = range(round_number, args.requests, rounds)  # request numbers of this round
        for page in found:
            measure(page, clients, share, samples[page.name], meter)
        print(f"  round {round_number + 1} of {rounds} done", flush=True)
    rows = [summarize(page, samples[page.name]) for page in found]
    during = [row.others for row in rows if row.others is not None]
    load = (f"others used {busy_before:.0%} of the CPU before the run" if busy_before is not None else "")
    if during:
        load += f", {statistics.mean(during):.0%} on average during it (max {max(during):.0%} during a page)"
    header = (f"{kind}, {count:,} tickets, {args.requests} requests per page in {rounds} interleaved rounds, "
              f"in-process (Django test client), tier-1 agent unless noted, {os.cpu_count()} CPUs; {load}")
    print()
    print(format_table(rows, header))
    if busy_before is not None and busy_before > BUSY_WARNING:
        print(f"warning: the machine was busy with other work ({load}); numbers are higher and "
              "noisier than on an idle machine")
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"desk_pages-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({
        "database": kind, "tickets": count, "requests": args.requests, "rounds": rounds, "cpus": os.cpu_count(),
        "cpu_busy_before": busy_before, "loadavg": os.getloadavg(), "commit": git_commit(),
        "rows": [asdict(r) for r in rows],
    }, indent=2))
    print(f"\nJSON: {out}")
    return 0 if all(row.status == "200" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
