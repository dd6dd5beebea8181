"""API latency and throughput under load, against a seeded database, with a hello-world baseline.

    .venv/bin/python bench/api_latency.py [--tickets 100000] [--duration 10] [--concurrency 4]
                                          [--workers 2] [--threads 1]

Seeds ``bench/.data/<db>-<tickets>`` once (seed.py), starts ``frontdesk web`` (gunicorn) on a
free port, and drives each endpoint in turn from several client processes, each sending
sequential requests over its own ``http.client`` connection: processes, not threads, so the
load generator is not throttled by its own GIL. ``/livez`` runs first in the same run: every
other endpoint is read against it (``vs livez``), which cancels out most of what the machine
and the server configuration cost and leaves what Frontdesk itself costs.

DATABASE_URL=postgres://postgres@127.0.0.1:5432/frontdesk_bench runs the same against
PostgreSQL (the database is created if missing). Prints a table; writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
HOST = "127.0.0.1"
ADMIN_EMAIL = "bench-admin@bench.frontdesk.test"
TOKEN_NAME = "bench api_latency"
SAMPLE_SIZE = 1000  # references and cursors to spread requests over
BUSY_WARNING = 0.15  # CPU share used by others before the run that makes us warn


# ---- what to measure -------------------------------------------------------------------

@dataclass
class Endpoint:
    name: str
    paths: list[str]  # requests cycle through these (one path for fixed endpoints)
    token: str = ""


@dataclass
class Fixture:
    """What the load needs from the database, gathered in-process before the server starts."""

    tickets: int
    admin_token: str
    agent_token: str
    references: list[str]
    deep_cursors: list[str]
    queries: dict[str, list[int]] = field(default_factory=dict)  # [min, max] SQL per request


def endpoints(fixture: Fixture) -> list[Endpoint]:
    admin, agent = fixture.admin_token, fixture.agent_token
    return [
        Endpoint("livez (hello world)", ["/livez"]),
        Endpoint("tickets list", ["/api/v1/tickets?limit=25"], admin),
        Endpoint("tickets list status=open", ["/api/v1/tickets?limit=25&status=open"], admin),
        Endpoint("ticket get (messages+timeline)",
                 [f"/api/v1/tickets/{r}" for r in fixture.references], admin),
        Endpoint("tickets deep page (cursor)",
                 [f"/api/v1/tickets?limit=25&cursor={c}" for c in fixture.deep_cursors], admin),
        # A tier-1 agent sees their groups, their tickets and the unrouted queue: the
        # visibility filter is an OR across columns, a classic way to lose an index.
        Endpoint("tickets list (L1 agent)", ["/api/v1/tickets?limit=25"], agent),
    ]


# ---- preparing the database (in-process Django) ----------------------------------------

def prepare(args) -> Fixture:
    """Migrate, seed if empty, create the bench agents and tokens, sample what to request."""
    sys.path.insert(0, str(BENCH_DIR))
    import seed

    count = seed.ready_database(tickets=args.tickets, seed_value=args.seed)
    from django.db import connections

    fixture = Fixture(
        tickets=count, admin_token=bench_token(ADMIN_EMAIL, role="admin"),
        agent_token=bench_token("sam@bench.frontdesk.test", role="agent"),
        references=sample_references(random.Random(args.seed), SAMPLE_SIZE),
        deep_cursors=deep_cursors(random.Random(args.seed + 1), SAMPLE_SIZE),
    )
    fixture.queries = count_queries(fixture)
    connections.close_all()  # the server and the clients get their own connections
    return fixture


def bench_token(email: str, *, role: str) -> str:
    from frontdesk.accounts.models import Agent
    from frontdesk.accounts.services import agent_create, token_create

    agent = Agent.objects.filter(email=email).first() or agent_create(
        email=email, name=f"Bench {role}", role=role, group_names=["Support L1"]
    )
    return token_create(agent=agent, name=TOKEN_NAME)


def revoke_bench_tokens() -> None:
    from frontdesk.accounts.models import ApiToken
    from frontdesk.accounts.services import token_revoke

    for token in ApiToken.objects.filter(name=TOKEN_NAME, revoked_at__isnull=True):
        token_revoke(token=token)


def random_tickets(rng: random.Random, size: int):
    """About ``size`` tickets spread evenly over the whole table (ids are dense)."""
    from django.db.models import Max, Min

    from frontdesk.tickets.models import Ticket

    bounds = Ticket.objects.aggregate(low=Min("id"), high=Max("id"))
    ids = {rng.randint(bounds["low"], bounds["high"]) for _ in range(size)}
    return Ticket.objects.filter(id__in=ids).order_by("id")


def sample_references(rng: random.Random, size: int) -> list[str]:
    references = [t.reference for t in random_tickets(rng, size).only("reference")]
    rng.shuffle(references)
    return references


def deep_cursors(rng: random.Random, size: int) -> list[str]:
    """Cursors pointing anywhere in the default order (-updated_at): the next_cursor a
    client holds after paging that far down, made by the server's own encoder."""
    from frontdesk.tickets.selectors import encode_cursor

    cursors = [encode_cursor(t, "-updated_at") for t in random_tickets(rng, size).only("updated_at")]
    rng.shuffle(cursors)
    return cursors


