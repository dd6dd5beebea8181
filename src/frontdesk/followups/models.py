"""Nothing falls through: the waiting-on-customer ladder, how tickets were solved, agent
follow-ups (the tickle file) and scheduled sends, snoozes, post-solve check-ins, and the
settings that drive them.

Every time-driven row has a nullable due-time column listed in ``frontdesk/schedules.py``;
the clock claims it (sets it to NULL) and hands the row's id to a task, which re-checks
under the ticket's row lock. Nothing here writes ``Ticket`` columns: ticket changes go
through ``tickets.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from frontdesk.tickets.models import Message, Ticket, TicketEvent


class LadderScope(models.TextChoices):
    GLOBAL = "global", "Everything (default)"
    INBOX = "inbox", "One inbox"
    PLAN = "plan", "One plan"


DEFAULT_REMINDER_TEXT = (
    "Hello {name},\n\nwe are waiting for your answer on \"{subject}\" (ticket {reference}). "
    "Is there anything else we can do? Just reply to this message."
)
DEFAULT_SOLVE_TEXT = (
    "Hello {name},\n\nas we have not heard back from you, we consider \"{subject}\" "
    "(ticket {reference}) solved. If you still need help, just reply: your answer reopens it."
)


class LadderPolicy(models.Model):
    """When to remind a customer we are waiting on, and when to solve without an answer.

    One row per scope: the global default, or an override for one inbox (its id in the
    ``mail`` app, stored as a plain number so this app need not import mail) or one plan
    (``Customer.plan``, else ``Organization.plan``). Days are business days of ``calendar``
    (the default calendar when empty). A 0 skips that step.
    """

    scope = models.CharField(max_length=10, choices=LadderScope.choices, default=LadderScope.GLOBAL)
    inbox_id = models.PositiveIntegerField(null=True, blank=True, help_text="mail.Inbox id (inbox scope).")
    plan = models.CharField(max_length=100, blank=True, help_text="Plan name (plan scope).")
    enabled = models.BooleanField(default=True)
    first_reminder_days = models.PositiveSmallIntegerField(default=2)
    second_reminder_days = models.PositiveSmallIntegerField(default=4)
    solve_after_days = models.PositiveSmallIntegerField(default=7)
    calendar = models.ForeignKey(
        "calendars.BusinessCalendar", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reminder_text = models.TextField(default=DEFAULT_REMINDER_TEXT)
    solve_text = models.TextField(default=DEFAULT_SOLVE_TEXT)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope"], condition=models.Q(scope="global"), name="ladder_one_global"),
            models.UniqueConstraint(
                fields=["inbox_id"], condition=models.Q(scope="inbox"), name="ladder_one_per_inbox"),
            models.UniqueConstraint(fields=["plan"], condition=models.Q(scope="plan"), name="ladder_one_per_plan"),
            models.CheckConstraint(
                condition=models.Q(scope="global", inbox_id__isnull=True, plan="")
                | models.Q(scope="inbox", inbox_id__isnull=False, plan="")
                | (models.Q(scope="plan", inbox_id__isnull=True) & ~models.Q(plan="")),
                name="ladder_scope_fields",
            ),
        ]

    def __str__(self) -> str:
        if self.scope == LadderScope.INBOX:
            return f"Ladder for inbox {self.inbox_id}"
        if self.scope == LadderScope.PLAN:
            return f"Ladder for plan {self.plan}"
        return "Default ladder"


class LadderState(models.TextChoices):
    ACTIVE = "active", "Running"
    STOPPED = "stopped", "Stopped"
    FINISHED = "finished", "Solved by the ladder"


class Ladder(models.Model):
    """One run of the ladder on a ticket, started by the status event that made it pending.

    ``steps`` is the schedule fixed at the start (a policy edit affects later ladders only):
    ``[{"action": "reminder"|"auto_solve", "days": n, "due": iso}]``; ``step`` counts the
    steps done. ``next_step_at`` is the clock's due column for ``steps[step]``.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="ladders")
    start_event = models.OneToOneField(TicketEvent, on_delete=models.CASCADE, related_name="+")
    policy = models.ForeignKey(LadderPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField()
    steps = models.JSONField(default=list)
    step = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(max_length=10, choices=LadderState.choices, default=LadderState.ACTIVE)
    next_step_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The newest message on the ticket when this began: a customer message with a larger id
    # came after it (ids grow in commit order per ticket: inserts hold the ticket's lock).
    seen_message_id = models.PositiveBigIntegerField(default=0)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket"], condition=models.Q(state="active"), name="ladder_one_active"),
        ]

    def __str__(self) -> str:
        return f"ladder {self.pk} on ticket {self.ticket_id} ({self.state}, step {self.step})"


