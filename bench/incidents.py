"""Incident reach: time to distribute one update and one gesture to N affected customers,
through the task queue and real ``frontdesk worker`` processes, against a same-run baseline.

    .venv/bin/python bench/incidents.py                          # 10,000 customers, SQLite
    .venv/bin/python bench/incidents.py --customers 2000 --workers 2
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/frontdesk_bench_incidents .venv/bin/python bench/incidents.py

Each run creates a fresh incident with N new customers, each with a ticket of their own linked
to the incident (``--without-tickets``: none has one, and every update opens an outbound
conversation — a new ticket each, whose own subscriptions (SLA, follow-ups, mail) add about
six tasks per customer), and measures, with ``--workers`` workers running:

1. update: ``broadcast_post`` → fan-out → chunks → one message per customer in their ticket →
   its email delivered to the outbox. "posted" = every delivery row sent; "mailed" = every
   email of the update delivered too.
2. gesture: ``incident_gesture_approve`` (a 10 EUR voucher from a pool) → one grant per
   customer, fulfilled, and the customer told in their conversation (mailed).
3. baseline: the same N tickets each get one plain automatic message, posted one by one by
   this process (``ticket_send_automatic_message``, one transaction each, as the followups
   reminders do) and mailed by the same workers: the cost of N automatic messages without
   anything incident-specific.

The rate limit is lifted for the run (FRONTDESK_BROADCAST_PER_MINUTE); chunk size as
configured (FRONTDESK_BROADCAST_CHUNK, default 200). SQLite lives in bench/.data/incidents/.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def setup() -> None:
    os.environ.setdefault("FRONTDESK_BROADCAST_PER_MINUTE", "100000000")
    os.environ["FRONTDESK_SMTP_URL"] = ""  # mail goes to the outbox folder
    if not os.environ.get("DATABASE_URL"):
        os.environ.setdefault("FRONTDESK_HOME", str(BENCH_DIR / ".data" / "incidents"))
    else:
        os.environ.setdefault("FRONTDESK_HOME", str(BENCH_DIR / ".data" / "incidents-pg"))
    Path(os.environ["FRONTDESK_HOME"]).mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(BENCH_DIR))
    import seed

    seed.setup_django()
    seed.migrate()


def prepare(customers: int, run: str, *, with_tickets: bool):
    """A new incident, ``customers`` new customers affected (bulk inserts; with a ticket each
    unless told otherwise), a voucher pool."""
    from django.db import transaction
    from django.utils import timezone

    from frontdesk.accounts.models import Agent
    from frontdesk.accounts.services import agent_create
    from frontdesk.customers.models import ContactKind, ContactPoint, Customer
    from frontdesk.goodwill.models import Gesture, Voucher
    from frontdesk.incidents.affected import AffectedEntry, affected_customers_add
    from frontdesk.incidents.models import IncidentTicket
    from frontdesk.incidents.services import incident_create
    from frontdesk.tickets.models import Ticket

    admin = Agent.objects.filter(email="incidents-bench@bench.frontdesk.test").first() or agent_create(
        email="incidents-bench@bench.frontdesk.test", name="Incident bench", role="admin")
    incident = incident_create(actor=admin, title=f"Bench outage {run}", severity="major")
    now = timezone.now()
    with transaction.atomic():
        Customer.objects.bulk_create([Customer(name=f"Bench {run} {i}") for i in range(customers)], batch_size=2000)
        people = list(Customer.objects.filter(name__startswith=f"Bench {run} ").order_by("pk"))
        ContactPoint.objects.bulk_create([
            ContactPoint(customer=p, kind=ContactKind.EMAIL, value=f"b{run}-{i}@bench.example", is_primary=True)
            for i, p in enumerate(people)], batch_size=2000)
        tickets = {}
        if with_tickets:
            Ticket.objects.bulk_create([
                Ticket(subject=f"Bench {run} outage", requester=p, status="open", channel="email", created_at=now,
                       updated_at=now, last_customer_message_at=now) for p in people], batch_size=2000)
            tickets = dict(Ticket.objects.filter(subject=f"Bench {run} outage").values_list("requester_id", "pk"))
            IncidentTicket.objects.bulk_create([IncidentTicket(incident=incident, ticket_id=t, linked_by=admin)
                                                for t in tickets.values()], batch_size=2000)
    for start in range(0, customers, 5000):
        affected_customers_add(incident=incident, source="api", actor=admin, entries=[
            AffectedEntry(customer_id=p.pk, ticket_id=tickets.get(p.pk)) for p in people[start:start + 5000]])
    gesture = Gesture.objects.create(name=f"Bench voucher {run}", kind="voucher", currency="EUR",
                                     value=Decimal("10"), fulfilment="voucher_pool",
                                     snippet="Your voucher {code} is worth {amount} {currency}.")
    Voucher.objects.bulk_create([Voucher(gesture=gesture, code=f"B{run}-{i}") for i in range(customers)],
                                batch_size=5000)
    return admin, incident, gesture


def start_workers(count: int) -> list[subprocess.Popen]:
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    command = [sys.executable, "-m", "frontdesk.cli", "worker", "--interval", "0.05"]
    return [subprocess.Popen(command, **quiet) for _ in range(count)]


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until(condition, *, timeout: float) -> float:
    """Seconds until ``condition()`` holds (polled every 0.5 s), or raise."""
    from django.db import close_old_connections

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        close_old_connections()
        if condition():
            return time.monotonic() - started
        time.sleep(0.5)
    raise TimeoutError(f"not done after {timeout:.0f} s")


def mailed(ticket_filter: dict, expected: int) -> bool:
    from frontdesk.mail.models import OutboundMessage, OutboundStatus

    rows = OutboundMessage.objects.filter(**ticket_filter)
    return rows.filter(status=OutboundStatus.SENT).count() >= expected


def measure(args) -> list[tuple[str, int, float, float]]:
    from frontdesk.incidents.broadcasts import broadcast_post
    from frontdesk.incidents.distribution import incident_gesture_approve, incident_gesture_attach
    from frontdesk.incidents.models import AffectedCustomer, BroadcastDelivery, DeliveryStatus, GestureDelivery
    from frontdesk.tickets.models import Ticket
    from frontdesk.tickets.services import ticket_send_automatic_message

    run = str(int(time.time()))
    n = args.customers
    print(f"preparing {n:,} affected customers (run {run})", flush=True)
    admin, incident, gesture = prepare(n, run, with_tickets=not args.without_tickets)
    workers = start_workers(args.workers)
    rows = []
    try:
        time.sleep(args.warmup)
        started = time.monotonic()
        broadcast = broadcast_post(incident=incident, actor=admin, body="Hello {name}, we are on it.")
        posted = wait_until(lambda: BroadcastDelivery.objects.filter(
            broadcast=broadcast, status=DeliveryStatus.SENT).count() >= n, timeout=args.timeout)
        wait_until(lambda: mailed({"ticket__incident_links__incident": incident}, n), timeout=args.timeout)
        rows.append(("update", n, posted, time.monotonic() - started))
        print(f"  update: posted {posted:.1f} s, mailed {rows[-1][3]:.1f} s", flush=True)

        started = time.monotonic()
        incident_gesture_attach(incident=incident, actor=admin, gesture=gesture, value="10", currency="EUR")
        incident_gesture_approve(incident=incident, actor=admin)
        posted = wait_until(lambda: GestureDelivery.objects.filter(
            incident_gesture__incident=incident, status=DeliveryStatus.SENT).count() >= n, timeout=args.timeout)
        wait_until(lambda: mailed({"ticket__incident_links__incident": incident}, 2 * n), timeout=args.timeout)
        rows.append(("gesture", n, posted, time.monotonic() - started))
        print(f"  gesture: granted {posted:.1f} s, mailed {rows[-1][3]:.1f} s", flush=True)

        tickets = list(Ticket.objects.filter(pk__in=AffectedCustomer.objects.filter(incident=incident)
                                             .values("ticket_id")))
        started = time.monotonic()
        for ticket in tickets:
            ticket_send_automatic_message(ticket=ticket, body="A plain automatic message.", purpose="bench")
        posted = time.monotonic() - started
        done = wait_until(lambda: mailed({"ticket__incident_links__incident": incident, "ticket_message__automatic":
                                          "bench"}, len(tickets)), timeout=args.timeout)
        rows.append(("baseline", len(tickets), posted, posted + done))
        print(f"  baseline: posted {posted:.1f} s, mailed {rows[-1][3]:.1f} s", flush=True)
    finally:
        stop(workers)
    return rows


def _exit_on_sigterm(signum, frame):
    raise SystemExit(1)  # runs ``measure``'s finally: the workers are stopped, not orphaned


def main() -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--without-tickets", action="store_true", help="no customer has a ticket yet")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds for the workers to start")
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args()
    setup()
    from django.conf import settings
    from django.db import connection

    rows = measure(args)
    base = rows[-1][3] / rows[-1][1]
    print(f"\nIncident reach ({connection.vendor}, {args.workers} workers, chunk {settings.FRONTDESK_BROADCAST_CHUNK}, "
          f"rate limit lifted, {'no customer has' if args.without_tickets else 'every customer has'} a ticket)")
    print(f"{'phase':<9} {'customers':>9} {'posted s':>9} {'mailed s':>9} {'per customer ms':>16} {'× baseline':>10}")
    for name, count, posted, total in rows:
        per = total / count
        print(f"{name:<9} {count:>9,} {posted:>9.1f} {total:>9.1f} {per * 1000:>16.2f} {per / base:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
