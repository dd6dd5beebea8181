"""Rendering customer-visible message bodies."""

from __future__ import annotations

import nh3
from django import template
from django.utils.safestring import mark_safe

from frontdesk.core.text import URL_SCHEMES

register = template.Library()

# The stored HTML is already sanitized; this is the second wall, and it drops images: inline
# ones point at the agents' attachment URLs (the files are listed as downloads instead) and
# remote ones are trackers.
PORTAL_TAGS = set(nh3.ALLOWED_TAGS) - {"img", "map", "area"}


@register.filter
def portal_html(value: str) -> str:
    # Safe because nh3 has just cleaned it.
    return mark_safe(nh3.clean(value or "", tags=PORTAL_TAGS, url_schemes=URL_SCHEMES,  # noqa: S308
                               link_rel="noopener noreferrer nofollow"))
