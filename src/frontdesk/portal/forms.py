"""Forms of the customer pages: input parsing and messages only; the rules live in services."""

from __future__ import annotations

import time

from django import forms
from django.conf import settings
from django.core import signing
from django.template.defaultfilters import filesizeformat

from frontdesk.tickets.attachments import NewAttachment
from frontdesk.tickets.services import MAX_BODY_CHARS

MAX_FILES = 10
STARTED_SALT = "frontdesk.portal.contact-started"
STARTED_MAX_AGE = 24 * 3600


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Zero or more files, each within FRONTDESK_MAX_ATTACHMENT_BYTES."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        files = [item for item in (data if isinstance(data, list | tuple) else [data]) if item]
        if len(files) > MAX_FILES:
            raise forms.ValidationError(f"Attach at most {MAX_FILES} files.", code="too_many_files")
        limit = settings.FRONTDESK_MAX_ATTACHMENT_BYTES
        for item in files:
            super().clean(item, initial)
            if item.size > limit:
                raise forms.ValidationError(
                    "“%(name)s” is %(size)s; each file can be at most %(limit)s.",
                    code="attachment_too_large",
                    params={"name": item.name, "size": filesizeformat(item.size), "limit": filesizeformat(limit)},
                )
        return files


def new_attachments(files) -> list[NewAttachment]:
    return [
        NewAttachment(filename=item.name, content=item.read(), content_type=item.content_type or "")
        for item in files
    ]


def started_token() -> str:
    """A signed timestamp for the form's hidden ``started`` field."""
    return signing.TimestampSigner(salt=STARTED_SALT).sign(str(int(time.time())))


def started_at(token: str) -> int | None:
    """When the form was served, if ``token`` is ours and not older than a day."""
    try:
        began = int(signing.TimestampSigner(salt=STARTED_SALT).unsign(token or "", max_age=STARTED_MAX_AGE))
    except (signing.BadSignature, ValueError):
        return None
    return began if 0 <= time.time() - began <= STARTED_MAX_AGE else None


class ContactForm(forms.Form):
    name = forms.CharField(label="Your name", max_length=200)
    email = forms.EmailField(label="Your email address", max_length=254,
                             help_text="We send our answer and a link to the conversation here.")
    subject = forms.CharField(label="Subject", max_length=250)
    message = forms.CharField(label="How can we help?", widget=forms.Textarea(attrs={"rows": 8}),
                              max_length=MAX_BODY_CHARS)
    attachments = AttachmentsField(
        label="Attachments (optional)",
        help_text=f"Up to {MAX_FILES} files, each at most "
                  f"{filesizeformat(settings.FRONTDESK_MAX_ATTACHMENT_BYTES)}.",
    )
    # The honeypot: hidden from people (CSS and aria-hidden), filled in by naive bots.
    website = forms.CharField(label="Leave this field empty", required=False,
                              widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}))
    started = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["autocomplete"] = "name"
        self.fields["email"].widget.attrs["autocomplete"] = "email"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("website"):
            raise forms.ValidationError(
                "Please leave the field “Leave this field empty” empty and send again.", code="honeypot"
            )
        began = started_at(cleaned.get("started", ""))
        if began is None:
            raise forms.ValidationError(
                "This form was open too long or came from elsewhere; please check it and send it again.",
                code="stale_form",
            )
        if time.time() - began < settings.FRONTDESK_CONTACT_MIN_SECONDS:
            raise forms.ValidationError(
                "That was very quick. Please check your message and send it again.", code="too_fast"
            )
        return cleaned


class ReplyForm(forms.Form):
    body = forms.CharField(label="Your reply", widget=forms.Textarea(attrs={"rows": 6}), max_length=MAX_BODY_CHARS)
    attachments = AttachmentsField(
        label="Attachments (optional)",
        help_text=f"Up to {MAX_FILES} files, each at most "
                  f"{filesizeformat(settings.FRONTDESK_MAX_ATTACHMENT_BYTES)}.",
    )


class LinkRequestForm(forms.Form):
    email = forms.EmailField(label="Your email address", max_length=254)
    reference = forms.CharField(label="Ticket reference", max_length=16,
                                help_text="The 8 characters in brackets in our emails’ subject, e.g. 7KQ4M2XD.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs["autocomplete"] = "email"

    def clean_reference(self):
        return self.cleaned_data["reference"].strip().strip("[]#").upper()
