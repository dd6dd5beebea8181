"""SLA policies, the timers they start on tickets, and the billing record of expedited tickets.

A policy says which tickets it covers (conditions), on which business calendar its targets
run, and the targets per metric and priority in business minutes. A timer is one metric's
clock on one ticket (one row per ticket, metric and cycle: the next response restarts with
every customer message that waits for an answer); its targets are frozen when it starts, so
editing a policy never changes a running timer. ``next_check_at`` is the timer's due work
(frontdesk/schedules.py): the warning point, then the breach point.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Metric(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response"
    NEXT_RESPONSE = "next_response", "Next response"
    RESOLUTION = "resolution", "Resolution"


RESPONSE_METRICS = (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE)


class ActionKind(models.TextChoices):
    NOTIFY = "notify", "Notify the assignee and the group lead"
    RAISE_PRIORITY = "raise_priority", "Raise the priority one step"
    MOVE_TO_GROUP = "move_to_group", "Move to a group (escalate a tier)"
    ADD_TAG = "add_tag", "Add a tag"


class SlaPolicy(models.Model):
    """Targets for the tickets matching ``conditions``; policies are tried in ``position``
    order (then id), the first match wins, default policies come after all others.

    ``conditions``: ``{"plans": [...], "organization_ids": [...], "channels": [...],
    "group_ids": [...], "tags": [...]}``; an absent or empty list matches anything, several
    kinds must all match, several values of one kind are alternatives.
    ``targets``: ``{metric: {priority: business minutes}}``; a metric or priority left out
    starts no timer. ``warning_actions``/``breach_actions``: lists of
    ``{"kind": ActionKind, "group_id"?: int, "tag"?: str}``. Validated by the services.
    """

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveIntegerField(default=100)
    is_default = models.BooleanField(default=False, help_text="Matches every ticket; tried after the others.")
    is_expedited = models.BooleanField(
        default=False, help_text="The policy an expedited ticket switches to (one at most)."
    )
    active = models.BooleanField(default=True)
    conditions = models.JSONField(default=dict, blank=True)
    calendar = models.ForeignKey("calendars.BusinessCalendar", on_delete=models.PROTECT, related_name="sla_policies")
    targets = models.JSONField(default=dict)
    warning_share = models.PositiveSmallIntegerField(
        default=75, help_text="Warn when this share (%) of a target has been used."
    )
    warning_actions = models.JSONField(default=list, blank=True)
    breach_actions = models.JSONField(default=list, blank=True)
    send_delay_update = models.BooleanField(
        default=False, help_text="At the warning point, tell the customer a new realistic time."
    )
    expedite_group = models.ForeignKey(
        "accounts.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Expedited policy: expedited tickets are routed to this group.",
    )
    expedite_price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    expedite_currency = models.CharField(max_length=3, default="EUR")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["is_default", "position", "id"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(
                fields=["is_expedited"], condition=models.Q(is_expedited=True), name="sla_one_expedited_policy"
            ),
            models.CheckConstraint(
                condition=models.Q(warning_share__gte=1, warning_share__lte=99), name="sla_warning_share_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def target_for(self, metric: str, priority: str) -> int | None:
        value = (self.targets or {}).get(metric, {}).get(priority)
        return int(value) if value else None


class TicketSla(models.Model):
    """The SLA state of one ticket: the policy that applies, whether it is expedited, and
    which timeline events have been applied to its timers (``last_event_id``, so events
    handled out of order or twice change nothing)."""

    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, primary_key=True, related_name="sla")
    policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, blank=True, help_text="The ticket status as of last_event_id.")
    last_event_id = models.BigIntegerField(default=0)
    next_cycle = models.PositiveIntegerField(default=1)
    expedited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "ticket SLA"

    def __str__(self) -> str:
        return f"SLA of ticket {self.ticket_id}"


class TimerState(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    SATISFIED = "satisfied", "Satisfied"
    STOPPED = "stopped", "Stopped"


ACTIVE_STATES = (TimerState.RUNNING, TimerState.PAUSED)


class SlaTimer(models.Model):
    """One metric's clock on one ticket (per cycle for the next response).

    Business minutes: ``consumed_minutes`` were used before ``resumed_at`` (the start of the
    current running stretch); while running, ``due_at``/``warn_at`` are ``resumed_at`` plus
    what is left of the target / of the warning share, on the frozen calendar. ``warned_at``,
    ``breached_at`` and ``update_sent_at`` are each set once (conditional updates)."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="sla_timers")
    metric = models.CharField(max_length=20, choices=Metric.choices)
    cycle = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=10, choices=TimerState.choices, default=TimerState.RUNNING)
    policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="timers")
    policy_name = models.CharField(max_length=100)
    calendar = models.ForeignKey("calendars.BusinessCalendar", on_delete=models.PROTECT, related_name="+")
    priority = models.CharField(max_length=10)
    plan = models.CharField(max_length=100, blank=True)
    target_minutes = models.PositiveIntegerField()
    warn_minutes = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    resumed_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    consumed_minutes = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    satisfied_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    elapsed_minutes = models.PositiveIntegerField(null=True, blank=True, help_text="Business minutes to satisfaction.")
    update_sent_at = models.DateTimeField(null=True, blank=True)
    revised_due_at = models.DateTimeField(null=True, blank=True, help_text="The new time told to the customer.")

    class Meta:
        ordering = ["ticket_id", "started_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "metric", "cycle"], name="sla_timer_one_per_cycle"),
            models.CheckConstraint(condition=models.Q(metric__in=Metric.values), name="sla_timer_metric_valid"),
            models.CheckConstraint(condition=models.Q(state__in=TimerState.values), name="sla_timer_state_valid"),
            models.CheckConstraint(condition=models.Q(target_minutes__gt=0), name="sla_timer_target_positive"),
        ]
        indexes = [
            # The scheduler's due query: a range of this index, never a scan of all timers.
            models.Index(fields=["next_check_at"], name="sla_timer_next_check",
                         condition=models.Q(next_check_at__isnull=False)),
            models.Index(fields=["ticket", "metric", "state"], name="sla_timer_ticket"),
            models.Index(fields=["started_at"], name="sla_timer_started"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} #{self.cycle} on ticket {self.ticket_id} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def promised_at(self):
        return self.revised_due_at or self.due_at


class ExpediteCharge(models.Model):
    """The billing record of one expedited ticket (one per ticket)."""

    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.PROTECT, related_name="expedite_charge")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(
        "customers.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    policy = models.ForeignKey(SlaPolicy, null=True, on_delete=models.SET_NULL, related_name="+")
    policy_name = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_label = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["created_at"], name="sla_expedite_created")]

    def __str__(self) -> str:
        return f"Expedited ticket {self.ticket_id} ({self.policy_name})"
