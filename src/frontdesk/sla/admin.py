"""Admin pages for SLA policies (administrators only: the admin site admits nobody else).
Saving goes through the policy services, so the admin, the API and demo data share one
validation and the same defaults."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from frontdesk.core.errors import DomainError

from . import policy_services
from .models import ExpediteCharge, SlaPolicy, SlaTimer

FORM_FIELDS = [
    "name", "position", "is_default", "is_expedited", "active", "conditions", "calendar", "targets",
    "warning_share", "warning_actions", "breach_actions", "send_delay_update", "expedite_group",
    "expedite_price", "expedite_currency",
]


class SlaPolicyForm(forms.ModelForm):
    class Meta:
        model = SlaPolicy
        fields = FORM_FIELDS
        help_texts = {
            "conditions": 'e.g. {"plans": ["premium"], "channels": ["email"], "group_ids": [2], "tags": ["vip"]}',
            "targets": 'business minutes, e.g. {"first_response": {"normal": 240, "urgent": 60}, '
                       '"resolution": {"normal": 1440}}',
            "warning_actions": 'e.g. [{"kind": "notify"}]',
            "breach_actions": 'e.g. [{"kind": "raise_priority"}, {"kind": "move_to_group", "group_id": 3}, '
                              '{"kind": "add_tag", "tag": "sla-missed"}]',
        }

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data["calendar_id"] = data.pop("calendar").pk if data.get("calendar") else None
        group = data.pop("expedite_group", None)
        data["expedite_group_id"] = group.pk if group else None
        return data


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    form = SlaPolicyForm
    list_display = ["name", "position", "is_default", "is_expedited", "active", "calendar", "updated_at"]
    ordering = ["is_default", "position", "id"]

    def save_model(self, request, obj, form, change):
        # Validation errors surface here (the services validate); the admin shows them on
        # the form through ``_changeform_view``'s normal error path below.
        values = form.values()
        if change:
            saved = policy_services.sla_policy_update(actor=request.user, policy_id=obj.pk, **values)
        else:
            saved = policy_services.sla_policy_create(actor=request.user, **values)
        obj.pk = saved.pk
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if not k.startswith("_")})

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        policy_pk = obj.pk if obj else None

        class Checked(form_class):
            def clean(self):
                cleaned = super().clean()
                if self.errors:
                    return cleaned
                try:  # dry run of the service's validation inside a rolled-back savepoint
                    from django.db import transaction

                    with transaction.atomic():
                        values = self.values()
                        if policy_pk:
                            policy_services.sla_policy_update(actor=request.user, policy_id=policy_pk, **values)
                        else:
                            policy_services.sla_policy_create(actor=request.user, **values)
                        transaction.set_rollback(True)
                except DomainError as error:
                    raise forms.ValidationError(error.detail) from error
                return cleaned

        return Checked

    def delete_model(self, request, obj):
        policy_services.sla_policy_delete(actor=request.user, policy_id=obj.pk)


@admin.register(SlaTimer)
class SlaTimerAdmin(admin.ModelAdmin):
    list_display = ["ticket", "metric", "cycle", "state", "policy_name", "target_minutes", "due_at", "breached_at"]
    list_filter = ["metric", "state"]
    raw_id_fields = ["ticket"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ExpediteCharge)
class ExpediteChargeAdmin(admin.ModelAdmin):
    list_display = ["created_at", "ticket", "customer", "organization", "policy_name", "price", "currency",
                    "requested_by_label"]
    raw_id_fields = ["ticket", "customer"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
