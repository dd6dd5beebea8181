"""Customers, their contact points, and organizations."""

from __future__ import annotations

from django.db import models

from frontdesk.core.models import TimeStampedModel


class Organization(TimeStampedModel):
    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=200, blank=True, db_index=True)
    domains = models.JSONField(default=list, blank=True, help_text="Email domains of its people.")
    plan = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Customer(TimeStampedModel):
    """A person who asks for help. Identified by any of their contact points."""

    name = models.CharField(max_length=200, blank=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="customers"
    )
    locale = models.CharField(max_length=20, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    address = models.TextField(blank=True)
    preferences = models.JSONField(default=dict, blank=True)
    plan = models.CharField(max_length=100, blank=True, db_index=True)
    notes = models.TextField(blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name or self.primary_email or f"Customer {self.pk}"

    @property
    def primary_email(self) -> str:
        for point in self.contact_points.all():
            if point.kind == ContactKind.EMAIL:
                return point.value
        return ""


class ContactKind(models.TextChoices):
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    EXTERNAL = "external", "External id"


class ContactPoint(models.Model):
    """One way to reach or recognise a customer; each value belongs to one customer."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contact_points")
    kind = models.CharField(max_length=10, choices=ContactKind.choices)
    value = models.CharField(max_length=254)
    is_primary = models.BooleanField(default=False)
    undeliverable_since = models.DateTimeField(
        null=True, blank=True, help_text="Set by a permanent bounce: no automatic mail goes here."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="contact_point_unique"),
            models.CheckConstraint(
                condition=models.Q(kind__in=ContactKind.values), name="contact_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"
