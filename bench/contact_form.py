"""CPU per request of the public contact form (``GET /help/`` and ``POST /help/``, a new
ticket), in-process, on a copy of the seeded database.

    .venv/bin/python bench/contact_form.py [--tickets 100000] [--requests 400]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/frontdesk_bench .venv/bin/python bench/contact_form.py
    PYTHONPATH=<other checkout>/src .venv/bin/python bench/contact_form.py   # the same run for other code

Requests go through Django's WSGI handler and every middleware, as ``helpdesk_compare.py``'s
"public form" rows send them (no cookie for the GET; for the POST the CSRF cookie and token
and the signed start time of a served form, a unique address per post, each from another
client address so the throttles never answer 429), without network or gunicorn. ``cpu`` is
this process's CPU per request (SQLite runs inside it); on PostgreSQL the server's backend
CPU per request is shown besides. The queries of one request of each kind are counted. Posts
add tickets, so the run works on a copy of ``bench/.data/<db>-<tickets>`` (as ingest.py).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

RESULTS_DIR = BENCH_DIR / "results"
STARTED_SALT = "frontdesk.portal.contact-started"  # portal.forms.STARTED_SALT


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="dataset size (default 100000)")
    parser.add_argument("--requests", type=int, default=400, help="GETs measured; POSTs are a quarter (default 400)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Seed (once) and copy the database, then measure in a child process pointed at the copy."""
    args = build_parser().parse_args(argv)
    if args.child:
        return measure(args)
    import api_latency as load
    import ingest
    import seed

    kind = load.db_kind(os.environ.get("DATABASE_URL", ""))
    home = (BENCH_DIR / ".data" / f"{kind}-{args.tickets}").resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ.update({"FRONTDESK_HOME": str(home), "FRONTDESK_DEBUG": "0"})
    seed.ready_database(tickets=args.tickets, seed_value=args.seed)
    from django.db import connections

    connections.close_all()
    scratch = BENCH_DIR / ".data" / f"contact-form-{kind}-{args.tickets}"
    scratch.mkdir(parents=True, exist_ok=True)
    for leftover in ("cache", "frontdesk.sqlite3-wal", "frontdesk.sqlite3-shm"):
        path = scratch / leftover
        if path.is_dir():
            import shutil

            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    if (home / "secret_key").exists():
        (scratch / "secret_key").write_text((home / "secret_key").read_text())
    url = ingest.clone_database(os.environ.get("DATABASE_URL", ""), home, scratch)
    env = {**os.environ, "FRONTDESK_HOME": str(scratch), "DATABASE_URL": url, "FRONTDESK_DEBUG": "0"}
    return subprocess.run([sys.executable, __file__, "--child", *(argv if argv is not None else sys.argv[1:])],
                          env=env).returncode


def measure(args) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontdesk.settings")
    import django

    django.setup()
    from django.core import signing
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    import frontdesk

    handler, factory = WSGIHandler(), RequestFactory(HTTP_HOST="127.0.0.1")
    run, network, posted = f"{os.getpid()}x{int(time.time())}", random.randrange(250), [0]

    def call(environ) -> tuple[int, list, bytes]:
        answer = {}

        def start_response(status, headers, exc_info=None):
            answer.update(status=int(status.split()[0]), headers=headers)

        body = b"".join(handler(environ, start_response))
        return answer["status"], answer["headers"], body

    def get() -> tuple[int, list, bytes]:
        return call(factory.get("/help/").environ)

    status, headers, body = get()
    jar = SimpleCookie()
    for name, value in headers:
        if name.lower() == "set-cookie":
            jar.load(value)
    cookie = "; ".join(f"{key}={morsel.value}" for key, morsel in jar.items())
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]*)"', body.decode()).group(1)
    # As a form served 10 s ago (the form refuses faster posts): signed like portal.forms.started_token.
    started = signing.TimestampSigner(salt=STARTED_SALT).sign(str(int(time.time()) - 10))

    def post() -> tuple[int, list, bytes]:
        posted[0] += 1
        n = posted[0]
        unique = f"{run}x{n}"
        body = urlencode({
            "csrfmiddlewaretoken": csrf, "started": started, "website": "", "name": f"Bench Customer {unique}",
            "email": f"bench.customer.{unique}@contact-form.test", "subject": f"Printer on floor {unique} is offline",
            "message": "The printer on our floor stopped printing this morning. Can you help?",
        })
        return call(factory.generic("POST", "/help/", body, content_type="application/x-www-form-urlencoded",
                                    HTTP_COOKIE=cookie,
                                    REMOTE_ADDR=f"10.{network}.{n // 250 % 250}.{n % 250 + 1}").environ)

    def backend_cpu() -> float:
        if connection.vendor != "postgresql":
            return 0.0
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    rows = []
    for name, send, ok, count in (("GET /help/", get, 200, args.requests),
                                  ("POST /help/", post, 302, max(20, args.requests // 4))):
        for _ in range(5):  # warm: templates, connections, first cache writes
            assert send()[0] == ok
        with CaptureQueriesContext(connection) as queries:
            assert send()[0] == ok
        query_count = len(queries.captured_queries)  # now: later requests reset the log
        cpu, backend = [], backend_cpu()
        for _ in range(count):
            began = time.process_time()
            status, _, body = send()
            cpu.append(time.process_time() - began)
            if status != ok:
                raise SystemExit(f"{name} answered {status}: {body[:300]!r}")
        backend = (backend_cpu() - backend) / count
        cpu.sort()
        rows.append({"name": name, "requests": count, "cpu_mean_ms": sum(cpu) / count * 1000,
                     "cpu_p50_ms": cpu[count // 2] * 1000, "queries": query_count,
                     "backend_cpu_ms": backend * 1000 if connection.vendor == "postgresql" else None})
    print(f"contact form, {connection.vendor}, code {Path(frontdesk.__file__).parent}")
    print(f"{'request':14} {'n':>5} {'cpu mean ms':>12} {'cpu p50 ms':>11} {'queries':>8} {'db backend ms':>14}")
    for row in rows:
        backend = f"{row['backend_cpu_ms']:.2f}" if row["backend_cpu_ms"] is not None else "-"
        print(f"{row['name']:14} {row['requests']:5} {row['cpu_mean_ms']:12.2f} {row['cpu_p50_ms']:11.2f} "
              f"{row['queries']:8} {backend:>14}")
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"contact_form-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"code": str(Path(frontdesk.__file__).parent), "database": connection.vendor,
                                "load_average": os.getloadavg()[0], "rows": rows}, indent=2) + "\n")
    print(f"JSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
