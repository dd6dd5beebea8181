"""Satisfaction in the admin site: read-only views (ratings are the customers' words; surveys
change only through the services)."""

from django.contrib import admin

from .models import Rating, Survey


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Rating)
class RatingAdmin(_ReadOnly):
    list_display = ["rated_at", "ticket", "score", "customer", "agent", "group", "plan", "channel", "via"]
    list_filter = ["score", "channel", "via"]
    raw_id_fields = ["ticket", "customer", "agent", "group"]
    search_fields = ["ticket__reference", "comment"]


@admin.register(Survey)
class SurveyAdmin(_ReadOnly):
    list_display = ["ticket", "customer", "solved_at", "send_at", "sent_at", "revoked_at"]
    raw_id_fields = ["ticket", "customer", "agent"]
    search_fields = ["ticket__reference"]
    exclude = ["nonce_hash"]
