from django.contrib import admin

from .models import ConversationLink
from .services import link_revoke


@admin.register(ConversationLink)
class ConversationLinkAdmin(admin.ModelAdmin):
    """Issued links, for audit and revocation. The token is not stored and cannot be shown."""

    list_display = ["id", "ticket", "customer", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["ticket__reference", "customer__contact_points__value"]
    raw_id_fields = ["ticket", "customer"]
    readonly_fields = ["ticket", "customer", "nonce_hash", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # links are issued by mail and the portal, never typed in

    @admin.action(description="Revoke the selected links")
    def revoke(self, request, queryset):
        links = list(queryset.filter(revoked_at__isnull=True))
        for link in links:
            link_revoke(link=link)
        self.message_user(request, f"{len(links)} link(s) revoked.")
