from django.contrib import admin

from .models import Agent, ApiToken, Group


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ["name", "tier"]
    search_fields = ["name"]


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "role", "is_active"]
    list_filter = ["role", "is_active", "groups"]
    search_fields = ["email", "name"]
    filter_horizontal = ["groups"]
    exclude = ["password", "last_login"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "agent", "name", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "token_hash", "agent", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False  # tokens are created with `frontdesk token create`, shown once
