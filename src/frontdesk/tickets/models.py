"""Tickets, their messages and attachments, and the timeline of events (the audit trail)."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from frontdesk.customers.models import Customer, Organization

# No 0/O, 1/I/L, U: a reference read out over the phone must not be misheard.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LENGTH = 8


def new_reference() -> str:
    """A short public label for a ticket. Random, so it reveals no volume; not the primary key."""
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


class Status(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending (waiting on customer)"
    ON_HOLD = "on_hold", "On hold"
    SOLVED = "solved", "Solved"
    CLOSED = "closed", "Closed"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    WEB = "web", "Web form"
    PORTAL = "portal", "Customer portal"
    CHAT = "chat", "Live chat"
    PHONE = "phone", "Phone / callback"
    SMS = "sms", "SMS"
    SOCIAL = "social", "Social"
    API = "api", "API"
    INTERNAL = "internal", "Internal"


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    reference = models.CharField(max_length=16, unique=True, default=new_reference, editable=False)
    subject = models.CharField(max_length=250)
    requester = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets")
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    group = models.ForeignKey(
        "accounts.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    # Other customers in the conversation: they may write on it and are copied on its public
    # replies. Never the requester (services keep it so; readers also skip it, as a customer
    # merge can fold a CC into the requester).
    ccs = models.ManyToManyField(Customer, blank=True, related_name="cc_tickets")
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    follow_up_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    last_agent_reply_at = models.DateTimeField(null=True, blank=True)
    # Due time claimed by the scheduler (frontdesk/schedules.py): solved → closed.
    auto_close_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Written only by the sla app: the earliest due time of the ticket's running SLA timers
    # (overdue ones included), for the inbox's "next SLA due" order and its badges.
    sla_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=Status.values), name="ticket_status_valid"),
            models.CheckConstraint(
                condition=models.Q(priority__in=Priority.values), name="ticket_priority_valid"
            ),
            models.CheckConstraint(condition=models.Q(channel__in=Channel.values), name="ticket_channel_valid"),
        ]
        indexes = [
            models.Index(fields=["-updated_at", "-id"], name="ticket_updated"),
            models.Index(fields=["-created_at", "-id"], name="ticket_created"),
            models.Index(fields=["group", "-updated_at"], name="ticket_group_updated"),
            models.Index(fields=["assignee", "-updated_at"], name="ticket_assignee_updated"),
            # The inbox views (status, plus assignee or group) and their capped counts: the
            # filter is an exact range of one of these, in page order, and the trailing
            # columns are what the visibility check (group, assignee) reads, so a count never
            # visits the table and a page visits it only for the rows it shows.
            models.Index(fields=["status", "-updated_at", "-id", "group", "assignee"], name="ticket_status_list"),
            models.Index(fields=["assignee", "status", "-updated_at", "-id", "group"], name="ticket_assignee_list"),
            models.Index(fields=["group", "status", "-updated_at", "-id", "assignee"], name="ticket_group_list"),
            models.Index(fields=["requester", "-created_at"], name="ticket_requester_created"),
            # "Next SLA due": an ordered walk of the tickets with a running timer only (the
            # index holds no other row), with the columns the status and visibility filters read.
            models.Index(fields=["sla_due_at", "id", "status", "group", "assignee"], name="ticket_sla_due",
                         condition=models.Q(sla_due_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"[{self.reference}] {self.subject}"


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public reply"
    INTERNAL = "internal", "Internal note"


# What an automatic message is for ("reminder", "sla_update", "check_in", …): a slug.
AUTOMATIC_PURPOSE_MAX_LENGTH = 30


class Message(models.Model):
    """One entry of the conversation, written by an agent or by the customer — or, when
    ``automatic`` names its purpose, by Frontdesk itself (a reminder, a delay update)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    visibility = models.CharField(max_length=10, choices=Visibility.choices)
    author_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    author_customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    body_text = models.TextField()
    body_html = models.TextField(help_text="Sanitized with nh3 before it is stored.")
    automatic = models.CharField(
        max_length=AUTOMATIC_PURPOSE_MAX_LENGTH, blank=True,
        help_text="Set on public messages Frontdesk wrote itself: their purpose (e.g. reminder).",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="message_ticket_created")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(author_agent__isnull=False, author_customer__isnull=True, automatic="")
                    | models.Q(author_agent__isnull=True, author_customer__isnull=False, automatic="")
                    | (models.Q(author_agent__isnull=True, author_customer__isnull=True)
                       & ~models.Q(automatic=""))
                ),
                name="message_one_author",
            ),
            models.CheckConstraint(
                condition=~models.Q(visibility=Visibility.INTERNAL) | models.Q(author_agent__isnull=False),
                name="message_notes_by_agents",
            ),
            models.CheckConstraint(
                condition=models.Q(visibility__in=Visibility.values), name="message_visibility_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.visibility} message {self.pk} on ticket {self.ticket_id}"

    @property
    def is_public(self) -> bool:
        return self.visibility == Visibility.PUBLIC

    @property
    def author(self):
        return self.author_agent or self.author_customer

    @property
    def author_label(self) -> str:
        if self.automatic:
            return "Automatic message"
        return self.author_agent.name if self.author_agent_id else str(self.author_customer)


class Attachment(models.Model):
    """A file of a message. Stored outside any served folder; reached by ``public_id`` only
    through a permission-checked download."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=127)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    stored_name = models.CharField(max_length=100, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


class EventKind(models.TextChoices):
    CREATED = "created", "Ticket created"
    REPLY = "reply", "Public reply"
    CUSTOMER_MESSAGE = "customer_message", "Customer message"
    NOTE = "note", "Internal note"
    STATUS = "status", "Status changed"
    PRIORITY = "priority", "Priority changed"
    GROUP = "group", "Group changed"
    ASSIGNEE = "assignee", "Assignee changed"
    TAGS = "tags", "Tags changed"
    MERGED = "merged", "Another ticket merged into this one"
    MERGED_INTO = "merged_into", "Merged into another ticket"
    FOLLOW_UP = "follow_up", "Follow-up ticket opened"
    DELIVERY = "delivery", "Delivery of a message to the customer changed"
    CCS = "ccs", "CCs changed"
    AUTOMATIC = "automatic", "Automatic message to the customer"
    GOODWILL = "goodwill", "Goodwill gesture"
    LADDER = "ladder", "Waiting-on-customer ladder step"
    RESOLUTION = "resolution", "How the ticket was solved"
    AGENT_FOLLOW_UP = "agent_follow_up", "Agent follow-up"
    SNOOZE = "snooze", "Snoozed or woken"
    CHECK_IN = "check_in", "Post-solve check-in"
    SURVEY = "survey", "Satisfaction survey sent"
    SATISFACTION = "satisfaction", "Satisfaction rating"
    SLA = "sla", "SLA timer changed"
    INCIDENT = "incident", "Incident linked, updated or resolved"


class TicketEvent(models.Model):
    """One change to a ticket: who, when, what, before and after. Written in the same
    transaction as the change itself; never updated or deleted."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    actor_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_system = models.CharField(
        max_length=50, blank=True, help_text="Set when no person acted (scheduler, integration)."
    )
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="event_ticket_created")]

    def __str__(self) -> str:
        return f"{self.kind} on ticket {self.ticket_id} by {self.actor_label}"

    @property
    def actor_label(self) -> str:
        if self.actor_agent_id:
            return self.actor_agent.name
        if self.actor_customer_id:
            return str(self.actor_customer)
        return self.actor_system or "system"
