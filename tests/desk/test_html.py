"""desk/html.py: markup built in Python says what the templates said."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.utils import timezone

from frontdesk.desk.html import date_c, date_minute, date_short, options_html


@pytest.mark.parametrize("zone", ["UTC", "Europe/Madrid", "America/Sao_Paulo"])
@pytest.mark.parametrize("value", [
    datetime(2026, 1, 5, 7, 3, 9, 120, tzinfo=UTC), datetime(2026, 11, 24, 23, 59, tzinfo=UTC),
])
def test_it_writes_dates_as_the_date_filter(value, zone):
    with timezone.override(zone):
        django = Template('{{ d|date:"c" }}|{{ d|date:"j M, H:i" }}|{{ d|date:"j M Y, H:i" }}|{{ d|date:"Y-m-d H:i" }}')
        assert django.render(Context({"d": value})) == "|".join(
            [date_c(value), date_short(value), date_short(value, year=True), date_minute(value)])


def test_it_escapes_option_values_and_texts():
    html = options_html([(1, "<b>Ann</b>"), ('"2', "Bo & co")], is_selected=lambda v: v == 1, empty=("— none —", False))
    assert html == ('<option value="">— none —</option>\n    <option value="1" selected>&lt;b&gt;Ann&lt;/b&gt;</option>'
                    '<option value="&quot;2">Bo &amp; co</option>')
