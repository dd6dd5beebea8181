"""Build a large, realistic helpdesk history (the engine behind seed.py).

Import only after ``django.setup()``. Groups, agents and tags go through the services and
the ORM (a few dozen rows). The millions of rows behind them (customers, tickets, messages,
events, tag links) are inserted as ready-made tuples with ``executemany`` on SQLite and
``COPY`` on PostgreSQL: profiled, ``bulk_create`` spent three quarters of the seeding time
turning each value into SQL and managed ~770 tickets/s, too slow for a million tickets.
Bypassing the services and the ORM means keeping their guarantees by hand, so this module
does: the Message check constraints, the status machine (closed only after solved, closing
CLOSE_AFTER after solving), a timeline event for every message and change, unique contact
points and references, and timestamps that tell one consistent story per ticket.
"""

from __future__ import annotations

import json
import operator
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from corpus import (
    FIRST_NAMES,
    LAST_NAMES,
    LOCALES,
    MAIL_DOMAINS,
    ORG_ADJECTIVES,
    ORG_NOUNS,
    ORG_SUFFIXES,
    PLANS,
    TAGS,
    Writer,
)
from frontdesk.accounts.models import Agent
from frontdesk.accounts.services import agent_create, group_get_or_create
from frontdesk.core.text import text_to_html
from frontdesk.customers.models import ContactKind, ContactPoint, Customer, Organization
from frontdesk.tickets.models import (
    Channel,
    EventKind,
    Message,
    Priority,
    Status,
    Tag,
    Ticket,
    TicketEvent,
    Visibility,
    new_reference,
)

WINDOW = timedelta(days=730)  # tickets spread over the last two years
AGENT_DOMAIN = "bench.frontdesk.test"
HOUR = 3600.0
CLOSE_AFTER = timedelta(hours=settings.FRONTDESK_CLOSE_SOLVED_AFTER_HOURS)

GROUPS = [
    ("Support L1", 1), ("Billing", 1), ("Onboarding", 1),
    ("Technical L2", 2), ("Integrations L2", 2), ("Engineering L3", 3),
]
# Tier-1 groups take most of the traffic, as in any escalation ladder.
TIER_WEIGHTS = {1: 70, 2: 22, 3: 8}
AGENTS = [
    ("Sam Carter", ["Support L1"]), ("Tara Okoye", ["Technical L2", "Support L1"]),
    ("Bill Hughes", ["Billing"]), ("Lena Vogel", ["Support L1"]), ("Rui Alves", ["Support L1"]),
    ("Mina Sato", ["Onboarding", "Support L1"]), ("Jon Berg", ["Billing", "Support L1"]),
    ("Ana Ruiz", ["Technical L2"]), ("Ike Mensah", ["Integrations L2", "Technical L2"]),
    ("Eva Lind", ["Engineering L3"]), ("Omar Said", ["Engineering L3", "Technical L2"]),
    ("Kim Park", ["Support L1"]), ("Liv Moreau", ["Onboarding"]), ("Max Weber", ["Billing"]),
    ("Nia Brown", ["Support L1"]), ("Pia Costa", ["Integrations L2"]),
    ("Raj Patel", ["Technical L2"]), ("Sue Chen", ["Support L1", "Billing"]),
    ("Tom Walsh", ["Support L1"]), ("Uma Singh", ["Onboarding", "Technical L2"]),
]

PRIORITIES = ([Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT], [20, 55, 18, 7])
CUSTOMER_CHANNELS = (
    [Channel.EMAIL, Channel.WEB, Channel.PORTAL, Channel.CHAT, Channel.SMS, Channel.SOCIAL,
     Channel.API],
    [50, 18, 10, 12, 2, 4, 4],
)
# Channels where an agent opens the ticket for the customer (a call, an internal request).
AGENT_CHANNELS = [Channel.PHONE, Channel.INTERNAL]
# Final status by age: recent tickets are still being worked, old ones are done. "Solved"
# and "closed" both mean done here; time alone decides which (see TicketFactory.tell).
STATUS_BY_AGE = [  # (younger than N days, statuses, weights)
    (2, [Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED],
     [35, 35, 12, 5, 13]),
    (14, [Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED],
     [4, 26, 20, 8, 42]),
    (45, [Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED], [6, 6, 4, 84]),
    (None, [Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED], [1, 1, 1, 97]),
]
TAG_COUNTS = ([0, 1, 2, 3], [35, 35, 20, 10])