class ResolutionKind(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed by customer"
    SILENT = "silent", "Solved without an answer (ladder)"
    AGENT = "agent", "Solved by agent"


class Resolution(models.Model):
    """How a ticket was solved, one row per status event that solved it (a ticket solved,
    reopened and solved again has two), for reports."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="resolutions")
    status_event = models.OneToOneField(TicketEvent, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=ResolutionKind.choices)
    solved_at = models.DateTimeField(db_index=True)
    solved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["kind", "solved_at"], name="resolution_kind_solved")]

    def __str__(self) -> str:
        return f"{self.kind} resolution of ticket {self.ticket_id}"


class FollowUpKind(models.TextChoices):
    REMINDER = "reminder", "Reminder to the owner"
    SCHEDULED_SEND = "scheduled_send", "Scheduled reply to the customer"


class FollowUpState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    DUE = "due", "Due"
    DONE = "done", "Done"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Cancelled"


OPEN_FOLLOW_UP_STATES = (FollowUpState.SCHEDULED, FollowUpState.DUE)


class FollowUp(models.Model):
    """An agent's follow-up on a ticket (the tickle file): a reminder to its owner at
    ``due_at``, or a reply written now and sent as the owner's public reply at ``due_at``.

    ``fire_at`` is the clock's due column: equal to ``due_at`` while scheduled, NULL once
    claimed. ``source_event`` makes follow-ups created from an event (a bad rating) unique.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="agent_follow_ups")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=FollowUpKind.choices, default=FollowUpKind.REMINDER)
    due_at = models.DateTimeField()
    note = models.TextField(blank=True)
    body = models.TextField(blank=True, help_text="The reply a scheduled send posts.")
    cancel_if_customer_writes = models.BooleanField(default=False)
    # The newest message on the ticket when this began: a customer message with a larger id
    # came after it (ids grow in commit order per ticket: inserts hold the ticket's lock).
    seen_message_id = models.PositiveBigIntegerField(default=0)
    state = models.CharField(max_length=10, choices=FollowUpState.choices, default=FollowUpState.SCHEDULED)
    fire_at = models.DateTimeField(null=True, blank=True, db_index=True)
    source_event = models.OneToOneField(
        TicketEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    fired_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["owner", "state", "due_at"], name="followup_owner_state_due"),
            models.Index(fields=["state", "due_at"], name="followup_state_due"),
            models.Index(fields=["ticket", "state"], name="followup_ticket_state"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=FollowUpKind.values), name="followup_kind_valid"),
            models.CheckConstraint(condition=models.Q(state__in=FollowUpState.values), name="followup_state_valid"),
        ]

    def __str__(self) -> str:
        return f"follow-up {self.pk} on ticket {self.ticket_id} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_FOLLOW_UP_STATES


class Snooze(models.Model):
    """A ticket hidden from the inbox until ``until`` or until its customer writes, whichever
    comes first. The row exists only while the snooze lasts (its history is in the timeline),
    keyed by the ticket, so the inbox's "not snoozed" test is one primary-key probe into a
    small table per candidate row. ``wake_at`` is the clock's due column."""

    ticket = models.OneToOneField(Ticket, primary_key=True, on_delete=models.CASCADE, related_name="snooze")
    until = models.DateTimeField()
    wake_at = models.DateTimeField(null=True, blank=True, db_index=True)
    snoozed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)
    # The newest message on the ticket when this began: a customer message with a larger id
    # came after it (ids grow in commit order per ticket: inserts hold the ticket's lock).
    seen_message_id = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"ticket {self.ticket_id} snoozed until {self.until:%Y-%m-%d %H:%M}"


class CheckInState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Skipped"


class CheckIn(models.Model):
    """"Is everything still working?" N days after a solve: one per solving status event."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="check_ins")
    solve_event = models.OneToOneField(TicketEvent, on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField()
    send_at = models.DateTimeField(null=True, blank=True, db_index=True)
    state = models.CharField(max_length=10, choices=CheckInState.choices, default=CheckInState.SCHEDULED)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return f"check-in on ticket {self.ticket_id} ({self.state})"


DEFAULT_CHECK_IN_TEXT = (
    "Hello {name},\n\na few days ago we solved \"{subject}\" (ticket {reference}). "
    "Is everything still working? If not, just reply to this message and we will pick it up again."
)


class FollowupSettings(models.Model):
    """The one settings row (pk 1) of the app; empty values fall back to the environment."""

    close_solved_after_hours = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="Solved tickets close after this many hours (empty: FRONTDESK_CLOSE_SOLVED_AFTER_HOURS).",
    )
    check_in_enabled = models.BooleanField(default=False)
    check_in_days = models.PositiveSmallIntegerField(default=3)
    check_in_plans = models.JSONField(default=list, blank=True, help_text="Only these plans (empty: any).")
    check_in_tags = models.JSONField(
        default=list, blank=True, help_text="Only tickets with one of these tags (empty: any).")
    check_in_text = models.TextField(default=DEFAULT_CHECK_IN_TEXT)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "follow-up settings"

    def __str__(self) -> str:
        return "Follow-up settings"
