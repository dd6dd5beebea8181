"""Goodwill: the gesture catalog, exchange rates, mandates, grants and their append-only ledger.

Money is ``Decimal`` with a currency. Limits (mandates) are converted to the base currency
(``FRONTDESK_GOODWILL_BASE_CURRENCY``) with the configured ``ExchangeRate`` rows; budgets are
sums over ``LedgerEntry`` rows and are never stored anywhere else.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

MONEY = {"max_digits": 12, "decimal_places": 2}


class GestureKind(models.TextChoices):
    ACCOUNT_CREDIT = "account_credit", "Account credit"
    VOUCHER = "voucher", "Voucher code"
    REFUND = "refund", "Refund"
    FREE_PERIOD = "free_period", "Free period"
    FREE_SHIPMENT = "free_shipment", "Free shipment"
    UPGRADE = "upgrade", "Upgrade"
    PHYSICAL_GIFT = "physical_gift", "Physical gift"
    PERSONAL_NOTE = "personal_note", "Personal note"


class Fulfilment(models.TextChoices):
    WEBHOOK = "webhook", "Signed webhook to the back-office"
    VOUCHER_POOL = "voucher_pool", "Code from the voucher pool"
    MANUAL = "manual", "Manual task for a person or group"


class Reason(models.TextChoices):
    OUR_MISTAKE = "our_mistake", "Our mistake"
    DELAY = "delay", "Delay"
    OUTAGE = "outage", "Outage"
    PRODUCT_DEFECT = "product_defect", "Product defect"
    LOYALTY = "loyalty", "Goodwill / loyalty"
    OTHER = "other", "Other"


class ExchangeRate(models.Model):
    """``1 currency = rate × base currency``. The base currency itself needs no row."""

    currency = models.CharField(max_length=3, unique=True, help_text="ISO 4217 code, e.g. USD.")
    rate = models.DecimalField(max_digits=14, decimal_places=6, help_text="Value of 1 unit in the base currency.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["currency"]
        constraints = [models.CheckConstraint(condition=models.Q(rate__gt=0), name="goodwill_rate_positive")]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} {settings.FRONTDESK_GOODWILL_BASE_CURRENCY}"


class WebhookEndpoint(models.Model):
    """A back-office URL that performs credits and refunds. Requests carry
    ``X-Frontdesk-Signature: sha256=<hex HMAC-SHA256 of the body with secret>``."""

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=200)
    timeout_seconds = models.PositiveSmallIntegerField(default=10)
    allow_private = models.BooleanField(
        default=False, help_text="Allow a private/loopback address (a back-office on your own network)."
    )

    def __str__(self) -> str:
        return self.name


class Gesture(models.Model):
    """One entry of the catalog. Either a fixed ``value`` or a ``min_value``–``max_value`` range,
    in ``currency``. The snippet may use {code} {amount} {currency} {expiry} {name}."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=GestureKind.choices)
    currency = models.CharField(max_length=3)
    value = models.DecimalField(null=True, blank=True, **MONEY)
    min_value = models.DecimalField(null=True, blank=True, **MONEY)
    max_value = models.DecimalField(null=True, blank=True, **MONEY)
    snippet = models.TextField(blank=True)
    expiry_days = models.PositiveIntegerField(null=True, blank=True, help_text="Shown as {expiry}.")
    fulfilment = models.CharField(max_length=20, choices=Fulfilment.choices)
    endpoint = models.ForeignKey(WebhookEndpoint, null=True, blank=True, on_delete=models.PROTECT)
    task_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    task_group = models.ForeignKey(
        "accounts.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=GestureKind.values), name="gesture_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(fulfilment__in=Fulfilment.values), name="gesture_fulfilment_valid"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(value__isnull=False, min_value__isnull=True, max_value__isnull=True)
                    | models.Q(value__isnull=True, min_value__isnull=False, max_value__isnull=False,
                               min_value__lte=models.F("max_value"))
                ),
                name="gesture_value_or_range",
            ),
            models.CheckConstraint(
                condition=~models.Q(fulfilment="webhook") | models.Q(endpoint__isnull=False),
                name="gesture_webhook_has_endpoint",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Mandate(models.Model):
    """What an agent may grant without asking. Holder: exactly one of ``role``, ``group``,
    ``agent``. Amounts are in ``currency``; empty means "no limit of this kind".

    Effective mandate (``mandates.effective_mandate``): the most specific holder wins —
    the agent's own mandate, else the most generous of their groups', else their role's.
    ``group_monthly_budget`` (group mandates only) is a shared budget of all the group's grants.
    """

    role = models.CharField(max_length=10, blank=True)
    group = models.ForeignKey("accounts.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    currency = models.CharField(max_length=3)
    max_per_gesture = models.DecimalField(**MONEY)
    max_per_customer = models.DecimalField(null=True, blank=True, **MONEY)
    customer_period_days = models.PositiveIntegerField(default=30)
    monthly_budget = models.DecimalField(null=True, blank=True, help_text="Per agent, per calendar month.", **MONEY)
    group_monthly_budget = models.DecimalField(
        null=True, blank=True, help_text="Group mandates: the whole group, per calendar month.", **MONEY
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    (~models.Q(role="") & models.Q(group__isnull=True, agent__isnull=True))
                    | models.Q(role="", group__isnull=False, agent__isnull=True)
                    | models.Q(role="", group__isnull=True, agent__isnull=False)
                ),
                name="mandate_one_holder",
            ),
            models.UniqueConstraint(fields=["role"], condition=~models.Q(role=""), name="mandate_role_once"),
            models.UniqueConstraint(fields=["group"], name="mandate_group_once"),
            models.UniqueConstraint(fields=["agent"], name="mandate_agent_once"),
        ]

    def __str__(self) -> str:
        return f"Mandate of {self.holder_label}: {self.max_per_gesture} {self.currency} per gesture"

    @property
    def holder_label(self) -> str:
        if self.agent_id:
            return f"agent {self.agent}"
        if self.group_id:
            return f"group {self.group}"
        return f"role {self.role}"


class GrantStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", "Waiting for approval"
    DENIED = "denied", "Denied"
    GRANTED = "granted", "Granted, being fulfilled"
    FAILED = "failed", "Fulfilment failed (retrying)"
    FULFILLED = "fulfilled", "Fulfilled"
    REVOKED = "revoked", "Revoked"


class Grant(models.Model):
    """One gesture for one customer on one ticket: its current state. The history (and every
    amount that budgets count) is in ``LedgerEntry``; state changes only through services,
    each under a row lock on this row."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    gesture = models.ForeignKey(Gesture, on_delete=models.PROTECT, related_name="grants")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey("accounts.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    value = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    base_value = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=GrantStatus.choices)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.CharField(max_length=100, blank=True, help_text="The voucher code handed out.")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    # Due time claimed by the scheduler (frontdesk/schedules.py): remind, then escalate.
    approval_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    approval_reminders = models.PositiveSmallIntegerField(default=0)
    fulfilment_attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    task_done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Where an approval given elsewhere came from (e.g. "incident:12"); one grant per source and
    # customer, however often the distribution runs (services.gesture_grant_preapproved).
    source = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["status", "requested_at"], name="grant_status_requested"),
            models.Index(fields=["customer", "requested_at"], name="grant_customer_requested"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=GrantStatus.values), name="grant_status_valid"),
            models.CheckConstraint(condition=models.Q(reason__in=Reason.values), name="grant_reason_valid"),
            models.CheckConstraint(condition=models.Q(value__gte=0), name="grant_value_not_negative"),
            models.UniqueConstraint(
                fields=["source", "customer"], condition=~models.Q(source=""), name="grant_source_customer_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gesture} {self.value} {self.currency} for {self.customer_id} ({self.status})"

    @property
    def source_label(self) -> str:
        """``incident:12`` → ``INC-12`` (the incidents' reference); any other source as written."""
        kind, _, ident = self.source.partition(":")
        return f"INC-{ident}" if kind == "incident" and ident else self.source


class EntryKind(models.TextChoices):
    REQUESTED = "requested", "Requested (above mandate)"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"
    GRANTED = "granted", "Granted"
    FULFILLED = "fulfilled", "Fulfilled"
    FULFILMENT_FAILED = "fulfilment_failed", "Fulfilment failed"
    REVOKED = "revoked", "Revoked"


class LedgerEntry(models.Model):
    """One line of the ledger. Only ever inserted (services have no update path; the admin is
    read-only). Budgets: sum of ``base_value`` of ``granted`` minus ``revoked`` entries."""

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=20, choices=EntryKind.choices)
    actor_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_system = models.CharField(max_length=50, blank=True)
    at = models.DateTimeField(default=timezone.now)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
        help_text="Whose budget the grant counts against (who asked for it).",
    )
    group = models.ForeignKey("accounts.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    value = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    base_value = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["agent", "kind", "at"], name="ledger_agent_kind_at"),
            models.Index(fields=["group", "kind", "at"], name="ledger_group_kind_at"),
            models.Index(fields=["customer", "kind", "at"], name="ledger_customer_kind_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=EntryKind.values), name="ledger_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.value} {self.currency} (grant {self.grant_id})"

    @property
    def actor_label(self) -> str:
        return self.actor_agent.name if self.actor_agent_id else (self.actor_system or "system")


class BudgetLock(models.Model):
    """A row per budget ("agent:7", "group:3", "customer:42") that every grant touching that
    budget locks (``select_for_update``) before summing the ledger: two agents spending the
    last of one budget at once are serialised, and exactly one of them fits."""

    key = models.CharField(max_length=50, unique=True)

    def __str__(self) -> str:
        return self.key


class Voucher(models.Model):
    """A code in a gesture's pool; handed to at most one grant."""

    gesture = models.ForeignKey(Gesture, on_delete=models.CASCADE, related_name="vouchers")
    code = models.CharField(max_length=100)
    imported_at = models.DateTimeField(default=timezone.now)
    grant = models.OneToOneField(Grant, null=True, blank=True, on_delete=models.PROTECT, related_name="voucher")
    handed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["gesture", "code"], name="voucher_code_once")]
        indexes = [models.Index(fields=["gesture", "grant"], name="voucher_pool_free")]

    def __str__(self) -> str:
        return self.code
