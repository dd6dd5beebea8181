"""Seed a Frontdesk database with a realistic helpdesk history, at benchmark scale.

    .venv/bin/python bench/seed.py --tickets 100000 [--messages-per-ticket 3] [--customers N]
                                   [--batch 5000] [--seed 42] [--append] [--no-analyze]

Uses FRONTDESK_HOME and DATABASE_URL exactly like ``frontdesk`` (a missing PostgreSQL
database named by DATABASE_URL is created), migrates, then writes groups, agents,
organizations, customers, and tickets with their messages, timeline events and tags.
A database that already holds tickets is left alone (exit status 3) unless ``--append``:
benchmarks reuse a seeded database instead of paying for the seed every run.
Text, people and shapes follow ``--seed``; ticket references are random by design
(``new_reference``) and times are relative to now.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

BENCH_DIR = Path(__file__).resolve().parent
ALREADY_SEEDED = 3  # exit status: tickets exist and --append was not given


def postgres_params(url: str) -> tuple[str, dict] | None:
    """(database name, psycopg connection keywords) from a postgres:// DATABASE_URL, else None."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        return None
    name = unquote(parts.path.lstrip("/")) or "frontdesk"
    return name, {
        "host": parts.hostname or None, "port": parts.port or None,
        "user": unquote(parts.username or "") or None,
        "password": unquote(parts.password or "") or None,
    }


def ensure_postgres_database(url: str) -> bool:
    """Create the PostgreSQL database DATABASE_URL names, if it is missing. True if created."""
    if (postgres := postgres_params(url)) is None:
        return False
    import psycopg
    from psycopg import sql

    name, params = postgres
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    print(f"created PostgreSQL database {name}", file=sys.stderr)
    return True


def setup_django() -> None:
    """Configure Django from the environment and make bench/ modules importable."""
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    ensure_postgres_database(os.environ.get("DATABASE_URL", ""))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontdesk.settings")
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


class AlreadySeeded(Exception):
    def __init__(self, tickets: int):
        super().__init__(f"the database already holds {tickets:,} tickets")
        self.tickets = tickets


@dataclass
class SeedReport:
    tickets: int = 0
    messages: int = 0
    events: int = 0
    tag_links: int = 0
    customers: int = 0
    load_seconds: float = 0.0
    index_seconds: float = 0.0
    index_started: float = 0.0
    analyze_seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.tickets + self.messages + self.events + self.tag_links

    def summary(self) -> str:
        rate = self.rows / self.load_seconds if self.load_seconds else 0
        return (
            f"seeded {self.tickets:,} tickets, {self.messages:,} messages, {self.events:,} events, "
            f"{self.tag_links:,} tag links ({self.customers:,} new customers) in "
            f"{self.load_seconds:.1f} s: {self.tickets / max(self.load_seconds, 1e-9):,.0f} "
            f"tickets/s, {rate:,.0f} rows/s; search index {self.index_seconds:.1f} s (bulk); "
            f"analyze {self.analyze_seconds:.1f} s"
        )


