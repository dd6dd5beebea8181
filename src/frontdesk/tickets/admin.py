from django.contrib import admin

from .models import Message, Ticket, TicketEvent


class MessageInline(admin.StackedInline):
    model = Message
    extra = 0
    can_delete = False
    fields = ["visibility", "author_agent", "author_customer", "body_text", "created_at"]
    readonly_fields = fields


class EventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "actor_agent", "actor_customer", "actor_system", "before", "after"]
    readonly_fields = fields


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Read-only: tickets change through services (and their timeline), never by raw edits."""

    list_display = ["reference", "subject", "status", "priority", "group", "assignee", "updated_at"]
    list_filter = ["status", "priority", "channel", "group"]
    search_fields = ["reference", "subject"]
    inlines = [MessageInline, EventInline]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
