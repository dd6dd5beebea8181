"""Conversation links: the signed, revocable key that lets a customer read and answer one
ticket on the web without an account."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from frontdesk.customers.models import Customer
from frontdesk.tickets.models import Ticket


class ConversationLink(models.Model):
    """One issued link (one per email that carries it, or per fresh-link request).

    The token itself is never stored: it is signed data carrying this row's id and a random
    nonce, and only the SHA-256 of the nonce is kept, so a copy of this table opens nothing.
    A link grants one ticket to one customer, nothing else; revoking it (or all of a
    ticket's links) closes every browser session that entered through it.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="conversation_links")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="conversation_links")
    nonce_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="convlink_ticket_created")]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"link {self.pk} to ticket {self.ticket_id} ({state})"
