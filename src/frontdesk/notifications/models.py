"""Notifications for agents: "a follow-up is due", "the SLA of ticket X is about to be missed"."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Notification(models.Model):
    """One line in an agent's notification list. ``key``, when set, names what it is about
    (e.g. ``followup:12``): the same key never notifies the same agent twice."""

    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    text = models.CharField(max_length=500)
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    url = models.CharField(max_length=500, blank=True)
    key = models.CharField(max_length=200, blank=True)
    # Said in the email when the notification is also emailed (the list shows ``text`` only).
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["agent", "read_at", "created_at"], name="notification_agent_unread")]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "key"], condition=~models.Q(key=""), name="notification_agent_key_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.agent_id}: {self.text[:40]}"

    @property
    def link(self) -> str:
        if self.url:
            return self.url
        return f"/desk/tickets/{self.ticket.reference}/" if self.ticket_id else ""
