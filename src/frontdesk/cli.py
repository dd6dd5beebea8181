"""The ``frontdesk`` command. Flags and output here are an interface (DESIGN.md §5)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import signal
import subprocess
import sys
import time

DEFAULT_HTTP = "127.0.0.1:8000"
DEFAULT_SMTP = "127.0.0.1:2525"


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontdesk.settings")
    import django

    django.setup()


def host_port(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return value


def cmd_migrate(args) -> int:
    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1 if args.verbose else 0)
    return 0


def cmd_web(args) -> int:
    setup_django()
    from gunicorn.app.base import BaseApplication

    options = {
        "bind": args.http,
        "workers": args.workers,
        "threads": args.threads,
        "worker_class": "gthread" if args.threads > 1 else "sync",
        "timeout": 60,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": "-" if args.access_log else None,
        "proc_name": "frontdesk-web",
    }

    class WebServer(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                if value is not None:
                    self.cfg.set(key, value)

        def load(self):
            from frontdesk.wsgi import application

            return application

    print(f"frontdesk web listening on http://{args.http}", flush=True)
    WebServer().run()
    return 0


def cmd_worker(args) -> int:
    setup_django()
    from django.conf import settings
    from django.core.management import call_command

    # Background work yields the CPU to what people wait on (the web server, the SMTP
    # listener's answers): on a small machine a burst of mail must not slow either.
    if settings.FRONTDESK_WORKER_NICE > 0:
        os.nice(settings.FRONTDESK_WORKER_NICE)

    from frontdesk.core.workers import Heartbeat, new_worker_id

    # The heartbeat lets a scheduler hand this worker's running task to another worker if
    # this process dies mid-task (core/workers.py).
    worker_id = new_worker_id()
    heartbeat = Heartbeat(worker_id=worker_id, interval=settings.FRONTDESK_WORKER_HEARTBEAT).start()
    try:
        call_command("db_worker", queue_name="*", interval=args.interval, startup_delay=False, worker_id=worker_id)
    finally:
        heartbeat.stop()
    return 0


def cmd_scheduler(args) -> int:
    setup_django()
    from django.conf import settings

    from frontdesk.core.clock import run_scheduler

    run_scheduler(interval=args.interval or settings.FRONTDESK_SCHEDULER_INTERVAL)
    return 0


def cmd_smtp(args) -> int:
    setup_django()
    from frontdesk.mail.smtp import serve

    try:
        serve(address=args.smtp,
              on_ready=lambda address: print(f"frontdesk smtp listening on smtp://{address}", flush=True))
    except OSError as exc:
        print(f"error: cannot start the SMTP listener on {args.smtp}: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_check(args) -> int:
    setup_django()
    from django.core.management import call_command

    from frontdesk.health import health_report

    call_command("check", deploy=args.deploy)
    report = health_report()
    print(json.dumps(report, indent=2))
    return 0 if report["status"] == "ok" else 1


def cmd_createagent(args) -> int:
    setup_django()
    from frontdesk.accounts.services import agent_create
    from frontdesk.core.errors import DomainError

    password = args.password
    if password is None and sys.stdin.isatty():
        password = getpass.getpass("Password (empty: none, token access only): ") or None
    try:
        agent = agent_create(
            email=args.email, name=args.name, role=args.role, password=password,
            group_names=args.group or [],
        )
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    groups = ", ".join(g.name for g in agent.groups.all()) or "no groups"
    print(f"created {agent.role} {agent.email} ({groups})")
    return 0


def cmd_token_create(args) -> int:
    setup_django()
    from frontdesk.accounts.models import Agent
    from frontdesk.accounts.services import token_create

    agent = Agent.objects.filter(email=args.agent.strip().lower(), is_active=True).first()
    if agent is None:
        print(f"error: no active agent with email {args.agent}", file=sys.stderr)
        return 2
    token = token_create(agent=agent, name=args.name)
    print(f"API token for {agent.email} (shown once; store it now):", file=sys.stderr)
    print(token)
    return 0


def _mailbox_password(args) -> str | None:
    if args.password_file:
        with open(args.password_file, encoding="utf-8") as handle:
            return handle.read().rstrip("\r\n")
    if password := os.environ.get("FRONTDESK_IMAP_PASSWORD"):
        return password
    if sys.stdin.isatty():
        return getpass.getpass(f"IMAP password for {args.username}: ")
    return None


def cmd_mailbox_add(args) -> int:
    setup_django()
    from frontdesk.core.errors import DomainError
    from frontdesk.mail.imap import mailbox_create
    from frontdesk.mail.models import Inbox

    inbox = Inbox.objects.filter(address__iexact=args.inbox.strip()).first()
    if inbox is None:
        print(f"error: no inbox with address {args.inbox} (create it in the admin: Email → Inboxes)",
              file=sys.stderr)
        return 2
    password = _mailbox_password(args)
    if not password:
        print("error: no password (use --password-file, FRONTDESK_IMAP_PASSWORD or a terminal)", file=sys.stderr)
        return 2
    try:
        mailbox = mailbox_create(
            inbox=inbox, host=args.host, port=args.port, starttls=args.starttls, username=args.username,
            password=password, folder=args.folder, move_to=args.move_to, interval_seconds=args.interval,
        )
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    print(f"added mailbox {mailbox.pk}: {mailbox} port {mailbox.port} for {inbox.address}; polled every "
          f"{mailbox.poll_interval_seconds}s by the scheduler (now: frontdesk mailbox poll --id {mailbox.pk})")
    return 0


def cmd_mailbox_list(args) -> int:
    setup_django()
    from frontdesk.mail.imap import mailbox_is_alerting
    from frontdesk.mail.models import Mailbox

    mailboxes = Mailbox.objects.select_related("inbox").order_by("id")
    if not mailboxes:
        print("no mailboxes (add one: frontdesk mailbox add --help)")
    for mailbox in mailboxes:  # every column but the password
        state = ("ALERT" if mailbox_is_alerting(mailbox) else "enabled") if mailbox.enabled else "disabled"
        tls = "tls" if mailbox.use_ssl else "starttls"
        moved = f" → {mailbox.move_to}" if mailbox.move_to else ""
        success = f"{mailbox.last_success_at:%Y-%m-%d %H:%M:%S}" if mailbox.last_success_at else "never"
        print(f"{mailbox.pk}\t{state}\t{mailbox.inbox.address}\t{mailbox.username}@{mailbox.host}:{mailbox.port} "
              f"({tls})\t{mailbox.folder}{moved}\tevery {mailbox.poll_interval_seconds}s\tlast success {success}"
              + (f"\t{mailbox.last_error}" if mailbox.last_error else ""))
    return 0


def cmd_mailbox_poll(args) -> int:
    setup_django()
    from frontdesk.mail.imap import mailbox_poll
    from frontdesk.mail.models import Mailbox

    if args.id is not None:
        mailbox = Mailbox.objects.filter(pk=args.id).first()
        if mailbox is None or not mailbox.enabled:
            print(f"error: no enabled mailbox {args.id}", file=sys.stderr)
            return 2
        ids = [mailbox.pk]
    else:
        ids = list(Mailbox.objects.filter(enabled=True).order_by("id").values_list("id", flat=True))
    failed = False
    for mailbox_id in ids:
        report = mailbox_poll(mailbox_id=mailbox_id)
        print(report)
        failed = failed or not report.ok
    if not ids:
        print("no enabled mailboxes")
    return 1 if failed else 0


def _role_command(role: str, args) -> list[str]:
    command = [sys.executable, "-m", "frontdesk.cli", role]
    if role == "web":
        command += ["--http", args.http, "--workers", str(args.workers)]
    if role == "smtp":
        command += ["--smtp", args.smtp]
    return command


def supervise(commands: dict[str, list[str]]) -> int:
    """Run each role as a child process; stop them all on Ctrl-C/SIGTERM or when one dies."""
    children = {name: subprocess.Popen(command) for name, command in commands.items()}
    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"frontdesk: {name} exited with {child.returncode}; stopping", file=sys.stderr)
                exit_code = child.returncode or 1
                stopping = True
                break
        time.sleep(0.2)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    print("frontdesk: stopped", file=sys.stderr)
    return exit_code


def cmd_run(args) -> int:
    cmd_migrate(args)
    roles = ["web", "smtp", "worker", "scheduler"]
    return supervise({role: _role_command(role, args) for role in roles})


def cmd_demo(args) -> int:
    cmd_migrate(args)
    from frontdesk.demo import load_demo, print_welcome

    logins = load_demo()
    print_welcome(base_url=f"http://{args.http}", logins=logins, smtp=args.smtp)
    if args.no_serve:
        return 0
    return supervise({role: _role_command(role, args) for role in ["web", "smtp", "worker", "scheduler"]})


def cmd_manage(args) -> int:
    setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["frontdesk manage", *args.rest])
    return 0


def cmd_backup(args) -> int:
    setup_django()
    from pathlib import Path

    from frontdesk.core.backup import backup_create
    from frontdesk.core.errors import DomainError

    try:
        folder = backup_create(directory=Path(args.directory))
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    print(folder)
    return 0


def cmd_export(args) -> int:
    setup_django()
    from pathlib import Path

    from frontdesk.core.backup import data_export

    data_export(output=Path(args.file))
    print(args.file)
    return 0


def cmd_import(args) -> int:
    setup_django()
    from pathlib import Path

    from frontdesk.core.backup import data_import
    from frontdesk.core.errors import DomainError

    try:
        data_import(source=Path(args.file), force=args.force)
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    return 0


def cmd_search_rebuild(args) -> int:
    setup_django()
    import time

    from frontdesk.search.services import search_rebuild, search_rebuild_steps

    started, total, done = time.perf_counter(), search_rebuild_steps(), [0]

    def step(label: str) -> None:
        done[0] += 1
        print(f"[{done[0]}/{total}] {time.perf_counter() - started:7.1f} s  {label}", file=sys.stderr, flush=True)

    report = search_rebuild(step=None if args.quiet else step)
    print(f"search index rebuilt: {report.tickets:,} tickets, {report.messages:,} messages, "
          f"{report.customers:,} customers in {report.seconds:.1f} s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="frontdesk",
        description="Frontdesk helpdesk. Configuration comes from environment variables "
        "(FRONTDESK_HOME, DATABASE_URL, REDIS_URL, FRONTDESK_SECRET_KEY, FRONTDESK_BASE_URL).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def web_flags(p):
        p.add_argument("--http", type=host_port, default=DEFAULT_HTTP, metavar="HOST:PORT",
                       help=f"where the web server listens (default {DEFAULT_HTTP})")
        p.add_argument("--workers", type=int, default=None,
                       help="web worker processes (default FRONTDESK_WEB_WORKERS or 2)")

    def smtp_flags(p):
        p.add_argument("--smtp", type=host_port, default=DEFAULT_SMTP, metavar="HOST:PORT",
                       help=f"where the SMTP listener accepts mail (default {DEFAULT_SMTP})")

    p = sub.add_parser("run", help="migrate, then run web, SMTP listener, worker and scheduler together")
    web_flags(p)
    smtp_flags(p)
    p.add_argument("--verbose", action="store_true", help="print each migration")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="like run, plus idempotent demo data and a list of logins")
    web_flags(p)
    smtp_flags(p)
    p.add_argument("--verbose", action="store_true", help="print each migration")
    p.add_argument("--no-serve", action="store_true", help="load the demo data and exit")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("web", help="the web server (gunicorn, WSGI) only")
    web_flags(p)
    p.add_argument("--threads", type=int, default=1, help="threads per worker (default 1)")
    p.add_argument("--access-log", action="store_true", help="log every request to stdout")
    p.set_defaults(func=cmd_web)

    p = sub.add_parser("smtp", help="the inbound SMTP listener (sweeps its spool first)")
    smtp_flags(p)
    p.set_defaults(func=cmd_smtp)

    p = sub.add_parser("worker", help="a background task worker")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between polls when idle")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("scheduler", help="the clock that hands due work to workers")
    p.add_argument("--interval", type=float, default=None,
                   help="seconds between ticks (default FRONTDESK_SCHEDULER_INTERVAL or 5)")
    p.set_defaults(func=cmd_scheduler)

    p = sub.add_parser("migrate", help="create or upgrade the database schema")
    p.add_argument("--verbose", action="store_true")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("check", help="configuration checks and a health report")
    p.add_argument("--deploy", action="store_true", help="include Django's deployment checks")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("createagent", help="create an agent (creates named groups if needed)")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--role", choices=["admin", "agent", "light"], default="agent")
    p.add_argument("--password", help="omit to be prompted (or no password: token access only)")
    p.add_argument("--group", action="append", metavar="NAME", help="group membership; repeatable")
    p.set_defaults(func=cmd_createagent)

    p = sub.add_parser("token", help="API tokens")
    token_sub = p.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    tp = token_sub.add_parser("create", help="create a token; prints only the token on its last line")
    tp.add_argument("--agent", required=True, metavar="EMAIL")
    tp.add_argument("--name", default="", help="a label to recognise the token by")
    tp.set_defaults(func=cmd_token_create)

    p = sub.add_parser("mailbox", help="IMAP mailboxes polled into an inbox")
    mailbox_sub = p.add_subparsers(dest="mailbox_command", required=True, metavar="ACTION")
    mp = mailbox_sub.add_parser("add", help="add a mailbox; the password comes from --password-file, "
                                "FRONTDESK_IMAP_PASSWORD or a prompt, never from the command line")
    mp.add_argument("--inbox", required=True, metavar="ADDRESS", help="address of an existing inbox")
    mp.add_argument("--host", required=True)
    mp.add_argument("--port", type=int, default=None, help="default 993 (143 with --starttls)")
    mp.add_argument("--starttls", action="store_true", help="STARTTLS instead of implicit TLS")
    mp.add_argument("--username", required=True)
    mp.add_argument("--password-file", metavar="FILE")
    mp.add_argument("--folder", default="INBOX")
    mp.add_argument("--move-to", default="", metavar="FOLDER", help="move stored mail there (default: mark it read)")
    mp.add_argument("--interval", type=int, default=60, help="seconds between polls (default 60)")
    mp.set_defaults(func=cmd_mailbox_add)
    mp = mailbox_sub.add_parser("list", help="mailboxes and their last poll (never passwords)")
    mp.set_defaults(func=cmd_mailbox_list)
    mp = mailbox_sub.add_parser("poll", help="poll now and print what was fetched")
    mp.add_argument("--id", type=int, default=None, help="one mailbox (default: every enabled one)")
    mp.set_defaults(func=cmd_mailbox_poll)

    p = sub.add_parser("backup", help="a consistent copy of the database and data folders, safe while running")
    p.add_argument("directory", help="where to create the dated backup folder")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("export", help="every row as JSON, to move to another database (see README)")
    p.add_argument("file")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", help="load an export into a freshly migrated database")
    p.add_argument("file")
    p.add_argument("--force", action="store_true", help="load even if the database already has data")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("search-rebuild", help="rebuild the whole search index from the data (bulk, one transaction)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_search_rebuild)

    p = sub.add_parser("manage", help="any Django management command (advanced)")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "workers", 1) is None:
        args.workers = int(os.environ.get("FRONTDESK_WEB_WORKERS") or 2)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
