"""Forms of the customer and organization pages: parsing and field validation only; the
writes and their rules are ``customers.services``."""

from __future__ import annotations

import json

from django import forms

from frontdesk.customers.selectors import organization_list

MAX_ORGANIZATION_CHOICES = 300


class OrganizationChoice:
    """A select of organizations while there are few; a number field once there are many
    (a select of thousands helps nobody)."""

    @staticmethod
    def field(current=None) -> forms.Field:
        organizations = list(organization_list()[: MAX_ORGANIZATION_CHOICES + 1])
        if len(organizations) <= MAX_ORGANIZATION_CHOICES:
            choices = [("", "— none —")] + [(str(o.pk), o.name) for o in organizations]
            return forms.TypedChoiceField(choices=choices, coerce=int, empty_value=None, required=False,
                                          label="Organization")
        help_text = f"Number of the organization (now: {current.name}, {current.pk})." if current else (
            "Number of the organization, from the organizations list.")
        return forms.IntegerField(required=False, min_value=1, label="Organization number", help_text=help_text)


class JSONObjectField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        return json.dumps(value, indent=1, ensure_ascii=False) if isinstance(value, dict) else value

    def to_python(self, value):
        value = super().to_python(value).strip()
        if not value:
            return {}
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            raise forms.ValidationError("Write the preferences as a JSON object, e.g. {\"language\": \"es\"}.") from exc
        if not isinstance(parsed, dict):
            raise forms.ValidationError("Preferences must be a JSON object of key/value pairs.")
        return parsed


class CustomerForm(forms.Form):
    name = forms.CharField(max_length=200, required=False)
    locale = forms.CharField(max_length=20, required=False, label="Language (locale)", help_text="e.g. es, en-GB")
    time_zone = forms.CharField(max_length=64, required=False, help_text="e.g. Europe/Madrid")
    plan = forms.CharField(max_length=100, required=False)
    address = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    notes = forms.CharField(max_length=20_000, required=False, widget=forms.Textarea(attrs={"rows": 4}))
    preferences = JSONObjectField(required=False)
    add_email = forms.CharField(max_length=254, required=False, label="Add an email address")
    add_phone = forms.CharField(max_length=40, required=False, label="Add a phone number")

    def __init__(self, *args, customer=None, **kwargs):
        super().__init__(*args, **kwargs)
        current = customer.organization if customer else None
        self.fields["organization"] = OrganizationChoice.field(current)
        self.order_fields(["name", "organization"])

    def service_arguments(self) -> dict:
        """``customer_update`` keyword arguments; ``organization_id`` is resolved by the view."""
        data = dict(self.cleaned_data)
        email, phone = data.pop("add_email"), data.pop("add_phone")
        data["organization_id"] = data.pop("organization")
        data["add_emails"] = [email] if email.strip() else []
        data["add_phones"] = [phone] if phone.strip() else []
        return data


def customer_initial(customer) -> dict:
    return {
        "name": customer.name, "organization": customer.organization_id, "locale": customer.locale,
        "time_zone": customer.time_zone, "plan": customer.plan, "address": customer.address,
        "notes": customer.notes, "preferences": customer.preferences,
    }


class DomainsField(forms.CharField):
    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        value = super().to_python(value)
        return [d for d in value.replace(",", " ").split() if d]


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=200)
    external_id = forms.CharField(max_length=200, required=False, label="External id")
    domains = DomainsField(required=False, help_text="Email domains of its people, separated by commas.")
    plan = forms.CharField(max_length=100, required=False)
    notes = forms.CharField(max_length=20_000, required=False, widget=forms.Textarea(attrs={"rows": 4}))


def organization_initial(organization) -> dict:
    return {
        "name": organization.name, "external_id": organization.external_id, "domains": organization.domains,
        "plan": organization.plan, "notes": organization.notes,
    }


class NotesForm(forms.Form):
    notes = forms.CharField(max_length=20_000, required=False)