def seed(*, tickets: int, messages_per_ticket: int = 3, customers: int | None = None,
         batch: int = 5000, seed: int = 42, append: bool = False, analyze: bool = True,
         progress: bool = True) -> SeedReport:
    """Add ``tickets`` tickets (and the people they need). Call after setup_django().
    Nothing else may write to the database meanwhile (ids are handed out here)."""
    import dataset
    from frontdesk.tickets.models import Ticket

    existing = Ticket.objects.count()
    if existing and not append:
        raise AlreadySeeded(existing)
    if customers is None:
        customers = 0 if existing else max(50, tickets // 4)
    started = time.perf_counter()
    dataset.tune_connection_for_bulk_load()
    # Appending continues with a different stream, so new tickets do not repeat old ones.
    rng = random.Random(f"{seed}:{existing}")
    now, values = dataset.now_utc(), dataset.Values()
    report = SeedReport(customers=customers)
    with indexing_after(report, progress=progress):
        if customers:
            add_customers(dataset, rng, values, count=customers, batch=batch, progress=progress,
                          since=now - dataset.WINDOW - timedelta(days=365))
        groups, weights, members = dataset.ensure_staff()
        cast = dataset.Cast(groups=groups, group_weights=weights, agents_by_group=members,
                            customers=dataset.load_customers(), tags=dataset.ensure_tags())
        factory = dataset.TicketFactory(
            rng=rng, cast=cast, total=tickets, messages_per_ticket=messages_per_ticket, now=now,
            values=values,
            taken_references=set(Ticket.objects.values_list("reference", flat=True)) if existing else set(),
        )
        with progress_bar(total=tickets, desc="tickets", unit="ticket", disable=not progress) as bar:
            for written in factory.write_batches(count=tickets, batch_size=batch):
                report.tickets += written["ticket"]
                report.messages += written["message"]
                report.events += written["ticketevent"]
                report.tag_links += written["ticket_tags"]
                bar.update(written["ticket"])
        factory.finish()
        report.load_seconds = time.perf_counter() - started
    if analyze:
        analyzed = time.perf_counter()
        dataset.analyze()
        report.analyze_seconds = time.perf_counter() - analyzed
    return report


@contextmanager
def indexing_after(report: SeedReport, *, progress: bool):
    """Load without the search index's triggers, then build the index with the search app's
    bulk rebuild (``frontdesk search-rebuild``), also if the load fails half-way."""
    from frontdesk.search.services import search_index_suspended, search_rebuild_steps

    bars = []  # made at the first step, so its clock starts with the index build

    def step(label: str) -> None:
        if not bars:
            report.index_started = time.perf_counter()
            bars.append(progress_bar(total=search_rebuild_steps(), desc="search index", unit="step",
                                     disable=not progress))
        bars[0].set_postfix_str(label)
        bars[0].update(1)

    try:
        with search_index_suspended(step=step):
            yield
    finally:
        for bar in bars:
            bar.close()
        if report.index_started:
            report.index_seconds = time.perf_counter() - report.index_started


def ready_database(*, tickets: int, seed_value: int) -> int:
    """For a benchmark: set Django up, migrate, seed ``tickets`` if the database is empty.
    Returns how many tickets it holds (warns when that is not the size asked for)."""
    setup_django()
    migrate()
    from frontdesk.tickets.models import Ticket

    count = Ticket.objects.count()
    if count == 0:
        print(f"seeding {tickets:,} tickets (once; later runs reuse the database)", flush=True)
        print(seed(tickets=tickets, seed=seed_value).summary(), flush=True)
        count = Ticket.objects.count()
    elif count != tickets:
        print(f"warning: the database holds {count:,} tickets, not {tickets:,}; measuring what is there "
              "(name another database to seed a different size)", file=sys.stderr)
    return count


def add_customers(dataset, rng, values, *, count: int, batch: int, progress: bool, since) -> None:
    population = dataset.Population(rng, since=since, values=values)
    organizations = population.add_organizations(max(5, count // 25))
    with progress_bar(total=count, desc="customers", unit="customer", disable=not progress) as bar:
        for first in range(0, count, batch):
            size = min(batch, count - first)
            population.add_customers(size, organizations)
            bar.update(size)
    population.finish()


def progress_bar(**kwargs):
    from tqdm import tqdm

    return tqdm(smoothing=0.1, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets to add (default 100000)")
    parser.add_argument("--messages-per-ticket", type=int, default=3,
                        help="average messages per ticket (default 3)")
    parser.add_argument("--customers", type=int, default=None,
                        help="customers to create (default tickets/4; 0 when appending)")
    parser.add_argument("--batch", type=int, default=5000,
                        help="tickets per transaction (default 5000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed for text and shapes")
    parser.add_argument("--append", action="store_true",
                        help="add tickets even if the database already has some")
    parser.add_argument("--no-analyze", dest="analyze", action="store_false",
                        help="skip ANALYZE (planner statistics) at the end")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.tickets < 1 or args.batch < 1 or args.messages_per_ticket < 1:
        print("error: --tickets, --batch and --messages-per-ticket must be positive", file=sys.stderr)
        return 2
    setup_django()
    migrate()
    try:
        report = seed(
            tickets=args.tickets, messages_per_ticket=args.messages_per_ticket,
            customers=args.customers, batch=args.batch, seed=args.seed, append=args.append,
            analyze=args.analyze, progress=not args.quiet,
        )
    except AlreadySeeded as exc:
        print(f"seed: {exc}; nothing to do (use --append to add more)", file=sys.stderr)
        return ALREADY_SEEDED
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
