"""Satisfaction: the survey settings, one survey per ticket (the one email), one rating per ticket."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from frontdesk.customers.models import Customer
from frontdesk.tickets.models import Channel, Ticket

MAX_COMMENT_CHARS = 2000


class Score(models.TextChoices):
    GOOD = "good", "Good"
    BAD = "bad", "Bad"


class RatedVia(models.TextChoices):
    EMAIL = "email", "Survey email link"
    CONVERSATION = "conversation", "Conversation page"


class CsatSettings(models.Model):
    """The one row (pk=1) of survey settings; ``selectors.csat_settings()`` creates it."""

    enabled = models.BooleanField(default=True, help_text="Send satisfaction surveys at all.")
    delay_minutes = models.PositiveIntegerField(
        default=60, help_text="Minutes after the solve before the survey goes out (time to reopen a mistake).",
    )
    after_automatic_solve = models.BooleanField(
        default=False, help_text="Also survey tickets solved by Frontdesk itself (e.g. no reply to reminders).",
    )
    excluded_channels = models.JSONField(
        default=list, blank=True, help_text="Channels whose tickets get no survey email.",
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "satisfaction settings"
        verbose_name_plural = "satisfaction settings"

    def __str__(self) -> str:
        return "satisfaction settings"


class Survey(models.Model):
    """The survey of one ticket: at most one per ticket, so at most one survey email per ticket.

    ``send_at`` is the due time the clock claims (frontdesk/schedules.py); ``sent_at`` is set
    once, under a lock, when the survey is handed to mail; a ticket solved again later keeps
    its one survey. The links' nonce is stored as a SHA-256 only; ``revoked_at`` (or a new
    nonce) kills every link mailed for it.
    """

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="survey")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="surveys")
    # The assignee when the ticket was (last) solved: whose work the rating is about.
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    solved_at = models.DateTimeField()
    send_at = models.DateTimeField(null=True, blank=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    nonce_hash = models.CharField(max_length=64, blank=True)
    links_issued_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # A sent survey is never due again.
            models.CheckConstraint(
                condition=models.Q(send_at__isnull=True) | models.Q(sent_at__isnull=True),
                name="survey_sent_not_due",
            ),
        ]

    def __str__(self) -> str:
        return f"survey of ticket {self.ticket_id}"


class Rating(models.Model):
    """The customer's one rating of a ticket (changeable), with snapshots for the reports:
    who was assigned, group, plan and channel when it was given."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="rating")
    score = models.CharField(max_length=4, choices=Score.choices)
    comment = models.TextField(blank=True, help_text="Plain text, as the customer wrote it (escaped when shown).")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="ratings")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="ratings"
    )
    group = models.ForeignKey(
        "accounts.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="ratings"
    )
    plan = models.CharField(max_length=100, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    via = models.CharField(max_length=12, choices=RatedVia.choices)
    created_at = models.DateTimeField(default=timezone.now)
    # When the current score was given (a changed score moves it; a comment alone does not):
    # the reports count a rating in the period of this time.
    rated_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(score__in=Score.values), name="rating_score_valid"),
        ]
        indexes = [
            models.Index(fields=["rated_at"], name="rating_rated"),
            models.Index(fields=["group", "rated_at"], name="rating_group_rated"),
            models.Index(fields=["agent", "rated_at"], name="rating_agent_rated"),
            models.Index(fields=["customer", "rated_at"], name="rating_customer_rated"),
        ]

    def __str__(self) -> str:
        return f"{self.score} rating of ticket {self.ticket_id}"
