"""Business calendars in the admin site, in a real browser: the services' checks show on the
form, inline intervals are added with the admin's own "Add another" button."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from frontdesk.calendars.models import BusinessCalendar
from frontdesk.calendars.schedule import schedule_for
from tests.calendars.conftest import BERLIN, at

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_admin_creates_a_calendar_with_a_lunch_break(page, page_problems, login_as, admin):
    login_as(page, admin)
    page.goto("/admin/calendars/businesscalendar/add/")
    page.get_by_label("Name").fill("Support hours (Berlin)")
    page.get_by_label("Time zone").fill("Europe/Berlin")
    page.get_by_label("Country").fill("DE")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".errornote, .errorlist").first).to_be_visible()
    expect(page.get_by_text("A calendar needs at least one opening interval (or mark it open 24/7).")).to_be_visible()
    assert not BusinessCalendar.objects.exists()

    add_row = page.get_by_text("Add another Opening interval")
    for index, (opens, closes) in enumerate([("09:00", "12:00"), ("13:00", "17:00")]):
        add_row.click()
        page.locator(f"#id_intervals-{index}-weekday").select_option("0")
        page.locator(f"#id_intervals-{index}-start_minute").fill(opens)
        page.locator(f"#id_intervals-{index}-end_minute").fill(closes)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist .success")).to_contain_text("Support hours (Berlin)")

    calendar = BusinessCalendar.objects.get()
    assert schedule_for(calendar).add_minutes(at(BERLIN, 2025, 6, 16, 11, 30), 60) == at(BERLIN, 2025, 6, 16, 13, 30)
    page.locator("#result_list").get_by_role("link", name="Support hours (Berlin)").click()
    expect(page.locator("#id_intervals-1-end_minute")).to_have_value("17:00")
    assert not page_problems, page_problems
    assert not page_problems.csp_violations(page)
