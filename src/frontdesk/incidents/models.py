"""Incidents: one problem, the tickets about it and every customer it touched.

An ``AffectedCustomer`` row exists once per incident and customer, however the customer came
in (a linked ticket, a CSV upload, an organization, the API): that uniqueness is what makes
"every update and the gesture reach each affected customer exactly once" a database fact.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Severity(models.TextChoices):
    MINOR = "minor", "Minor"
    MAJOR = "major", "Major"
    CRITICAL = "critical", "Critical"


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"


class Incident(models.Model):
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Internal: agents only.")
    public_description = models.TextField(blank=True, help_text="What customers and the status page see.")
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MAJOR)
    status = models.CharField(max_length=15, choices=IncidentStatus.choices, default=IncidentStatus.INVESTIGATING)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    source_ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The ticket the incident was created from, if any.",
    )
    on_status_page = models.BooleanField(default=False, help_text="Shown on the public /help/status page.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["status", "-started_at"], name="incident_status_started")]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=IncidentStatus.values), name="incident_status_valid"),
            models.CheckConstraint(condition=models.Q(severity__in=Severity.values), name="incident_severity_valid"),
        ]

    def __str__(self) -> str:
        return f"INC-{self.pk} {self.title}"

    @property
    def reference(self) -> str:
        return f"INC-{self.pk}"


class IncidentTicket(models.Model):
    """A ticket linked to an incident. ``exclude_from_solve`` keeps it open when the incident
    is resolved (the customer has something else going on)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="ticket_links")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="incident_links")
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    linked_at = models.DateTimeField(default=timezone.now)
    exclude_from_solve = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "ticket"], name="incident_ticket_once")]

    def __str__(self) -> str:
        return f"INC-{self.incident_id} ↔ ticket {self.ticket_id}"


class AffectedSource(models.TextChoices):
    TICKET = "ticket", "Linked ticket"
    CSV = "csv", "CSV upload"
    ORGANIZATION = "organization", "Organization"
    API = "api", "API"
    MANUAL = "manual", "Added by an agent"


class AffectedCustomer(models.Model):
    """One customer touched by an incident, once, whatever the number of ways they came in.

    ``ticket`` is the conversation updates go to: the customer's own linked ticket, or the
    outbound ticket opened for them by the first update. ``group_key`` links companions
    (everyone on one booking)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="affected")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=15, choices=AffectedSource.choices)
    group_key = models.CharField(max_length=100, blank=True, help_text="e.g. a booking number")
    external_id = models.CharField(max_length=100, blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["incident", "group_key"], name="affected_group_key")]
        constraints = [
            models.UniqueConstraint(fields=["incident", "customer"], name="affected_customer_once"),
            models.CheckConstraint(condition=models.Q(source__in=AffectedSource.values), name="affected_source_valid"),
        ]

    def __str__(self) -> str:
        return f"INC-{self.incident_id}: customer {self.customer_id}"


class ActivityKind(models.TextChoices):
    CREATED = "created", "Created"
    EDITED = "edited", "Edited"
    STATUS = "status", "Status changed"
    LINKED = "linked", "Ticket linked"
    UNLINKED = "unlinked", "Ticket unlinked"
    AFFECTED = "affected", "Customers added"
    IMPORT = "import", "CSV import"


class IncidentActivity(models.Model):
    """The incident's own history (who changed what, when). Ticket timelines get the contract's
    ``incident`` events; this is what the incident page shows about the incident itself."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="activity")
    kind = models.CharField(max_length=15, choices=ActivityKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["incident", "-created_at"], name="incident_activity_at")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ActivityKind.values), name="incident_activity_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"INC-{self.incident_id}: {self.summary}"