def count_queries(fixture: Fixture, samples: int = 10) -> dict[str, list[int]]:
    """SQL queries per request (the N+1 check), in-process, over a few of each endpoint's
    paths: a ticket with more messages must not cost more queries."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client, counts = Client(), {}
    for endpoint in endpoints(fixture):
        headers = {"HTTP_HOST": HOST}
        if endpoint.token:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {endpoint.token}"
        client.get(endpoint.paths[0], **headers)  # first use writes last_used_at; not counted
        found = set()
        for path in endpoint.paths[:samples]:
            with CaptureQueriesContext(connection) as captured:
                response = client.get(path, **headers)
            if response.status_code != 200:
                raise RuntimeError(f"{endpoint.name}: {path} answered "
                                   f"{response.status_code}: {response.content[:300]!r}")
            found.add(len(captured))
        counts[endpoint.name] = [min(found), max(found)]
    return counts


# ---- the server ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(args, home: Path, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "frontdesk.cli", "web", "--http", f"{HOST}:{port}",
               "--workers", str(args.workers), "--threads", str(args.threads)]
    # Debug mode keeps every SQL query in memory: never what production runs.
    env = {**os.environ, "FRONTDESK_HOME": str(home), "FRONTDESK_DEBUG": "0"}
    log = (home / "server.log").open("wb")
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_until_live(server: subprocess.Popen, port: int, home: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}:\n{log_tail(home)}")
        connection = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            connection.request("GET", "/livez")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer /livez within {timeout:.0f} s:\n{log_tail(home)}")


def stop_server(server: subprocess.Popen) -> None:
    """SIGTERM (gunicorn finishes requests in flight), then wait; kill only if it hangs."""
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def log_tail(home: Path, lines: int = 30, name: str = "server.log") -> str:
    path = home / name
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


# ---- the load (runs in client processes: keep this part free of Django) ----------------

@dataclass
class ClientJob:
    port: int
    paths: list[str]
    token: str
    start_at: float  # wall clock, shared by all processes
    duration: float
    max_requests: int
    offset: int  # where in ``paths`` this client starts, so clients ask for different things


@dataclass
class ClientResult:
    latencies: list[float]
    errors: int
    error_samples: list[str]
    finished_at: float
    cpu_seconds: float


def timed_request(connection: http.client.HTTPConnection, method: str, path: str, *, headers: dict,
                  body: bytes | None = None, ok=(200,)) -> tuple[float, str | None]:
    """One request on ``connection``: (seconds until the body was read, the problem or None).
    The connection reconnects by itself when the server closed it (gunicorn's sync workers
    close after every response; gthread workers keep it alive)."""
    started = time.perf_counter()
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read()
        problem = None if response.status in ok else f"{response.status} {content[:200]!r}"
    except (OSError, http.client.HTTPException) as exc:
        connection.close()
        problem = f"{type(exc).__name__}: {exc}"
    return time.perf_counter() - started, problem


@dataclass
class ClientTally:
    """What one client process saw: latencies of the answers, errors and a few of them."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    samples: list[str] = field(default_factory=list)
    cpu_start: float = field(default_factory=time.process_time)

    def add(self, elapsed: float, problem: str | None, label: str) -> None:
        if problem is None:
            self.latencies.append(elapsed)
            return
        self.errors += 1
        if len(self.samples) < 3:
            self.samples.append(f"{label}: {problem}")

    def result(self) -> ClientResult:
        return ClientResult(self.latencies, self.errors, self.samples, time.time(),
                            time.process_time() - self.cpu_start)


def run_client(job: ClientJob) -> ClientResult:
    """Sequential GETs over one connection until the deadline or the request budget."""
    headers = {"Authorization": f"Bearer {job.token}"} if job.token else {}
    connection = http.client.HTTPConnection(HOST, job.port, timeout=30)
    tally = ClientTally()
    time.sleep(max(0.0, job.start_at - time.time()))
    deadline, index = job.start_at + job.duration, job.offset
    while time.time() < deadline and len(tally.latencies) + tally.errors < job.max_requests:
        path = job.paths[index % len(job.paths)]
        index += 1
        tally.add(*timed_request(connection, "GET", path, headers=headers), path)
    connection.close()
    return tally.result()


