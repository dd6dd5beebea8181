"""Build a large, realistic helpdesk history with bulk inserts (the engine behind seed.py).

Import only after ``django.setup()``. Rows are written with ``bulk_create`` in batches, one
transaction per batch, bypassing the services on purpose: the services write one ticket at a
time with its side effects, which would take hours for a million tickets. What the services
guarantee is kept by hand here: the Message check constraints, the status machine
(closed only after solved), timeline events for every message and change, unique contact
points and references, and timestamps that tell one consistent story per ticket.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from corpus import (
    FIRST_NAMES, LAST_NAMES, LOCALES, MAIL_DOMAINS, ORG_ADJECTIVES, ORG_NOUNS, ORG_SUFFIXES, PLANS,
    TAGS, Writer,
)
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from frontdesk.accounts.models import Agent
from frontdesk.accounts.services import agent_create, group_get_or_create
from frontdesk.core.text import text_to_html
from frontdesk.customers.models import ContactKind, ContactPoint, Customer, Organization
from frontdesk.tickets.models import (
    Channel, EventKind, Message, Priority, Status, Tag, Ticket, TicketEvent, Visibility,
    new_reference,
)

WINDOW = timedelta(days=730)  # tickets spread over the last two years
ROWS_PER_INSERT = 1000  # Django lowers it further on SQLite (999 bound parameters)
AGENT_DOMAIN = "bench.frontdesk.test"

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
AGENT_CHANNELS = {Channel.PHONE, Channel.INTERNAL}
# Final status by age: recent tickets are still being worked, old ones are closed.
STATUS_BY_AGE = [  # (younger than N days, statuses, weights)
    (2, [Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED],
     [35, 35, 12, 5, 13]),
    (14, [Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED],
     [4, 26, 20, 8, 30, 12]),
    (45, [Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED],
     [6, 6, 4, 14, 70]),
    (None, [Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED],
     [1, 1, 1, 2, 95]),
]
TAG_COUNTS = ([0, 1, 2, 3], [35, 35, 20, 10])
CLOSE_AFTER = timedelta(hours=settings.FRONTDESK_CLOSE_SOLVED_AFTER_HOURS)
HOUR = 3600.0


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
    touch the database or model instances for lookups."""

    groups: list[tuple[int, str]]
    group_weights: list[int]
    agents_by_group: dict[int, list[AgentRef]]
    agents: list[AgentRef]
    customers: list[CustomerRef]
    tags: list[tuple[int, str]]
    frequent: list[CustomerRef] = field(default_factory=list)

    def __post_init__(self):
        # A few customers write far more often than the rest (power users, resellers).
        self.frequent = self.customers[: max(1, len(self.customers) // 50)]

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


@contextmanager
def explicit_timestamps(*models) -> Iterator[None]:
    """Let bulk_create keep the ``created_at`` we give: ``auto_now_add`` would stamp every
    seeded customer with today's date, and the history would start yesterday."""
    fields = [
        f for model in models for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


class Population:
    """Organizations and customers with unique email (and some phone) contact points."""

    def __init__(self, rng: random.Random, *, since: datetime):
        self.rng = rng
        self.since = since  # customers signed up during the year before the ticket window
        self.taken = set(ContactPoint.objects.values_list("kind", "value"))
        self.org_names = set(Organization.objects.values_list("name", flat=True))
        self.phone_serial = ContactPoint.objects.filter(kind=ContactKind.PHONE).count()

    def _moment(self) -> datetime:
        return self.since + timedelta(seconds=self.rng.uniform(0, 365 * 24 * HOUR))

    def organizations(self, count: int) -> list[tuple[int, str]]:
        rng, built = self.rng, []
        while len(built) < count:
            name = f"{rng.choice(ORG_ADJECTIVES)} {rng.choice(ORG_NOUNS)} {rng.choice(ORG_SUFFIXES)}"
            if name in self.org_names:
                name = f"{name} {len(self.org_names) + 1}"  # the word lists run out; stay unique
            self.org_names.add(name)
            domain = name.lower().replace(" ", "-") + ".example"
            moment = self._moment()
            built.append(Organization(
                name=name, domains=[domain], plan=rng.choice(PLANS), created_at=moment,
                updated_at=moment,
            ))
        with explicit_timestamps(Organization), transaction.atomic():
            Organization.objects.bulk_create(built, batch_size=ROWS_PER_INSERT)
        return [(org.pk, org.domains[0]) for org in built]

    def _unique(self, kind: str, value: str) -> str:
        candidate, n = value, 1
        while (kind, candidate) in self.taken:
            n += 1
            local, _, domain = value.partition("@")
            candidate = f"{local}{n}@{domain}"
        self.taken.add((kind, candidate))
        return candidate

    def customers(self, count: int, organizations: list[tuple[int, str]]) -> None:
        rng = self.rng
        people, points = [], []
        for _ in range(count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            org_id, domain = (
                rng.choice(organizations) if organizations and rng.random() < 0.6
                else (None, rng.choice(MAIL_DOMAINS))
            )
            locale, zone = rng.choice(LOCALES)
            moment = self._moment()
            person = Customer(
                name=f"{first} {last}", organization_id=org_id, locale=locale, time_zone=zone,
                plan=rng.choice(PLANS), created_at=moment, updated_at=moment,
            )
            people.append(person)
            local = f"{first}.{last}".lower().replace("'", "").replace(" ", "")
            email = self._unique(ContactKind.EMAIL, f"{local}@{domain}")
            points.append(ContactPoint(
                customer=person, kind=ContactKind.EMAIL, value=email, is_primary=True,
                created_at=moment,
            ))
            if rng.random() < 0.3:
                self.phone_serial += 1
                phone = self._unique(ContactKind.PHONE, f"+1555{self.phone_serial:07d}")
                points.append(ContactPoint(
                    customer=person, kind=ContactKind.PHONE, value=phone, created_at=moment,
                ))
        with explicit_timestamps(Customer, ContactPoint), transaction.atomic():
            Customer.objects.bulk_create(people, batch_size=ROWS_PER_INSERT)
            ContactPoint.objects.bulk_create(points, batch_size=ROWS_PER_INSERT)


def load_customers() -> list[CustomerRef]:
    rows = Customer.objects.filter(merged_into__isnull=True).order_by("pk")
    return [
        CustomerRef(pk, org_id, (name.split() or ["there"])[0])
        for pk, org_id, name in rows.values_list("pk", "organization_id", "name").iterator()
    ]


# ---- tickets ---------------------------------------------------------------------------

@dataclass
class Batch:
    tickets: list[Ticket] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    events: list[TicketEvent] = field(default_factory=list)
    tag_links: list = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.tickets) + len(self.messages) + len(self.events) + len(self.tag_links)

    def write(self) -> None:
        # Order matters: each bulk_create fills in the primary keys the next one refers to.
        with transaction.atomic():
            Ticket.objects.bulk_create(self.tickets, batch_size=ROWS_PER_INSERT)
            Message.objects.bulk_create(self.messages, batch_size=ROWS_PER_INSERT)
            TicketEvent.objects.bulk_create(self.events, batch_size=ROWS_PER_INSERT)
            Ticket.tags.through.objects.bulk_create(self.tag_links, batch_size=ROWS_PER_INSERT)


class Story:
    """One ticket's life, written as rows: messages, events and the ticket's own timestamps."""

    def __init__(self, *, ticket: Ticket, batch: Batch, customer: CustomerRef, now: datetime):
        self.ticket, self.batch, self.customer, self.now = ticket, batch, customer, now
        self.clock = ticket.created_at
        self.status = Status.NEW

    def advance(self, rng: random.Random, mean_hours: float) -> datetime:
        """Move the clock by a random gap, never past now (the present ends every story)."""
        self.clock = min(self.clock + timedelta(seconds=rng.expovariate(1 / (mean_hours * HOUR))),
                         self.now - timedelta(seconds=1))
        return self.clock

    def event(self, kind: str, *, agent: AgentRef | None = None, customer: bool = False,
              system: str = "", before=None, after=None, message: Message | None = None) -> None:
        self.batch.events.append(TicketEvent(
            ticket=self.ticket, kind=kind, actor_agent_id=agent.id if agent else None,
            actor_customer_id=self.customer.id if customer else None, actor_system=system,
            before=before, after=after, message=message, created_at=self.clock,
        ))

    def message(self, body: str, *, agent: AgentRef | None = None, internal: bool = False) -> None:
        ticket = self.ticket
        msg = Message(
            ticket=ticket,
            visibility=Visibility.INTERNAL if internal else Visibility.PUBLIC,
            # The check constraints: exactly one author; internal notes only by agents.
            author_agent_id=agent.id if agent else None,
            author_customer_id=None if agent else self.customer.id,
            channel=Channel.INTERNAL if internal else ticket.channel,
            body_text=body, body_html=text_to_html(body), created_at=self.clock,
        )
        self.batch.messages.append(msg)
        if internal:
            self.event(EventKind.NOTE, agent=agent, message=msg)
        elif agent:
            self.event(EventKind.REPLY, agent=agent, message=msg)
            ticket.last_agent_reply_at = self.clock
        else:
            self.event(EventKind.CUSTOMER_MESSAGE, customer=True, message=msg)
            ticket.last_customer_message_at = self.clock

    def set_status(self, status: str, *, agent: AgentRef | None = None, system: str = "") -> None:
        if status == self.status:
            return
        self.event(EventKind.STATUS, agent=agent, system=system, before=self.status, after=status)
        self.status = status
        if status == Status.SOLVED:
            self.ticket.solved_at = self.clock
            self.ticket.auto_close_at = self.clock + CLOSE_AFTER
        elif status == Status.CLOSED:
            self.ticket.closed_at = self.clock
            self.ticket.auto_close_at = None


class TicketFactory:
    """Turns a position in the two-year window into one complete ticket."""

    def __init__(self, *, rng: random.Random, cast: Cast, total: int, messages_per_ticket: int,
                 taken_references: set[str], now: datetime):
        self.rng, self.cast, self.total, self.now = rng, cast, total, now
        self.writer = Writer(rng)
        self.mean_messages = max(1, messages_per_ticket)
        self.references = taken_references
        self.start = now - WINDOW

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

    def final_status(self, created: datetime) -> str:
        age_days = (self.now - created).total_seconds() / (24 * HOUR)
        for younger_than, statuses, weights in STATUS_BY_AGE:
            if younger_than is None or age_days < younger_than:
                return self.rng.choices(statuses, weights)[0]
        raise AssertionError("STATUS_BY_AGE ends with a catch-all")

    def message_count(self) -> int:
        m = self.mean_messages
        return max(1, round(self.rng.triangular(1, 2 * m - 1, m)))

    def add(self, batch: Batch, position: int) -> None:
        rng, cast = self.rng, self.cast
        created = self.created_at(position)
        final = self.final_status(created)
        customer = cast.pick_customer(rng)
        channel = (
            rng.choices(*CUSTOMER_CHANNELS)[0] if final == Status.NEW or rng.random() < 0.93
            else rng.choice(sorted(AGENT_CHANNELS))
        )
        group_id, group_name = (
            rng.choices(cast.groups, cast.group_weights)[0]
            if final != Status.NEW or rng.random() < 0.6 else (None, None)
        )
        members = cast.agents_by_group.get(group_id) or cast.agents
        assignee = rng.choice(members) if final != Status.NEW and rng.random() < 0.92 else None
        tags = rng.sample(cast.tags, rng.choices(*TAG_COUNTS)[0])
        ticket = Ticket(
            reference=self.reference(), subject=self.writer.subject(), requester_id=customer.id,
            organization_id=customer.organization_id, status=final,
            priority=rng.choices(*PRIORITIES)[0], channel=channel, group_id=group_id,
            assignee_id=assignee.id if assignee else None, created_at=created,
        )
        batch.tickets.append(ticket)
        tag_link = Ticket.tags.through
        batch.tag_links.extend(tag_link(ticket=ticket, tag_id=tag_id) for tag_id, _ in tags)
        story = Story(ticket=ticket, batch=batch, customer=customer, now=self.now)
        self.tell(story, final=final, group_name=group_name, assignee=assignee,
                  responder=assignee or rng.choice(members), tag_names=[n for _, n in tags])
        ticket.updated_at = story.clock

    def tell(self, story: Story, *, final: str, group_name: str | None,
             assignee: AgentRef | None, responder: AgentRef, tag_names: list[str]) -> None:
        """Created, routed, a conversation, then the status moves to ``final``."""
        rng, writer, ticket = self.rng, self.writer, story.ticket
        first_name = story.customer.first_name
        by_agent = ticket.channel in AGENT_CHANNELS
        story.status = Status.OPEN if by_agent else Status.NEW
        story.event(
            EventKind.CREATED, agent=responder if by_agent else None, customer=not by_agent,
            after={"subject": ticket.subject, "status": story.status, "priority": ticket.priority,
                   "channel": ticket.channel, "group": None, "assignee": None, "tags": tag_names},
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
        if final == Status.NEW:
            return  # nobody has acted yet
        self.converse(story, responder=responder, first_name=first_name)
        story.advance(rng, 6)
        if final == Status.CLOSED:
            story.set_status(Status.SOLVED, agent=responder)
            story.clock = min(story.clock + CLOSE_AFTER, self.now - timedelta(seconds=1))
            story.set_status(Status.CLOSED, system="scheduler")
        else:
            story.set_status(final, agent=responder)

    def converse(self, story: Story, *, responder: AgentRef, first_name: str) -> None:
        """Replies, follow-ups and notes after the first message; a first reply opens it."""
        rng, writer = self.rng, self.writer
        customer_turn = story.ticket.channel in AGENT_CHANNELS
        for _ in range(self.message_count() - 1):
            if customer_turn:
                story.advance(rng, 10)
                story.message(writer.customer_follow_up(first_name=first_name))
                if story.status == Status.PENDING:
                    story.set_status(Status.OPEN, system="customer reply")
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


# ---- the whole run ---------------------------------------------------------------------

def tune_connection_for_bulk_load() -> None:
    """Per-connection settings that only speed up this loading process."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            # A big page cache keeps the random-order indexes (reference, requester) in
            # memory while a million rows go in; temp B-trees stay off disk.
            cursor.execute("PRAGMA cache_size=-1000000")
            cursor.execute("PRAGMA temp_store=MEMORY")
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")  # a crash means: seed again


def analyze() -> None:
    """Fresh planner statistics, as a database in production would have (autovacuum on
    PostgreSQL; ``PRAGMA optimize`` on SQLite). Without them the planner guesses."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def ticket_batches(factory: TicketFactory, *, count: int, batch_size: int) -> Iterator[Batch]:
    for first in range(0, count, batch_size):
        batch = Batch()
        for position in range(first, min(first + batch_size, count)):
            factory.add(batch, position)
        yield batch


def now_utc() -> datetime:
    return timezone.now().replace(microsecond=0)