# ---- writing rows fast -----------------------------------------------------------------

class Table:
    """Rows for one model's table, as tuples of database-ready values, with primary keys
    handed out here so related rows can point at them before anything is written.

    Callers give the columns in ``given`` (as a dict per row); every other column gets what
    a bare ``Model()`` would hold, which must be a valid value. A column added to a model
    later therefore either just works or stops the seed with its name, never a silent
    mismatch. Assumes nobody else inserts into the table while seeding.
    """

    def __init__(self, model: type[models.Model], given: Sequence[str]):
        self.model = model
        fields = [f for f in model._meta.concrete_fields if f.attname not in ("id", *given)]
        # What a bare Model() would hold: the default, "" for text, else None (NULL).
        if missing := [f.attname for f in fields if f.get_default() is None and not f.null]:
            raise RuntimeError(
                f"{model.__name__} has required columns {missing} that bench/dataset.py does "
                "not fill; add them there"
            )
        if unique := [f.attname for f in fields if f.unique]:
            # One default shared by every row would break the unique constraint.
            raise RuntimeError(f"{model.__name__}: give the unique columns {unique} per row")
        defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in fields)
        self.columns = ["id", *given, *(f.attname for f in fields)]
        self._values = operator.itemgetter(*given)
        self._defaults = defaults
        self.rows: list[tuple] = []
        top = model.objects.aggregate(top=Max("id"))["top"]
        self.next_id = (top or 0) + 1

    def add(self, values: dict) -> int:
        pk = self.next_id
        self.next_id += 1
        self.rows.append((pk, *self._values(values), *self._defaults))
        return pk

    def flush(self, cursor) -> int:
        count, rows = len(self.rows), self.rows
        self.rows = []
        if not rows:
            return 0
        quote = connection.ops.quote_name
        table = quote(self.model._meta.db_table)
        names = ", ".join(quote(self.model._meta.get_field(c).column) for c in self.columns)
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(self.columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
        return count


class Values:
    """Python values in the form the database column takes, without the ORM per value."""

    def __init__(self):
        self.sqlite = connection.vendor == "sqlite"

    def time(self, value: datetime | None):
        if value is None or not self.sqlite:
            return value  # psycopg adapts aware datetimes itself
        # What Django's SQLite backend stores: naive UTC, ISO format with a space.
        return str(value.replace(tzinfo=None))

    def json(self, value):
        if value is None:
            return None  # SQL NULL, as the ORM writes None in a nullable JSONField
        return json.dumps(value) if self.sqlite else connection.ops.adapt_json_value(value, None)


def reset_sequences(tables: Sequence[Table]) -> None:
    """PostgreSQL sequences must learn about the ids we handed out; SQLite needs nothing."""
    statements = connection.ops.sequence_reset_sql(no_style(), [t.model for t in tables])
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


# ---- the cast: groups, agents, organizations, customers, tags --------------------------

class AgentRef(NamedTuple):
    id: int
    name: str
    email: str


class CustomerRef(NamedTuple):
    id: int
    organization_id: int | None
    first_name: str


@dataclass
class Cast:
    """Everyone a ticket can involve, as plain tuples: building a million tickets must not
    query the database for lookups."""

    groups: list[tuple[int, str]]
    group_weights: list[int]
    agents_by_group: dict[int, list[AgentRef]]
    customers: list[CustomerRef]
    tags: list[tuple[int, str]]
    agents: list[AgentRef] = field(default_factory=list)
    frequent: list[CustomerRef] = field(default_factory=list)

    def __post_init__(self):
        self.agents = sorted({a for members in self.agents_by_group.values() for a in members})
        # A few customers write far more often than the rest (power users, resellers).
        self.frequent = self.customers[: max(1, len(self.customers) // 50)]
        if not self.customers:
            raise RuntimeError("no customers to open tickets for; seed with --customers N")

    def pick_customer(self, rng: random.Random) -> CustomerRef:
        pool = self.frequent if rng.random() < 0.2 else self.customers
        return pool[rng.randrange(len(pool))]


def ensure_staff() -> tuple[list[tuple[int, str]], list[int], dict[int, list[AgentRef]]]:
    """The fixed groups and agents, created through the services (idempotent)."""
    for name, tier in GROUPS:
        group_get_or_create(name=name, tier=tier)
    for name, group_names in AGENTS:
        email = f"{name.split()[0].lower()}@{AGENT_DOMAIN}"
        if not Agent.objects.filter(email=email).exists():
            agent_create(email=email, name=name, group_names=group_names)
    groups, weights, members = [], [], {}
    tier_sizes = {tier: sum(1 for _, t in GROUPS if t == tier) for tier in TIER_WEIGHTS}
    for name, tier in GROUPS:
        group = group_get_or_create(name=name)
        agents = group.agents.filter(email__endswith=f"@{AGENT_DOMAIN}", is_active=True)
        groups.append((group.pk, group.name))
        weights.append(TIER_WEIGHTS[tier] * 100 // tier_sizes[tier])
        members[group.pk] = [AgentRef(a.pk, a.name, a.email) for a in agents.order_by("pk")]
    return groups, weights, members


def ensure_tags() -> list[tuple[int, str]]:
    Tag.objects.bulk_create([Tag(name=name) for name in TAGS], ignore_conflicts=True)
    return list(Tag.objects.filter(name__in=TAGS).order_by("name").values_list("pk", "name"))


def load_customers() -> list[CustomerRef]:
    rows = Customer.objects.filter(merged_into__isnull=True).order_by("pk")
    return [
        CustomerRef(pk, org_id, (name.split() or ["there"])[0])
        for pk, org_id, name in rows.values_list("pk", "organization_id", "name").iterator()
    ]


class Population:
    """Organizations and customers, each customer with a unique email (some also a phone)."""

    def __init__(self, rng: random.Random, *, since: datetime, values: Values):
        self.rng, self.since, self.values = rng, since, values
        self.taken = set(ContactPoint.objects.values_list("kind", "value"))
        self.org_names = set(Organization.objects.values_list("name", flat=True))
        self.phone_serial = ContactPoint.objects.filter(kind=ContactKind.PHONE).count()
        self.organizations = Table(Organization, ["created_at", "updated_at", "name", "domains", "plan"])
        self.customers = Table(Customer, [
            "created_at", "updated_at", "name", "organization_id", "locale", "time_zone", "plan",
        ])
        self.contact_points = Table(ContactPoint, ["customer_id", "kind", "value", "is_primary",
                                                   "created_at"])

    def _moment(self):
        # Customers signed up during the year before the ticket window opens.
        return self.values.time(self.since + timedelta(seconds=self.rng.uniform(0, 365 * 24 * HOUR)))

    def add_organizations(self, count: int) -> list[tuple[int, str]]:
        rng, added = self.rng, []
        for _ in range(count):
            name = f"{rng.choice(ORG_ADJECTIVES)} {rng.choice(ORG_NOUNS)} {rng.choice(ORG_SUFFIXES)}"
            if name in self.org_names:
                name = f"{name} {len(self.org_names) + 1}"  # the word lists run out; stay unique
            self.org_names.add(name)
            domain = name.lower().replace(" ", "-") + ".example"
            moment = self._moment()
            pk = self.organizations.add({
                "created_at": moment, "updated_at": moment, "name": name,
                "domains": self.values.json([domain]), "plan": rng.choice(PLANS),
            })
            added.append((pk, domain))
        self.write()
        return added

    def _unique(self, kind: str, value: str) -> str:
        candidate, n = value, 1
        while (kind, candidate) in self.taken:
            n += 1
            local, _, domain = value.partition("@")
            candidate = f"{local}{n}@{domain}"
        self.taken.add((kind, candidate))
        return candidate

    def add_customers(self, count: int, organizations: list[tuple[int, str]]) -> None:
        rng = self.rng
        for _ in range(count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            org_id, domain = (
                rng.choice(organizations) if organizations and rng.random() < 0.6
                else (None, rng.choice(MAIL_DOMAINS))
            )
            locale, zone = rng.choice(LOCALES)
            moment = self._moment()
            customer_id = self.customers.add({
                "created_at": moment, "updated_at": moment, "name": f"{first} {last}",
                "organization_id": org_id, "locale": locale, "time_zone": zone,
                "plan": rng.choice(PLANS),
            })
            local = f"{first}.{last}".lower().replace("'", "").replace(" ", "")
            self.contact_points.add({
                "customer_id": customer_id, "kind": ContactKind.EMAIL, "is_primary": True,
                "value": self._unique(ContactKind.EMAIL, f"{local}@{domain}"), "created_at": moment,
            })
            if rng.random() < 0.3:
                self.phone_serial += 1
                self.contact_points.add({
                    "customer_id": customer_id, "kind": ContactKind.PHONE, "is_primary": False,
                    "value": self._unique(ContactKind.PHONE, f"+1555{self.phone_serial:07d}"),
                    "created_at": moment,
                })
        self.write()

    def write(self) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            for table in (self.organizations, self.customers, self.contact_points):
                table.flush(cursor)

    def finish(self) -> None:
        reset_sequences([self.organizations, self.customers, self.contact_points])


# ---- tickets ---------------------------------------------------------------------------

class TicketTables:
    """The four tables a ticket's history fills, written together, one transaction a batch."""

    def __init__(self):
        self.tickets = Table(Ticket, [
            "reference", "subject", "requester_id", "organization_id", "status", "priority",
            "channel", "group_id", "assignee_id", "created_at", "updated_at", "solved_at",
            "closed_at", "last_customer_message_at", "last_agent_reply_at", "auto_close_at",
        ])
        self.messages = Table(Message, [
            "ticket_id", "visibility", "author_agent_id", "author_customer_id", "channel",
            "body_text", "body_html", "created_at",
        ])
        self.events = Table(TicketEvent, [
            "ticket_id", "kind", "actor_agent_id", "actor_customer_id", "actor_system", "before",
            "after", "message_id", "created_at",
        ])
        self.tag_links = Table(Ticket.tags.through, ["ticket_id", "tag_id"])
        self.all = [self.tickets, self.messages, self.events, self.tag_links]

    def write(self) -> dict[str, int]:
        """Insert what is pending; the count of rows per table."""
        with transaction.atomic(), connection.cursor() as cursor:
            return {t.model._meta.model_name: t.flush(cursor) for t in self.all}


class Story:
    """One ticket's life, told in order: messages and events at a moving clock."""

    def __init__(self, *, ticket_id: int, channel: str, customer: CustomerRef, now: datetime,
                 created: datetime, tables: TicketTables, values: Values):
        self.ticket_id, self.customer, self.now = ticket_id, customer, now
        self.tables, self.values = tables, values
        self.clock = created
        self.status = Status.NEW
        self.channel = channel
        # As ticket_reply does: public messages of an internal ticket go out on the web.
        self.public_channel = Channel.WEB if channel == Channel.INTERNAL else channel
        self.times: dict[str, datetime | None] = dict.fromkeys(
            ["solved_at", "closed_at", "last_customer_message_at", "last_agent_reply_at",
             "auto_close_at"]
        )

    def advance(self, rng: random.Random, mean_hours: float) -> None:
        """Move the clock by a random gap, never past now (the present ends every story)."""
        gap = timedelta(seconds=rng.expovariate(1 / (mean_hours * HOUR)))
        self.clock = min(self.clock + gap, self.now - timedelta(seconds=1))

    def event(self, kind: str, *, agent: AgentRef | None = None, customer: bool = False,
              system: str = "", before=None, after=None, message_id: int | None = None) -> None:
        self.tables.events.add({
            "ticket_id": self.ticket_id, "kind": kind, "actor_agent_id": agent.id if agent else None,
            "actor_customer_id": self.customer.id if customer else None, "actor_system": system,
            "before": self.values.json(before), "after": self.values.json(after),
            "message_id": message_id, "created_at": self.values.time(self.clock),
        })

    def message(self, body: str, *, agent: AgentRef | None = None, internal: bool = False) -> None:
        message_id = self.tables.messages.add({
            "ticket_id": self.ticket_id,
            "visibility": Visibility.INTERNAL if internal else Visibility.PUBLIC,
            # The check constraints: exactly one author; internal notes only by agents.
            "author_agent_id": agent.id if agent else None,
            "author_customer_id": None if agent else self.customer.id,
            "channel": Channel.INTERNAL if internal else self.public_channel,
            "body_text": body, "body_html": text_to_html(body),
            "created_at": self.values.time(self.clock),
        })
        if internal:
            self.event(EventKind.NOTE, agent=agent, message_id=message_id)
        elif agent:
            self.event(EventKind.REPLY, agent=agent, message_id=message_id)
            self.times["last_agent_reply_at"] = self.clock
        else:
            self.event(EventKind.CUSTOMER_MESSAGE, customer=True, message_id=message_id)
            self.times["last_customer_message_at"] = self.clock

    def set_status(self, status: str, *, agent: AgentRef | None = None, system: str = "") -> None:
        """Like the services' _change_status, without the transition check: callers here
        only take allowed steps (see TicketFactory.tell)."""
        if status == self.status:
            return
        self.event(EventKind.STATUS, agent=agent, system=system, before=self.status, after=status)
        self.status = status
        if status == Status.SOLVED:
            self.times["solved_at"] = self.clock
            self.times["auto_close_at"] = self.clock + CLOSE_AFTER
        elif status == Status.CLOSED:
            self.times["closed_at"] = self.clock
            self.times["auto_close_at"] = None


class TicketFactory:
    """Turns a position in the two-year window into one complete ticket."""

    def __init__(self, *, rng: random.Random, cast: Cast, total: int, messages_per_ticket: int,
                 taken_references: set[str], now: datetime, values: Values):
        if now.utcoffset() != timedelta(0):
            raise ValueError("seed times must be UTC (Values.time stores them as naive UTC)")
        self.rng, self.cast, self.total, self.now, self.values = rng, cast, total, now, values
        self.writer = Writer(rng)
        self.mean_messages = max(1, messages_per_ticket)
        self.references = taken_references
        self.start = now - WINDOW
        self.tables = TicketTables()

    def reference(self) -> str:
        # 30^8 references: about one collision per million tickets, so the guard is needed.
        while (reference := new_reference()) in self.references:
            pass
        self.references.add(reference)
        return reference

    def created_at(self, position: int) -> datetime:
        # Volume grows over the window (a growing business); ids follow time, as in production.
        u = (position + self.rng.random()) / self.total
        return self.start + WINDOW * u**0.75

    def drawn_status(self, created: datetime) -> str:
        age_days = (self.now - created).total_seconds() / (24 * HOUR)
        for younger_than, statuses, weights in STATUS_BY_AGE:
            if younger_than is None or age_days < younger_than:
                return self.rng.choices(statuses, weights)[0]
        raise AssertionError("STATUS_BY_AGE ends with a catch-all")

    def message_count(self) -> int:
        m = self.mean_messages
        return max(1, round(self.rng.triangular(1, 2 * m - 1, m)))

    def add(self, position: int) -> None:
        rng, cast = self.rng, self.cast
        created = self.created_at(position)
        target = self.drawn_status(created)
        customer = cast.pick_customer(rng)
        channel = (
            rng.choices(*CUSTOMER_CHANNELS)[0] if target == Status.NEW or rng.random() < 0.93
            else rng.choice(AGENT_CHANNELS)
        )
        # Triage routes most new tickets at once; everything past "new" has a group.
        group_id, group_name = (
            rng.choices(cast.groups, cast.group_weights)[0]
            if target != Status.NEW or rng.random() < 0.6 else (None, None)
        )
        members = cast.agents_by_group.get(group_id) or cast.agents
        assignee = rng.choice(members) if target != Status.NEW and rng.random() < 0.92 else None
        tags = rng.sample(cast.tags, rng.choices(*TAG_COUNTS)[0])
        subject, priority = self.writer.subject(), rng.choices(*PRIORITIES)[0]
        ticket_id = self.tables.tickets.next_id
        story = Story(ticket_id=ticket_id, channel=channel, customer=customer, now=self.now,
                      created=created, tables=self.tables, values=self.values)
        self.tell(story, target=target, subject=subject, priority=priority,
                  group_name=group_name, assignee=assignee,
                  responder=assignee or rng.choice(members), tag_names=[n for _, n in tags])
        time = self.values.time
        added = self.tables.tickets.add({
            "reference": self.reference(), "subject": subject, "requester_id": customer.id,
            "organization_id": customer.organization_id, "status": story.status,
            "priority": priority, "channel": channel, "group_id": group_id,
            "assignee_id": assignee.id if assignee else None, "created_at": time(created),
            "updated_at": time(story.clock), **{k: time(v) for k, v in story.times.items()},
        })
        assert added == ticket_id  # the story's rows already point at this id
        for tag_id, _ in tags:
            self.tables.tag_links.add({"ticket_id": ticket_id, "tag_id": tag_id})

    def tell(self, story: Story, *, target: str, subject: str, priority: str,
             group_name: str | None, assignee: AgentRef | None, responder: AgentRef,
             tag_names: list[str]) -> None:
        """Created, routed, a conversation, then the status moves towards ``target``."""
        rng, writer = self.rng, self.writer
        first_name = story.customer.first_name
        by_agent = story.channel in AGENT_CHANNELS
        story.status = Status.OPEN if by_agent else Status.NEW  # as ticket_create decides
        story.event(
            EventKind.CREATED, agent=responder if by_agent else None, customer=not by_agent,
            after={"subject": subject, "status": story.status, "priority": priority,
                   "channel": story.channel, "group": None, "assignee": None, "tags": tag_names},
        )
        if by_agent:
            story.message(writer.agent_reply(customer_first_name=first_name,
                                             agent_name=responder.name), agent=responder)
        else:
            story.message(writer.customer_first_message(first_name=first_name))
        if group_name:
            story.advance(rng, 0.2)
            story.event(EventKind.GROUP, system="routing", after=group_name)
        if assignee:
            story.advance(rng, 1)
            story.event(EventKind.ASSIGNEE, agent=assignee, after=assignee.email)
        if target == Status.NEW:
            return  # nobody has acted yet
        self.converse(story, responder=responder, first_name=first_name)
        story.advance(rng, 6)
        if target != Status.SOLVED:
            story.set_status(target, agent=responder)
            return
        story.set_status(Status.SOLVED, agent=responder)
        # The scheduler closes a solved ticket CLOSE_AFTER later: a ticket solved longer ago
        # is closed, so no seeded row is overdue for the scheduler or closed too soon.
        if story.clock + CLOSE_AFTER < self.now:
            story.clock += CLOSE_AFTER
            story.set_status(Status.CLOSED, system="scheduler")

    def converse(self, story: Story, *, responder: AgentRef, first_name: str) -> None:
        """Replies, follow-ups and notes after the first message; a first reply opens it."""
        rng, writer = self.rng, self.writer
        customer_turn = story.channel in AGENT_CHANNELS
        for _ in range(self.message_count() - 1):
            if customer_turn:
                story.advance(rng, 10)
                story.message(writer.customer_follow_up(first_name=first_name))
                customer_turn = False
            elif rng.random() < 0.25:
                story.advance(rng, 1)
                story.message(writer.note(), agent=responder, internal=True)
            else:
                story.advance(rng, 4)
                story.message(writer.agent_reply(customer_first_name=first_name,
                                                 agent_name=responder.name), agent=responder)
                if story.status == Status.NEW:
                    story.set_status(Status.OPEN, agent=responder)
                customer_turn = True

    def write_batches(self, *, count: int, batch_size: int) -> Iterator[dict[str, int]]:
        """Add ``count`` tickets, writing every ``batch_size``; yields rows written per batch."""
        for first in range(0, count, batch_size):
            for position in range(first, min(first + batch_size, count)):
                self.add(position)
            yield self.tables.write()

    def finish(self) -> None:
        reset_sequences(self.tables.all)


# ---- the database around the load ------------------------------------------------------

def tune_connection_for_bulk_load() -> None:
    """Per-connection settings that only speed up this loading process."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # A big page cache keeps the random-order indexes (reference, requester) in
            # memory while a million rows go in; temporary B-trees stay off disk.
            cursor.execute("PRAGMA cache_size=-1000000")
            cursor.execute("PRAGMA temp_store=MEMORY")
        elif connection.vendor == "postgresql":
            cursor.execute("SET synchronous_commit TO off")  # a crash means: seed again


def analyze() -> None:
    """Fresh planner statistics, as a database in production has them (autovacuum on
    PostgreSQL; ``PRAGMA optimize`` on SQLite). Without them the planner guesses."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def now_utc() -> datetime:
    now = timezone.now().replace(microsecond=0)
    return now.astimezone(UTC)
