"""Process scaling: API throughput with 1, 2 and 4 ``frontdesk web`` processes, same load.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fd_bench_100k REDIS_URL=redis://127.0.0.1:6379/12 \\
        .venv/bin/python bench/scaling.py --tickets 100000 [--processes 1 2 4] [--concurrency 8]
                                          [--duration 8] [--rounds 2]

A scaled deployment runs several stateless web processes behind a reverse proxy, sharing
PostgreSQL and Redis. This starts N ``frontdesk web`` processes (one gunicorn worker each, on
their own ports) and drives them with the same load generator as api_latency.py: the same
number of client processes for every N, each client keeping to one server (client i → server
i mod N, a client-side round robin standing in for the proxy). Endpoints: ``/livez`` (the
hello-world baseline), the ticket list as an administrator and as a tier-1 agent (visibility
filter). Rounds alternate the order (1, 2, 4, then 4, 2, 1 …) so drifting outside load is
shared out; figures are pooled. Prints requests/s per N with the ratio to N = 1 measured in
the same run, and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import api_latency as load  # noqa: E402 — after the path is set


def start_servers(count: int, home: Path) -> tuple[list, list[int]]:
    servers, ports = [], []
    args = argparse.Namespace(workers=1, threads=1)
    for n in range(count):
        port = load.free_port()
        (home / f"web-{n}").mkdir(exist_ok=True)
        servers.append(load.start_server(args, home, port))
        ports.append(port)
    for server, port in zip(servers, ports, strict=True):
        load.wait_until_live(server, port, home, timeout=120)
    return servers, ports


def drive(pool, endpoint, ports: list[int], *, duration: float, concurrency: int):
    start_at = time.time() + 0.3
    jobs = [
        load.ClientJob(port=ports[i % len(ports)], paths=endpoint.paths, token=endpoint.token, start_at=start_at,
                       duration=duration, max_requests=10**9, offset=i * len(endpoint.paths) // concurrency)
        for i in range(concurrency)
    ]
    results = pool.map(load.run_client, jobs)
    return results, max(r.finished_at for r in results) - start_at


def measure(args, fixture, home: Path) -> dict[tuple[str, int], list]:
    wanted = [e for e in load.endpoints(fixture)
              if e.name in ("livez (hello world)", "tickets list", "tickets list (L1 agent)")]
    bursts: dict[tuple[str, int], list] = {}
    with multiprocessing.get_context("spawn").Pool(args.concurrency) as pool:
        for round_number in range(args.rounds):
            order = args.processes if round_number % 2 == 0 else list(reversed(args.processes))
            for count in order:
                servers, ports = start_servers(count, home)
                try:
                    for endpoint in wanted:
                        drive(pool, endpoint, ports, duration=args.warmup, concurrency=args.concurrency)
                        burst = drive(pool, endpoint, ports, duration=args.duration, concurrency=args.concurrency)
                        bursts.setdefault((endpoint.name, count), []).append(burst)
                        done = sum(len(r.latencies) for r in burst[0])
                        print(f"  round {round_number + 1}/{args.rounds}, {count} web process(es), "
                              f"{endpoint.name}: {done / burst[1]:,.0f} req/s", flush=True)
                finally:
                    for server in servers:
                        load.stop_server(server)
    return bursts


def table(run: dict, rows: dict[tuple[str, int], load.Measurement], processes: list[int]) -> str:
    lines = [
        f"web process scaling on {run['database']} ({run['tickets']:,} tickets), cache "
        f"{run['cache']}, {run['concurrency']} client processes, {run['cpus']} CPUs, "
        f"{run['rounds']} rounds x {run['duration']:.0f} s",
        f"{'endpoint':28} {'web procs':>9} {'req/s':>8} {'vs 1 proc':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}",
    ]
    lines.append("-" * len(lines[1]))
    for name in dict.fromkeys(name for name, _ in rows):
        one = rows[(name, processes[0])].throughput
        for count in processes:
            m = rows[(name, count)]
            lines.append(f"{name:28} {count:9d} {m.throughput:8.1f} {m.throughput / one:8.2f}x "
                         f"{m.p50_ms:8.1f} {m.p99_ms:8.1f} {m.errors:6d}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--concurrency", type=int, default=8, help="client processes (default 8)")
    parser.add_argument("--duration", type=float, default=8, help="seconds per measurement (default 8)")
    parser.add_argument("--warmup", type=float, default=1.5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    kind = load.db_kind(os.environ.get("DATABASE_URL", ""))
    if kind != "postgres":
        print("warning: several web processes are the scaled mode; run it with DATABASE_URL=postgres://…",
              file=sys.stderr)
    home = (BENCH_DIR / ".data" / f"{kind}-{args.tickets}").resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["FRONTDESK_HOME"] = str(home)
    load.raise_on_sigterm()
    fixture = load.prepare(argparse.Namespace(tickets=args.tickets, seed=args.seed))
    run = {"database": kind, "tickets": fixture.tickets, "concurrency": args.concurrency,
           "cpus": os.cpu_count(), "rounds": args.rounds, "duration": args.duration,
           "cache": "redis" if os.environ.get("REDIS_URL") else "files (no REDIS_URL)",
           "cpu_busy_before": load.cpu_busy(), "commit": load.git_commit(),
           "load_average_before": os.getloadavg()[0]}
    try:
        bursts = measure(args, fixture, home)
    finally:
        load.revoke_bench_tokens()
    rows = {key: load.summarize(key[0], runs) for key, runs in bursts.items()}
    print()
    print(table(run, rows, args.processes))
    load.RESULTS_DIR.mkdir(exist_ok=True)
    out = load.RESULTS_DIR / f"scaling-{kind}-{fixture.tickets}.json"
    out.write_text(json.dumps({"run": run, "rows": [
        {"endpoint": name, "processes": count, "throughput": m.throughput, "p50_ms": m.p50_ms,
         "p99_ms": m.p99_ms, "errors": m.errors} for (name, count), m in rows.items()]}, indent=2))
    print(f"\nJSON: {out}")
    return 1 if any(m.errors for m in rows.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
