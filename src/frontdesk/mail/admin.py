"""Email in the admin site: inboxes, IMAP mailboxes, every inbound message (with the
"unprocessed mail" list and a reprocess action) and every outbound message (the outbox)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils.html import format_html

from .imap import mailbox_reschedule
from .models import InboundMessage, InboundStatus, Inbox, Mailbox, OutboundMessage, spool_dir
from .services import inbound_reprocess


@admin.register(Inbox)
class InboxAdmin(admin.ModelAdmin):
    list_display = ["name", "address", "group", "is_default", "acknowledge"]
    list_filter = ["is_default", "acknowledge"]


class MailboxForm(forms.ModelForm):
    # The stored password is never sent back to the browser; leave empty to keep it.
    password = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False)

    class Meta:
        model = Mailbox
        fields = ["inbox", "host", "port", "use_ssl", "username", "password", "folder", "move_to", "enabled",
                  "poll_interval_seconds"]

    def clean_password(self):
        password = self.cleaned_data.get("password")
        if not password and self.instance.pk:
            return self.instance.password
        if not password:
            raise forms.ValidationError("A new mailbox needs its password.")
        return password


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxForm
    list_display = ["__str__", "inbox", "enabled", "last_success_at", "last_error"]
    readonly_fields = ["uidvalidity", "last_uid", "last_success_at", "last_error"]

    def save_model(self, request, obj, form, change):
        # Only the form's fields: a poll running meanwhile writes last_uid, uidvalidity and the
        # due time. Then an enabled mailbox is polled now (new settings are tried at once; a new
        # mailbox starts), a disabled one is no longer due.
        if change:
            obj.save(update_fields=[*form.fields, "updated_at"])
        else:
            obj.save()
        mailbox_reschedule(mailbox_id=obj.pk)


class UnprocessedFilter(admin.SimpleListFilter):
    title = "processing"
    parameter_name = "unprocessed"

    def lookups(self, request, model_admin):
        return [("yes", "Unprocessed mail (failed or waiting)")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status__in=[InboundStatus.FAILED, InboundStatus.RECEIVED])
        return queryset


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ["received_at", "from_address", "subject", "status", "automated", "ticket", "raw_link"]
    list_filter = [UnprocessedFilter, "status", "source", "inbox"]
    search_fields = ["from_address", "subject", "message_id", "envelope_from"]
    actions = ["reprocess"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.display(description="raw")
    def raw_link(self, obj):
        url = reverse("admin:mail_inboundmessage_raw", args=[obj.pk])
        return format_html('<a href="{}">download .eml</a>', url)

    @admin.action(description="Process the selected messages again")
    def reprocess(self, request, queryset):
        for inbound in queryset:
            inbound_reprocess(inbound=inbound)
        messages.success(request, f"{queryset.count()} message(s) queued for processing.")

    def get_urls(self):
        raw = path("<int:pk>/raw/", self.admin_site.admin_view(self.raw_view), name="mail_inboundmessage_raw")
        return [raw, *super().get_urls()]

    def raw_view(self, request, pk: int):
        inbound = InboundMessage.objects.filter(pk=pk).first()
        if inbound is None:
            raise Http404
        response = FileResponse(
            (spool_dir() / inbound.spool_name).open("rb"), as_attachment=True,
            filename=f"inbound-{inbound.pk}.eml", content_type="application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "recipient", "subject", "status", "attempts", "last_error", "ticket"]
    list_filter = ["status", "kind"]
    search_fields = ["recipient", "subject", "message_id"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False
