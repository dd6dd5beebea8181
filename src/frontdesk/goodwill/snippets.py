"""The reply snippet of a gesture, with its variables filled."""

from __future__ import annotations

from datetime import timedelta
from string import Formatter

from django.utils import timezone

VARIABLES = ("code", "amount", "currency", "expiry", "name")


def fill_snippet(grant) -> str:
    """The gesture's snippet with {code} {amount} {currency} {expiry} {name} filled. Unknown
    or malformed placeholders are left as written (an admin typo must not break a grant)."""
    gesture = grant.gesture
    expiry = ""
    if gesture.expiry_days:
        expiry = (grant.requested_at + timedelta(days=gesture.expiry_days)).astimezone(
            timezone.get_current_timezone()).strftime("%-d %B %Y")
    values = {
        "code": grant.code or "", "amount": f"{grant.value:.2f}", "currency": grant.currency,
        "expiry": expiry, "name": grant.customer.name or "",
    }
    text = gesture.snippet or ""
    out = []
    try:
        parsed = list(Formatter().parse(text))
    except ValueError:
        return text
    for literal, field, spec, conversion in parsed:
        out.append(literal)
        if field is None:
            continue
        if field in values and not spec and not conversion:
            out.append(values[field])
        else:
            out.append("{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}")
    return "".join(out)