class ImportStatus(models.TextChoices):
    PREVIEW = "preview", "Waiting for confirmation"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class AffectedImport(models.Model):
    """One CSV upload of affected customers: stored on disk (FRONTDESK_HOME) at upload, checked
    into a preview, imported only once confirmed, in chunks by a task that records progress
    here (``processed_rows`` of ``valid_rows``), so the page can poll it."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="imports")
    public_id = models.UUIDField(unique=True, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=255, blank=True)
    stored_path = models.CharField(max_length=500, help_text="Relative to the imports folder.")
    size = models.PositiveBigIntegerField(default=0)
    encoding = models.CharField(max_length=20, blank=True)
    encoding_note = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.PREVIEW)
    total_rows = models.PositiveIntegerField(default=0)
    valid_rows = models.PositiveIntegerField(default=0, help_text="Distinct customers to add.")
    error_rows = models.PositiveIntegerField(default=0)
    duplicate_rows = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="The first row errors: [{row, error}].")
    sample = models.JSONField(default=list, blank=True, help_text="The first rows as they will be imported.")
    new_customers = models.PositiveIntegerField(default=0, help_text="Addresses not known yet (at preview).")
    processed_rows = models.PositiveIntegerField(default=0)
    created_customers = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0, help_text="Affected rows created by this import.")
    failure = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ImportStatus.values), name="affected_import_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"INC-{self.incident_id} import {self.public_id}"


# --- reach: broadcasts, deliveries, the incident's gesture --------------------------------


class BroadcastKind(models.TextChoices):
    UPDATE = "update", "Update"
    RESOLUTION = "resolution", "Final update (resolution)"


class Broadcast(models.Model):
    """An update written once and sent to every affected customer (one ``BroadcastDelivery``
    each). ``body`` may hold placeholders filled per conversation ({name}, {reference},
    {title}, {gesture}); ``public_text`` is what the status page shows (never ``body`` of a
    personal resolution message, never the incident's internal description)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="broadcasts")
    kind = models.CharField(max_length=12, choices=BroadcastKind.choices, default=BroadcastKind.UPDATE)
    body = models.TextField()
    public_text = models.TextField(blank=True)
    status_after = models.CharField(max_length=15, blank=True, help_text="The incident status this update set.")
    on_status_page = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    fanned_out_at = models.DateTimeField(null=True, blank=True, help_text="When the delivery rows were written.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["incident", "-created_at"], name="broadcast_incident_at")]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=BroadcastKind.values), name="broadcast_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"INC-{self.incident_id} update {self.pk}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class DeliveryRow(models.Model):
    """What every per-customer delivery row of an incident keeps: its state, the last error
    and how often it was tried."""

    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    error = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class BroadcastDelivery(DeliveryRow):
    """One update for one affected customer: unique per (broadcast, affected), so nobody gets
    an update twice. A worker claims a pending row under a row lock and, in the same
    transaction, posts the message and marks the row sent: a worker killed halfway rolls back
    both, and the next run finds the row pending again."""

    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="deliveries")
    affected = models.ForeignKey(AffectedCustomer, on_delete=models.CASCADE, related_name="deliveries")
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    message = models.ForeignKey("tickets.Message", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")

    class Meta:
        indexes = [models.Index(fields=["broadcast", "status", "id"], name="broadcast_delivery_state")]
        constraints = [
            models.UniqueConstraint(fields=["broadcast", "affected"], name="broadcast_delivery_once"),
            models.CheckConstraint(condition=models.Q(status__in=DeliveryStatus.values),
                                   name="broadcast_delivery_status_valid"),
        ]

    def __str__(self) -> str:
        return f"update {self.broadcast_id} → affected {self.affected_id}: {self.status}"


class GestureState(models.TextChoices):
    PROPOSED = "proposed", "Waiting for approval"
    APPROVED = "approved", "Approved: granted to every affected customer"
    WITHDRAWN = "withdrawn", "Withdrawn"


class IncidentGesture(models.Model):
    """The one gesture of an incident: proposed, then approved ONCE by someone whose mandate
    covers value × affected customers; from then on every affected customer (also those added
    later) gets it exactly once (``GestureDelivery`` unique per customer, and goodwill's
    ``Grant`` unique per (source, customer))."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="gesture")
    gesture = models.ForeignKey("goodwill.Gesture", on_delete=models.PROTECT, related_name="+")
    value = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=20, default="outage")
    note = models.CharField(max_length=300, blank=True)
    state = models.CharField(max_length=10, choices=GestureState.choices, default=GestureState.PROPOSED)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_customers = models.PositiveIntegerField(default=0, help_text="Affected customers at approval.")
    approved_base_total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(state__in=GestureState.values),
                                   name="incident_gesture_state_valid"),
        ]

    def __str__(self) -> str:
        return f"INC-{self.incident_id} gesture ({self.state})"

    @property
    def source(self) -> str:
        """goodwill's ``Grant.source``: one grant per customer and incident, enforced there too."""
        return f"incident:{self.incident_id}"


class GestureDelivery(DeliveryRow):
    """The incident's gesture for one affected customer: claimed and granted in one
    transaction (see ``BroadcastDelivery``); ``grant`` is goodwill's row, whose status says
    whether the customer received it (fulfilled), is waiting (granted) or not (failed)."""

    incident_gesture = models.ForeignKey(IncidentGesture, on_delete=models.CASCADE, related_name="deliveries")
    affected = models.ForeignKey(AffectedCustomer, on_delete=models.CASCADE, related_name="gesture_deliveries")
    grant = models.ForeignKey("goodwill.Grant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["incident_gesture", "status", "id"], name="gesture_delivery_state")]
        constraints = [
            models.UniqueConstraint(fields=["incident_gesture", "affected"], name="gesture_delivery_once"),
            models.CheckConstraint(condition=models.Q(status__in=DeliveryStatus.values),
                                   name="gesture_delivery_status_valid"),
        ]

    def __str__(self) -> str:
        return f"gesture {self.incident_gesture_id} → affected {self.affected_id}: {self.status}"


class MailPace(models.Model):
    """The instance's one pace for incident mail (updates, resolutions, gestures): the time
    from which the next chunk may go. Every chunk, of whichever incident, takes its window
    ``[start, start + size / FRONTDESK_BROADCAST_PER_MINUTE)`` from here under the row lock
    (``broadcasts.reserve_windows``), so windows never overlap across incidents or workers.
    One row, ``pk=1``, created on first use."""

    next_free_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"incident mail free from {self.next_free_at:%Y-%m-%d %H:%M:%S}"
