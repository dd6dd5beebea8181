"""Small pieces of workspace markup built in Python where the template engine was the cost
(a select's options loop runs once per agent or group on every page)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

_SELECTED = mark_safe(" selected")


def options_html(
    options: Iterable[tuple], *, is_selected: Callable[[object], bool] = lambda value: False,
    empty: tuple[str, bool] | None = None,
) -> SafeString:
    """``<option value="…">text</option>`` for each (value, text), ``selected`` where
    ``is_selected(value)``; ``empty``: (text, selected) of a first option with an empty value.
    Values and texts are escaped."""
    parts = []
    if empty is not None:
        parts.append(format_html('<option value=""{}>{}</option>\n    ', _SELECTED if empty[1] else "", empty[0]))
    parts.extend(
        format_html('<option value="{}"{}>{}</option>', value, _SELECTED if is_selected(value) else "", text)
        for value, text in options
    )
    return mark_safe("".join(parts))  # noqa: S308 - each part is format_html's


# Dates as the templates' ``date`` filter writes them (in the current time zone), for the rows
# built in Python: a third of the cost of ``dateformat.format`` (measured: 28 → 11 µs).
def date_c(value) -> str:
    """``|date:"c"``."""
    return timezone.localtime(value).isoformat()


def date_short(value, *, year: bool = False) -> str:
    """``|date:"j M, H:i"``, or ``|date:"j M Y, H:i"`` with ``year``."""
    local = timezone.localtime(value)
    month = MONTHS_3[local.month].title()
    return (f"{local.day} {month} {local.year:04d}, {local.hour:02d}:{local.minute:02d}" if year
            else f"{local.day} {month}, {local.hour:02d}:{local.minute:02d}")


def date_minute(value) -> str:
    """``|date:"Y-m-d H:i"``."""
    local = timezone.localtime(value)
    return f"{local.year:04d}-{local.month:02d}-{local.day:02d} {local.hour:02d}:{local.minute:02d}"
