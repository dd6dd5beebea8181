"""The django-helpdesk side of ``helpdesk_compare.py``. Runs INSIDE django-helpdesk's own
virtualenv (bench/.helpdesk-venv), never in Frontdesk's: it imports only Django, django-helpdesk
and the standard library. ``helpdesk_compare.py`` writes the site (settings, urls) into
bench/.data/helpdesk-site and calls this file as a command:

    bench/.helpdesk-venv/bin/python bench/helpdesk_site.py seed EXPORT.jsonl
    bench/.helpdesk-venv/bin/python bench/helpdesk_site.py fixture
    bench/.helpdesk-venv/bin/python bench/helpdesk_site.py mailqueue DIR
    bench/.helpdesk-venv/bin/python bench/helpdesk_site.py threading MAILS.json
    bench/.helpdesk-venv/bin/python bench/helpdesk_site.py count

Each prints one JSON object on its last line of stdout. The database comes from the site's
settings (HD_DATABASE_* environment variables, set by the caller).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from datetime import datetime

STAFF_USERNAME = "bench-staff"
MAIL_QUEUE = "mail"
BATCH = 5000
# Frontdesk status / priority -> django-helpdesk's (1 open, 2 reopened, 3 resolved, 4 closed;
# priority 1 critical … 5 very low). Pending and on-hold stay open (on_hold flag for the latter).
STATUS = {"new": 1, "open": 1, "pending": 1, "on_hold": 1, "solved": 3, "closed": 4}
PRIORITY = {"urgent": 1, "high": 2, "normal": 3, "low": 4}


def setup() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdsite.settings")
    django.setup()


def when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def queues_for(groups: list[str]):
    from helpdesk.models import Queue

    found = {}
    for name in ["General", *groups]:
        slug = name.lower().replace(" ", "-")[:50]
        found[name], _ = Queue.objects.get_or_create(slug=slug, defaults={
            "title": name, "allow_public_submission": True, "allow_email_submission": False,
            "email_address": f"{slug}@bench.test"})
    return found


def staff_users(count: int):
    from django.contrib.auth import get_user_model

    User = get_user_model()
    users = []
    for n in range(count):
        user = User.objects.filter(username=f"bench-agent-{n}").first()
        users.append(user or User.objects.create_user(f"bench-agent-{n}", f"agent{n}@bench.test", "x",
                                                      is_staff=True))
    return users


def seed(export: str) -> dict:
    """Tickets and FollowUps, one per Frontdesk message (the ticket's description is its first
    message), with bulk_create in batches of 5,000 tickets. ``created``/``modified`` are
    auto_now fields: switched off while seeding so the rows keep Frontdesk's history."""
    migrate()
    from django.db import transaction
    from helpdesk.models import FollowUp, Ticket

    if Ticket.objects.exists():
        return {"tickets": Ticket.objects.count(), "followups": FollowUp.objects.count(), "seeded": False}
    started = time.perf_counter()
    fields = {f.name: f for f in Ticket._meta.fields}
    fields["created"].auto_now_add = False
    fields["modified"].auto_now = False
    with open(export) as handle:
        head = json.loads(handle.readline())
        queues = queues_for(head["groups"])
        users = staff_users(head["agents"])
        tickets = followups = 0
        batch: list[dict] = []

        def flush():
            nonlocal tickets, followups
            with transaction.atomic():
                made = Ticket.objects.bulk_create([ticket_row(r, queues, users) for r in batch])
                rows = [FollowUp(ticket=t, date=when(m[1]), title="Comment", comment=m[2], public=m[0],
                                 user=users[m[3] % len(users)] if m[3] is not None else None)
                        for t, r in zip(made, batch, strict=True) for m in r["messages"]]
                FollowUp.objects.bulk_create(rows, batch_size=BATCH)
            tickets, followups = tickets + len(made), followups + len(rows)
            batch.clear()
            print(f"  django-helpdesk: {tickets:,} tickets, {followups:,} follow-ups "
                  f"({tickets / (time.perf_counter() - started):,.0f} tickets/s)", file=sys.stderr, flush=True)

        for line in handle:
            batch.append(json.loads(line))
            if len(batch) >= BATCH:
                flush()
        if batch:
            flush()
    analyze()
    return {"tickets": tickets, "followups": followups, "seeded": True,
            "seconds": round(time.perf_counter() - started, 1)}


