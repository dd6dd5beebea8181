"""Shared API schema pieces: strict input (unknown fields are errors), cursor pages."""

from __future__ import annotations

import base64
import binascii

from django.db.models import QuerySet
from ninja import Schema
from pydantic import ConfigDict

from frontdesk.core.errors import InvalidInput


class StrictIn(Schema):
    """Base for every input schema: an unknown field is refused, never silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def id_page(items: QuerySet, *, cursor: str | None, limit: int) -> tuple[list, str | None]:
    """Keyset page by ascending id, with an opaque cursor for the next page."""
    if cursor:
        try:
            after = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidInput("The cursor is not valid; start again without it.", code="invalid_cursor") from exc
        items = items.filter(pk__gt=after)
    rows = list(items.order_by("pk")[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    last = str(rows[limit - 1].pk).encode()
    return rows[:limit], base64.urlsafe_b64encode(last).decode().rstrip("=")