@dataclass
class Measurement:
    endpoint: str
    requests: int
    errors: int
    seconds: float
    throughput: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    client_cpu_share: float  # of the whole machine, so the reader sees what the load cost
    throughput_by_round: list[float] = field(default_factory=list)
    queries: list[int] | None = None  # [min, max] over sampled paths
    vs_livez: float | None = None
    error_samples: list[str] = field(default_factory=list)


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list, in milliseconds."""
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))
    return ordered[rank] * 1000


def drive(pool, endpoint: Endpoint, *, port: int, duration: float, concurrency: int,
          max_requests: int) -> tuple[list[ClientResult], float]:
    """One timed burst against one endpoint: the clients' results and the wall time."""
    start_at = time.time() + 0.3  # time for every process to be waiting at the line
    jobs = [
        ClientJob(port=port, paths=endpoint.paths, token=endpoint.token, start_at=start_at,
                  duration=duration, max_requests=max(1, max_requests // concurrency),
                  offset=i * len(endpoint.paths) // concurrency)
        for i in range(concurrency)
    ]
    results = pool.map(run_client, jobs)
    return results, max(r.finished_at for r in results) - start_at


def summarize(name: str, bursts: list[tuple[list[ClientResult], float]]) -> Measurement:
    """Pool every round of one endpoint into one row."""
    results = [r for burst, _ in bursts for r in burst]
    seconds = sum(wall for _, wall in bursts)
    latencies = sorted(x for r in results for x in r.latencies)
    return Measurement(
        endpoint=name, requests=len(latencies), errors=sum(r.errors for r in results),
        seconds=round(seconds, 3), throughput=len(latencies) / seconds,
        p50_ms=percentile(latencies, 0.50), p90_ms=percentile(latencies, 0.90),
        p99_ms=percentile(latencies, 0.99), max_ms=percentile(latencies, 1.0),
        client_cpu_share=sum(r.cpu_seconds for r in results) / seconds / (os.cpu_count() or 1),
        throughput_by_round=[
            round(sum(len(r.latencies) for r in burst) / wall, 1) for burst, wall in bursts
        ],
        error_samples=[s for r in results for s in r.error_samples][:5],
    )


def measure_all(args, fixture: Fixture, port: int) -> list[Measurement]:
    wanted = [e for e in endpoints(fixture) if not args.only or any(o in e.name for o in args.only)]
    if not wanted or not wanted[0].name.startswith("livez"):
        wanted.insert(0, endpoints(fixture)[0])  # the baseline always runs first
    bursts: dict[str, list] = {e.name: [] for e in wanted}
    options = {"port": port, "concurrency": args.concurrency, "max_requests": args.max_requests}
    # spawn, not fork: the clients must not inherit this process's database connections.
    with multiprocessing.get_context("spawn").Pool(args.concurrency) as pool:
        # Rounds interleave the endpoints, so a burst of outside load (another process on
        # the machine) is shared out instead of landing on one endpoint or the baseline.
        for round_number in range(args.rounds):
            for endpoint in wanted:
                if round_number == 0 and args.warmup > 0:  # caches, lazy imports per worker
                    drive(pool, endpoint, duration=args.warmup, **options)
                burst = drive(pool, endpoint, duration=args.duration, **options)
                bursts[endpoint.name].append(burst)
                done = sum(len(r.latencies) for r in burst[0])
                print(f"  round {round_number + 1}/{args.rounds} {endpoint.name}: "
                      f"{done / burst[1]:,.0f} req/s", flush=True)
    measurements = [summarize(name, runs) for name, runs in bursts.items()]
    baseline = measurements[0].throughput
    for m in measurements:
        m.queries = fixture.queries.get(m.endpoint)
        m.vs_livez = m.throughput / baseline if baseline else None
    return measurements


def cpu_busy(seconds: float = 1.0) -> float | None:
    """Share of the machine's CPU in use over ``seconds`` (Linux), before we add any load.
    Other work on a 2-core machine moves every number; the table says so when it happens."""
    def sample():
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        return values[3] + values[4], sum(values)  # idle + iowait, total

    try:
        idle1, total1 = sample()
        time.sleep(seconds)
        idle2, total2 = sample()
    except OSError:
        return None
    return 1 - (idle2 - idle1) / max(1, total2 - total1)


# ---- reporting -------------------------------------------------------------------------

def db_kind(url: str) -> str:
    scheme = urlsplit(url).scheme
    return "postgres" if scheme in {"postgres", "postgresql", "pgsql"} else "sqlite"


def describe_run(args, fixture: Fixture) -> dict:
    import django

    from frontdesk.settings import DATABASES

    database = DATABASES["default"]
    return {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "database": db_kind(os.environ.get("DATABASE_URL", "")),
        "database_name": str(database["NAME"]),
        "tickets": fixture.tickets,
        "server": f"gunicorn, {args.workers} workers x {args.threads} threads",
        "workers": args.workers, "threads": args.threads,
        "client_processes": args.concurrency, "duration_s": args.duration,
        "warmup_s": args.warmup, "rounds": args.rounds, "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "django": django.get_version(), "machine": platform.platform(),
        "git_commit": git_commit(),
    }


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BENCH_DIR,
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip()
    except OSError:
        return ""


def format_table(run: dict, measurements: list[Measurement]) -> str:
    head = (f"Frontdesk API latency: {run['database']}, {run['tickets']:,} tickets, "
            f"{run['server']}, {run['client_processes']} client processes, "
            f"{run['rounds']} x {run['duration_s']:g} s per endpoint, {run['cpus']} CPUs")
    columns = f"{'endpoint':<32}{'requests':>9}{'errors':>7}{'req/s':>8}{'p50 ms':>8}" \
              f"{'p90 ms':>8}{'p99 ms':>8}{'queries':>8}{'vs livez':>9}{'client CPU':>11}"
    lines = [head, "", columns, "-" * len(columns)]
    for m in measurements:
        lines.append(
            f"{m.endpoint:<32}{m.requests:>9,}{m.errors:>7}{m.throughput:>8,.0f}{m.p50_ms:>8.1f}"
            f"{m.p90_ms:>8.1f}{m.p99_ms:>8.1f}{query_range(m.queries):>8}"
            f"{m.vs_livez:>8.2f}x{m.client_cpu_share:>10.0%}"
        )
    busy = run.get("cpu_busy_before")
    if busy is not None and busy > BUSY_WARNING:
        lines.append(f"warning: {busy:.0%} of the CPU was busy with other work before the run; "
                     "numbers are lower and noisier than on an idle machine")
    for m in measurements:
        for sample in m.error_samples:
            lines.append(f"  error ({m.endpoint}): {sample}")
    return "\n".join(lines)


def query_range(queries: list[int] | None) -> str:
    if not queries:
        return ""
    low, high = queries
    return str(low) if low == high else f"{low}-{high}"


def write_json(run: dict, measurements: list[Measurement]) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"api_latency-{time.strftime('%Y%m%d-%H%M%S')}.json"
    payload = {"run": run, "results": [asdict(m) for m in measurements]}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


# ---- the command -----------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="dataset size (default 100000)")
    parser.add_argument("--duration", type=float, default=10, help="seconds per endpoint (default 10)")
    parser.add_argument("--warmup", type=float, default=2,
                        help="unmeasured seconds before each endpoint (default 2)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="interleaved passes over all endpoints, pooled (default 1)")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="client processes, each one request at a time (default 4)")
    parser.add_argument("--max-requests", type=int, default=200_000,
                        help="request budget per endpoint across all clients (default 200000)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (default 1)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="FRONTDESK_HOME for the run (default bench/.data/<db>-<tickets>)")
    parser.add_argument("--only", action="append", metavar="TEXT",
                        help="only endpoints whose name contains TEXT (repeatable; livez always runs)")
    parser.add_argument("--seed", type=int, default=42, help="random seed for data and sampling")
    return parser


def raise_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so the ``finally`` that stops the server runs."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    kind = db_kind(os.environ.get("DATABASE_URL", ""))
    home = (args.data_dir or BENCH_DIR / ".data" / f"{kind}-{args.tickets}").resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["FRONTDESK_HOME"] = str(home)
    raise_on_sigterm()
    fixture = prepare(args)
    run = describe_run(args, fixture)
    run["cpu_busy_before"] = cpu_busy()
    if run["cpu_busy_before"] and run["cpu_busy_before"] > BUSY_WARNING:
        print(f"warning: {run['cpu_busy_before']:.0%} of the CPU is busy with other work",
              file=sys.stderr)
    port = free_port()
    print(f"starting frontdesk web on {HOST}:{port} ({run['server']}); data in {home}", flush=True)
    server = start_server(args, home, port)
    try:
        wait_until_live(server, port, home)
        measurements = measure_all(args, fixture, port)
    finally:
        stop_server(server)
        revoke_bench_tokens()
    print()
    print(format_table(run, measurements))
    print(f"\nJSON: {write_json(run, measurements)}")
    return 1 if any(m.errors for m in measurements) else 0


if __name__ == "__main__":
    sys.exit(main())