def ticket_row(row: dict, queues: dict, users: list):
    from helpdesk.models import Ticket

    messages = row["messages"]
    return Ticket(
        title=row["subject"][:200], queue=queues.get(row["group"]) or queues["General"],
        created=when(row["created"]), modified=when(row["updated"]), submitter_email=row["email"],
        assigned_to=users[row["assignee"] % len(users)] if row["assignee"] is not None else None,
        status=STATUS.get(row["status"], 1), on_hold=row["status"] == "on_hold",
        description=messages[0][2] if messages else "", priority=PRIORITY.get(row["priority"], 3),
    )


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def fixture(sample: int = 1000, seed_value: int = 42) -> dict:
    """The staff user (is_staff, not superuser) signed in: a session row, as a browser after
    login holds; ticket ids to view; the public queue's id for the submit form."""
    migrate()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.db.models import Max
    from helpdesk.models import Queue, Ticket

    User = get_user_model()
    user = User.objects.filter(username=STAFF_USERNAME).first() or User.objects.create_user(
        STAFF_USERNAME, "staff@bench.test", "x", is_staff=True)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    rng = random.Random(seed_value)
    top = Ticket.objects.aggregate(top=Max("id"))["top"] or 0
    ids = sorted(set(Ticket.objects.filter(id__in=[rng.randint(1, top) for _ in range(sample if top else 0)])
                     .values_list("id", flat=True)))
    rng.shuffle(ids)
    queue = Queue.objects.filter(allow_public_submission=True).order_by("id").first()
    return {"session": session.session_key, "ticket_ids": ids, "public_queue": queue.id if queue else None,
            "tickets": Ticket.objects.count()}


def mailqueue(folder: str) -> dict:
    """A queue reading the local mailbox directory ``folder`` (get_email's "local" type)."""
    migrate()
    from helpdesk.models import Queue

    Queue.objects.filter(slug=MAIL_QUEUE).delete()
    queue = Queue.objects.create(
        title="Mail", slug=MAIL_QUEUE, email_address="support@bench.test", allow_email_submission=True,
        email_box_type="local", email_box_local_dir=folder, email_box_interval=0, logging_type="none")
    return {"queue": queue.id}


def threading(path: str) -> dict:
    """Did every reply land on its conversation's ticket? Mails as written by the compare bench:
    index, kind, message_id, root_id; ``accepted`` is every message's stored FollowUp."""
    from helpdesk.models import FollowUp, Ticket

    with open(path) as handle:
        mails = json.load(handle)
    stored = dict(FollowUp.objects.filter(message_id__in=[f"<{m['message_id']}>" for m in mails])
                  .values_list("message_id", "ticket_id"))
    ticket_of = {m["message_id"]: stored.get(f"<{m['message_id']}>") for m in mails}
    replies = threaded = 0
    samples = []
    for mail in mails:
        if mail["kind"] != "reply" or ticket_of.get(mail["root_id"]) is None:
            continue
        replies += 1
        if ticket_of[mail["message_id"]] == ticket_of[mail["root_id"]]:
            threaded += 1
        elif len(samples) < 3:
            samples.append(f"{mail['message_id']} on ticket {ticket_of[mail['message_id']]}, "
                           f"its conversation on {ticket_of[mail['root_id']]}")
    return {"stored": sum(1 for v in ticket_of.values() if v is not None), "replies": replies,
            "threaded": threaded, "samples": samples, "tickets": Ticket.objects.count()}


def count() -> dict:
    from helpdesk.models import FollowUp, Ticket

    return {"tickets": Ticket.objects.count(), "followups": FollowUp.objects.count()}


def main(argv: list[str]) -> int:
    setup()
    command, rest = argv[0], argv[1:]
    commands = {"seed": seed, "fixture": fixture, "mailqueue": mailqueue, "threading": threading, "count": count}
    if command not in commands:
        print(f"error: unknown command {command!r} (one of {', '.join(commands)})", file=sys.stderr)
        return 2
    print(json.dumps(commands[command](*rest)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
