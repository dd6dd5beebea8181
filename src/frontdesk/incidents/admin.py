"""Admin: incidents, their links, affected customers, history and uploads, read-only — every
change goes through the services (workspace pages and API), which record the history and the
ticket timeline events."""

from __future__ import annotations

from django.contrib import admin

from .models import AffectedCustomer, AffectedImport, Incident, IncidentActivity, IncidentTicket


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ["id", "title", "severity", "status", "started_at", "ended_at", "owner", "on_status_page"]
    list_filter = ["status", "severity"]
    search_fields = ["title"]


@admin.register(IncidentTicket)
class IncidentTicketAdmin(ReadOnlyAdmin):
    list_display = ["incident", "ticket", "linked_by", "linked_at", "exclude_from_solve"]
    raw_id_fields = ["incident", "ticket"]


@admin.register(AffectedCustomer)
class AffectedCustomerAdmin(ReadOnlyAdmin):
    list_display = ["incident", "customer", "source", "group_key", "external_id", "ticket", "added_at"]
    list_filter = ["source"]
    list_select_related = ["incident", "customer", "ticket"]
    search_fields = ["group_key", "external_id"]


@admin.register(IncidentActivity)
class IncidentActivityAdmin(ReadOnlyAdmin):
    list_display = ["incident", "kind", "actor", "summary", "created_at"]
    list_filter = ["kind"]


@admin.register(AffectedImport)
class AffectedImportAdmin(ReadOnlyAdmin):
    list_display = ["incident", "filename", "status", "total_rows", "valid_rows", "error_rows", "processed_rows",
                    "added", "created_at"]
    list_filter = ["status"]
