"""SLA scheduler lag: how long after a timer's warning instant the warning is recorded, with
many open tickets carrying timers, measured through the real ``frontdesk scheduler`` and
``frontdesk worker`` processes; and the plans of the due query and of the inbox's "next SLA
due" order (an index range, never a scan of all tickets or timers).

    .venv/bin/python bench/sla_scheduler.py                      # 1k baseline, then 100k, SQLite
    .venv/bin/python bench/sla_scheduler.py --sizes 1000,100000 --due 1000 --window 10 --workers 2
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/frontdesk_bench_sla .venv/bin/python bench/sla_scheduler.py

For each size (ascending; the database grows, seeded once with bulk inserts: open tickets
with a first-response and a resolution timer each, due days ahead): ``--due`` random timers
get warning instants spread over ``--window`` seconds from now; a scheduler (ticking every
``--interval`` s) and a worker run until every one is warned. Lag = ``warned_at`` (written by
the task) − the warning instant: claim wait + queue wait + the evaluation. Target p99 < 1 s.
SQLite lives in bench/.data/sla/ unless FRONTDESK_HOME or DATABASE_URL say otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
SUBJECT = "sla-bench"
TARGET_P99_S = 1.0


def setup(args) -> None:
    if not os.environ.get("DATABASE_URL"):
        os.environ.setdefault("FRONTDESK_HOME", str(BENCH_DIR / ".data" / "sla"))
        Path(os.environ["FRONTDESK_HOME"]).mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(BENCH_DIR))
    import seed

    seed.setup_django()
    seed.migrate()


def bench_policy():
    from frontdesk.accounts.models import Agent
    from frontdesk.accounts.services import agent_create, group_get_or_create
    from frontdesk.calendars.selectors import calendar_default
    from frontdesk.sla.models import SlaPolicy
    from frontdesk.sla.policy_services import sla_policy_create

    policy = SlaPolicy.objects.filter(name="Bench").first()
    if policy:
        return policy, group_get_or_create(name="Bench")
    admin = Agent.objects.filter(email="sla-bench@bench.frontdesk.test").first() or agent_create(
        email="sla-bench@bench.frontdesk.test", name="SLA bench", role="admin")
    policy = sla_policy_create(actor=admin, name="Bench", position=999, calendar_id=calendar_default().pk,
                               conditions={"tags": ["sla-bench"]},
                               targets={"first_response": {"normal": 240}, "resolution": {"normal": 1440}})
    return policy, group_get_or_create(name="Bench")


def grow(size: int, *, batch: int = 5000) -> int:
    """Bulk-insert open tickets with two running timers each until ``size`` bench tickets exist."""
    from django.db import transaction
    from django.utils import timezone

    from frontdesk.customers.models import Customer
    from frontdesk.sla.models import SlaTimer, TicketSla
    from frontdesk.tickets.models import Ticket

    policy, group = bench_policy()
    have = Ticket.objects.filter(subject=SUBJECT).count()
    if have >= size:
        return have
    customers = list(Customer.objects.filter(name__startswith="SLA bench ")[:200])
    if not customers:
        customers = Customer.objects.bulk_create([Customer(name=f"SLA bench {i}") for i in range(200)])
        customers = list(Customer.objects.filter(name__startswith="SLA bench ")[:200])
    rng = random.Random(size)
    now = timezone.now()
    started = time.monotonic()
    while have < size:
        count = min(batch, size - have)
        with transaction.atomic():
            rows = []
            for _ in range(count):
                due = now + timedelta(minutes=rng.randint(60 * 24, 60 * 24 * 30))  # never due in a run
                rows.append(Ticket(subject=SUBJECT, requester=rng.choice(customers), status=rng.choice(["new", "open"]),
                                   group=group, created_at=now - timedelta(hours=1), updated_at=now,
                                   last_customer_message_at=now, sla_due_at=due))
            tickets = Ticket.objects.bulk_create(rows)
            if tickets[0].pk is None:  # backends that do not return ids: read them back
                tickets = list(Ticket.objects.filter(subject=SUBJECT).order_by("-pk")[:count])
            TicketSla.objects.bulk_create([TicketSla(ticket=t, policy=policy, status=t.status) for t in tickets])
            timers = []
            for ticket in tickets:
                for metric, target in (("first_response", 240), ("resolution", 1440)):
                    due = ticket.sla_due_at if metric == "first_response" else ticket.sla_due_at + timedelta(days=2)
                    warn = due - timedelta(minutes=target // 4)
                    timers.append(SlaTimer(
                        ticket=ticket, metric=metric, policy=policy, policy_name=policy.name,
                        calendar_id=policy.calendar_id, priority="normal", target_minutes=target,
                        warn_minutes=target * 3 // 4, started_at=now - timedelta(hours=1),
                        resumed_at=now - timedelta(hours=1), due_at=due, warn_at=warn, next_check_at=warn))
            SlaTimer.objects.bulk_create(timers)
        have += count
        print(f"  seeded {have:,}/{size:,} tickets ({time.monotonic() - started:.0f} s)", flush=True)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return have


def plans() -> dict[str, str]:
    from django.utils import timezone

    from frontdesk.sla.models import SlaTimer
    from frontdesk.tickets.models import Ticket

    due = (SlaTimer.objects.filter(next_check_at__lte=timezone.now()).order_by("next_check_at")
           .values_list("pk", "next_check_at")[:500])
    inbox = (Ticket.objects.filter(sla_due_at__isnull=False, status__in=["new", "open", "pending", "on_hold"])
             .order_by("sla_due_at", "pk").values_list("pk", flat=True)[:26])
    return {"due query (clock_tick)": due.explain(), "inbox 'next SLA due' page": inbox.explain()}


def arm(due: int, window: float) -> tuple[list[int], float]:
    """Give ``due`` random running first-response timers warning instants spread over
    ``window`` seconds starting 2 s from now."""
    from django.db import transaction
    from django.utils import timezone

    from frontdesk.sla.models import SlaTimer

    top = SlaTimer.objects.order_by("-pk").values_list("pk", flat=True).first()
    rng = random.Random()
    chosen = set()
    while len(chosen) < due:
        chosen.update(SlaTimer.objects.filter(pk__in=[rng.randint(1, top) for _ in range(due * 2)],
                                              metric="first_response", state="running",
                                              warned_at__isnull=True).values_list("pk", flat=True))
    ids = sorted(chosen)[:due]
    start = timezone.now() + timedelta(seconds=2)
    with transaction.atomic():
        for i, pk in enumerate(ids):
            at = start + timedelta(seconds=window * i / max(1, due - 1))
            SlaTimer.objects.filter(pk=pk).update(warn_at=at, next_check_at=at, due_at=at + timedelta(hours=1))
    return ids, window + 2


def run_roles(interval: float, workers: int) -> list[subprocess.Popen]:
    command = [sys.executable, "-m", "frontdesk.cli"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    return [subprocess.Popen([*command, "scheduler", "--interval", str(interval)], **quiet)] + [
        subprocess.Popen([*command, "worker", "--interval", "0.05"], **quiet) for _ in range(workers)]


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(share * len(ordered) + 0.5)) - 1))]


def measure(size: int, args) -> dict:
    from django.db import close_old_connections

    from frontdesk.sla.models import SlaTimer

    processes = run_roles(args.interval, args.workers)
    # Warm-up: a few timers due at once, waited for, so the processes have started Django and
    # run a first evaluation (imports, compiled calendar) before the measured ones come due.
    probes, _ = arm(2 * args.workers, 0.0)
    warm_deadline = time.monotonic() + args.warmup
    while time.monotonic() < warm_deadline:
        time.sleep(0.5)
        close_old_connections()
        if not SlaTimer.objects.filter(pk__in=probes, warned_at__isnull=True).exists():
            break
    time.sleep(2)
    ids, span = arm(args.due, args.window)
    deadline = time.monotonic() + span + 120
    try:
        while time.monotonic() < deadline:
            time.sleep(1)
            close_old_connections()
            if SlaTimer.objects.filter(pk__in=ids, warned_at__isnull=True).count() == 0:
                break
    finally:
        stop(processes)
    rows = list(SlaTimer.objects.filter(pk__in=ids).values_list("pk", "warn_at", "warned_at"))
    lags = [(warned - warn).total_seconds() for _, warn, warned in rows if warned]
    missing = len(rows) - len(lags)
    # Where the time goes, from the task rows: due → claimed (enqueued), → started, → finished.
    from django_tasks_db.models import DBTaskResult

    warn_at = {pk: warn for pk, warn, _ in rows}
    claim, queue, run = [], [], []
    for kwargs, enqueued, started, finished in DBTaskResult.objects.filter(
            task_path="frontdesk.sla.tasks.sla_timer_check", enqueued_at__gte=min(warn_at.values())
            - timedelta(seconds=5)).values_list("args_kwargs", "enqueued_at", "started_at", "finished_at"):
        pk = (kwargs or {}).get("kwargs", {}).get("timer_id")
        if pk in warn_at and started and finished:
            claim.append((enqueued - warn_at[pk]).total_seconds())
            queue.append((started - enqueued).total_seconds())
            run.append((finished - started).total_seconds())
    breakdown = {name: round(percentile(values, 0.5), 3) if values else None
                 for name, values in (("claim_p50_s", claim), ("queue_p50_s", queue), ("run_p50_s", run))}
    return {"tickets": size, "due": len(ids), "warned": len(lags), "missing": missing, **breakdown,
            "p50_s": round(percentile(lags, 0.5), 3) if lags else None,
            "p99_s": round(percentile(lags, 0.99), 3) if lags else None,
            "max_s": round(max(lags), 3) if lags else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000", help="open tickets with timers, ascending")
    parser.add_argument("--due", type=int, default=300, help="timers coming due per measurement")
    parser.add_argument("--window", type=float, default=10.0, help="seconds over which they come due")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--interval", type=float, default=0.5, help="scheduler tick (s)")
    parser.add_argument("--warmup", type=float, default=90.0, help="at most this long for the processes to warm up")
    args = parser.parse_args()
    setup(args)
    from django.db import connection

    results = []
    for size in sorted(int(s) for s in args.sizes.split(",")):
        print(f"== {size:,} open tickets with timers", flush=True)
        have = grow(size)  # a database seeded larger before is measured (and labelled) as it is
        results.append(measure(have, args))
        print(f"  {results[-1]}", flush=True)
    explained = plans()
    print(f"\nSLA scheduler lag ({connection.vendor}, scheduler tick {args.interval} s, {args.due} timers due "
          f"over {args.window} s, {args.workers} workers)")
    print(f"{'open tickets':>12} {'due':>5} {'warned':>6} {'p50 s':>7} {'p99 s':>7} {'max s':>7} "
          f"{'claim':>6} {'queue':>6} {'run':>6}  (p50 s; target p99 < 1 s)")
    for row in results:
        verdict = "ok" if row["p99_s"] is not None and row["p99_s"] < TARGET_P99_S and not row["missing"] else "MISSED"
        print(f"{row['tickets']:>12,} {row['due']:>5} {row['warned']:>6} {row['p50_s']!s:>7} {row['p99_s']!s:>7} "
              f"{row['max_s']!s:>7} {row['claim_p50_s']!s:>6} {row['queue_p50_s']!s:>6} {row['run_p50_s']!s:>6}  "
              f"{verdict}")
    for name, plan in explained.items():
        print(f"\n{name}:\n  " + plan.replace("\n", "\n  "))
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"sla_scheduler-{connection.vendor}.json"
    out.write_text(json.dumps({"results": results, "plans": explained, "args": vars(args)}, indent=2))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
