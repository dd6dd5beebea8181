"""What the workspace stores of its own: agents' saved inbox views."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SavedView(models.Model):
    """A named set of inbox filters and a sort, private to one agent.

    ``params`` holds the filter form's query parameters as lists of strings (the same shape as
    the URL), so relative values such as ``assignee=me`` stay relative.
    """

    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=60)
    slug = models.SlugField(max_length=70)
    params = models.JSONField(default=dict, blank=True)
    sort = models.CharField(max_length=20, default="-updated_at")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "slug"], name="saved_view_slug_unique"),
        ]

    def __str__(self) -> str:
        return self.name
