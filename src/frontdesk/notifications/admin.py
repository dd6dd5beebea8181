from django.contrib import admin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "agent", "kind", "text", "read_at"]
    list_filter = ["kind"]
    raw_id_fields = ["agent", "ticket"]
    search_fields = ["text", "key"]
