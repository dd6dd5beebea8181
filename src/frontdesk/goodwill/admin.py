"""Admin: the catalog, exchange rates, mandates, endpoints and voucher import are editable;
grants and the ledger are read-only (they change only through services)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path

from frontdesk.core.errors import DomainError

from .models import ExchangeRate, Gesture, Grant, LedgerEntry, Mandate, Voucher, WebhookEndpoint
from .services import vouchers_import


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ["currency", "rate", "updated_at"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "allow_private", "timeout_seconds"]


@admin.register(Mandate)
class MandateAdmin(admin.ModelAdmin):
    list_display = ["holder_label", "currency", "max_per_gesture", "max_per_customer", "monthly_budget",
                    "group_monthly_budget"]


class VoucherImportForm(forms.Form):
    file = forms.FileField(help_text="CSV: one code per row (first column); a header 'code' is skipped.")


@admin.register(Gesture)
class GestureAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "value", "min_value", "max_value", "currency", "fulfilment", "active"]
    list_filter = ["kind", "fulfilment", "active"]

    def get_urls(self):
        return [path("<int:pk>/vouchers/", self.admin_site.admin_view(self.import_vouchers),
                     name="goodwill_gesture_vouchers")] + super().get_urls()

    def import_vouchers(self, request, pk: int):
        gesture = get_object_or_404(Gesture, pk=pk)
        if not request.user.is_admin:
            raise PermissionDenied
        form = VoucherImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                added = vouchers_import(gesture=gesture, agent=request.user,
                                        text=form.cleaned_data["file"].read().decode("utf-8-sig"))
            except (DomainError, UnicodeDecodeError) as exc:
                messages.error(request, getattr(exc, "detail", "The file is not UTF-8 text."))
            else:
                messages.success(request, f"{added} new codes added to {gesture.name}.")
                return redirect("admin:goodwill_gesture_change", gesture.pk)
        return render(request, "goodwill/admin_vouchers.html", {
            "form": form, "gesture": gesture, "title": f"Import vouchers for {gesture.name}",
            "free": gesture.vouchers.filter(grant__isnull=True).count(), **self.admin_site.each_context(request),
        })


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Grant)
class GrantAdmin(ReadOnly):
    list_display = ["id", "gesture", "value", "currency", "status", "agent", "requested_at"]
    list_filter = ["status", "reason"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnly):
    list_display = ["at", "kind", "grant", "value", "currency", "base_value", "agent", "reason"]
    list_filter = ["kind", "reason"]


@admin.register(Voucher)
class VoucherAdmin(ReadOnly):
    list_display = ["code", "gesture", "grant", "handed_at"]
    list_filter = ["gesture"]
