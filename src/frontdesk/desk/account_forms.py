"""The agent's own settings on the account page: their time zone."""

from __future__ import annotations

from django import forms
from django.conf import settings

from frontdesk.accounts.models import time_zone_names


def _zones() -> list[tuple[str, str]]:
    return [("", f"The instance's ({settings.TIME_ZONE})"), *((name, name) for name in sorted(time_zone_names()))]


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Time zone", required=False, choices=_zones,
        help_text="The workspace shows dates and times in it, and reads the times you enter in it.",
    )
