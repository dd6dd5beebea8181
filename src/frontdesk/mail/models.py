"""Email: inboxes and IMAP mailboxes, every inbound message as stored raw, every outbound
message with its delivery status."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from frontdesk.core.models import TimeStampedModel

ACK_DEFAULT = (
    "Hello {name},\n\n"
    "We have received your message and opened ticket {reference}.{promise} You can simply reply to "
    "this email to add anything; your reply goes straight to the same conversation.\n\n"
    "{inbox}"
)


class Inbox(TimeStampedModel):
    """A receiving address. Decides the group new tickets go to, the identity replies are
    sent from, and the acknowledgement text."""

    name = models.CharField(max_length=100)
    address = models.EmailField(unique=True, help_text="Mail to this address lands here.")
    group = models.ForeignKey(
        "accounts.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="inboxes"
    )
    from_name = models.CharField(max_length=100, blank=True, help_text="Display name of replies.")
    is_default = models.BooleanField(
        default=False, help_text="Receives mail for addresses that match no inbox."
    )
    acknowledge = models.BooleanField(default=True, help_text="Acknowledge new tickets by email.")
    ack_text = models.TextField(default=ACK_DEFAULT)

    class Meta:
        verbose_name_plural = "inboxes"
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_inbox"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"


class Mailbox(TimeStampedModel):
    """An IMAP mailbox polled for an inbox. Its credentials live here and nowhere else."""

    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="mailboxes")
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=993)
    use_ssl = models.BooleanField(default=True, help_text="Implicit TLS (993); otherwise STARTTLS.")
    username = models.CharField(max_length=255)
    password = models.CharField(max_length=255)
    folder = models.CharField(max_length=255, default="INBOX")
    move_to = models.CharField(max_length=255, blank=True, help_text="Move stored mail here; empty: mark seen.")
    enabled = models.BooleanField(default=True)
    poll_interval_seconds = models.PositiveIntegerField(default=60)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # Due time claimed by the scheduler (frontdesk/schedules.py).
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.username}@{self.host}/{self.folder}"


class InboundStatus(models.TextChoices):
    RECEIVED = "received", "Received, not processed yet"
    PROCESSED = "processed", "Processed"
    DUPLICATE = "duplicate", "Duplicate of an earlier message"
    BOUNCE = "bounce", "Delivery report"
    IGNORED = "ignored", "Ignored (loop, or sent to the no-reply address)"
    FAILED = "failed", "Failed: kept raw, can be reprocessed"


class InboundMessage(models.Model):
    """One message as received. The raw bytes are in the spool and never deleted by
    processing; this row says where it came from and what became of it."""

    spool_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveBigIntegerField()
    source = models.CharField(max_length=10, default="smtp")  # smtp | imap
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL)
    envelope_from = models.CharField(max_length=320, blank=True)
    envelope_to = models.JSONField(default=list)
    peer = models.CharField(max_length=100, blank=True)
    tls = models.BooleanField(default=False)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    status = models.CharField(max_length=10, choices=InboundStatus.choices, default=InboundStatus.RECEIVED)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=998, blank=True, db_index=True)
    from_address = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=250, blank=True)
    automated = models.CharField(max_length=100, blank=True, help_text="Why it counts as automated mail.")
    flags = models.JSONField(default=list, blank=True)
    inbox = models.ForeignKey(Inbox, null=True, blank=True, on_delete=models.SET_NULL)
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_mail"
    )
    # The conversation message this mail became (``message_id`` is the Message-ID header).
    ticket_message = models.OneToOneField(
        "tickets.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_mail"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=InboundStatus.values), name="inbound_status_valid")
        ]

    def __str__(self) -> str:
        return f"{self.from_address or self.envelope_from or '?'}: {self.subject or '(no subject)'}"


class OutboundKind(models.TextChoices):
    REPLY = "reply", "Agent reply"
    ACK = "ack", "Acknowledgement"
    NOTIFICATION = "notification", "Notification"
    AUTOMATIC = "automatic", "Automatic message (reminder, update, check-in)"
    AGENT = "agent", "Notification to an agent"


class OutboundStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"
    DELAYED = "delayed", "Delayed (reported by the receiving server)"
    BOUNCED = "bounced", "Bounced"


class OutboundMessage(models.Model):
    """One email we send. Its Message-ID is fixed when it is queued, so every retry is the
    same message to the recipient's server."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="outbound_mail")
    ticket_message = models.ForeignKey(
        "tickets.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="outbound_mail"
    )
    inbox = models.ForeignKey(Inbox, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=15, choices=OutboundKind.choices)
    auto_submitted = models.CharField(max_length=20, blank=True, help_text="RFC 3834 value, empty for people's mail.")
    from_address = models.CharField(max_length=320)
    from_name = models.CharField(max_length=100, blank=True)
    reply_to = models.CharField(max_length=320)
    recipient = models.CharField(max_length=320, db_index=True, help_text="The first To address, for rate limits.")
    to_addresses = models.JSONField(default=list)
    cc_addresses = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    # The signed link to the conversation on the web, shown in the footer (portal.services).
    conversation_url = models.CharField(max_length=500, blank=True)
    message_id = models.CharField(max_length=250, unique=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=OutboundStatus.choices, default=OutboundStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    # Kind "agent": the agent notification this email carries (one email per notification).
    notification = models.OneToOneField(
        "notifications.Notification", null=True, blank=True, on_delete=models.SET_NULL, related_name="email"
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="outbound_ticket_created")]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=OutboundStatus.values), name="outbound_status_valid")
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {', '.join(self.to_addresses)} ({self.status})"


def spool_dir():
    return settings.FRONTDESK_HOME / "spool"


def outbox_dir():
    return settings.FRONTDESK_HOME / "outbox"
