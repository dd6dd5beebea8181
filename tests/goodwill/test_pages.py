"""The workspace pages: the ticket's goodwill panel, the customer panel, reports."""

from __future__ import annotations

import pytest

from frontdesk.goodwill.models import GrantStatus
from frontdesk.goodwill.services import gesture_grant
from frontdesk.tickets.services import ticket_create
from tests.desk.conftest import client_for

pytestmark = pytest.mark.django_db


def panel_url(ticket):
    return f"/desk/tickets/{ticket.reference}/goodwill/"


def test_the_ticket_page_loads_the_panel(ticket, agent):
    page = client_for(agent).get(f"/desk/tickets/{ticket.reference}/").content.decode()
    assert f'hx-get="{panel_url(ticket)}"' in page and "goodwill/goodwill.js" in page


def test_the_panel_shows_gestures_and_the_remaining_budget(ticket, agent, agent_mandate, credit):
    page = client_for(agent).get(panel_url(ticket)).content.decode()
    assert "Account credit — 5.00–200.00 EUR" in page
    assert "up to 50.00 EUR per gesture · 100.00 EUR left this month" in page


def test_granting_from_the_panel_offers_the_snippet(ticket, agent, agent_mandate, voucher):
    page = client_for(agent).post(panel_url(ticket), {"gesture": voucher.pk, "reason": "delay"}).content.decode()
    assert 'data-goodwill-result="fulfilled"' in page and "CODE-0" in page
    assert "data-goodwill-insert" in page and "Here is a voucher for 10.00 EUR: CODE-0" in page
    assert "90.00 EUR left this month" in page


def test_the_panel_shows_refusals(ticket, agent, agent_mandate, credit):
    page = client_for(agent).post(panel_url(ticket), {"gesture": credit.pk, "value": "-3", "reason": "delay"})
    assert page.status_code == 200 and "cannot be negative" in page.content.decode()
    page = client_for(agent).post(panel_url(ticket), {"gesture": "x", "reason": "delay"}).content.decode()
    assert "Choose a gesture" in page


def test_above_mandate_the_panel_says_it_is_being_approved(ticket, agent, supervisor, credit):
    page = client_for(agent).post(panel_url(ticket), {"gesture": credit.pk, "value": "90", "reason": "outage"})
    assert 'data-goodwill-result="pending"' in page.content.decode()
    assert "it is being approved and we will confirm it shortly" in page.content.decode()


def test_hidden_tickets_are_404_and_light_agents_cannot_grant(ticket, outsider, light, agent_mandate, credit):
    assert client_for(outsider).get(panel_url(ticket)).status_code == 404
    assert client_for(outsider).post(panel_url(ticket), {"gesture": credit.pk, "reason": "delay"}).status_code == 404
    assert "Light agents cannot grant" in client_for(light).get(panel_url(ticket)).content.decode()
    page = client_for(light).post(panel_url(ticket), {"gesture": credit.pk, "value": "10", "reason": "delay"})
    assert "Light agents" in page.content.decode()


def test_the_customer_panel_lists_every_gesture(ticket, customer, agent, outsider, agent_mandate, voucher):
    gesture_grant(ticket=ticket, agent=agent, gesture=voucher, value="10", currency="EUR", reason="loyalty")
    page = client_for(agent).get(f"/desk/customers/{customer.pk}/").content.decode()
    assert f'hx-get="/desk/customers/{customer.pk}/goodwill/"' in page
    mine = client_for(agent).get(f"/desk/customers/{customer.pk}/goodwill/").content.decode()
    assert "Voucher 10" in mine and f"#{ticket.reference}" in mine
    theirs = client_for(outsider).get(f"/desk/customers/{customer.pk}/goodwill/").content.decode()
    assert "Voucher 10" in theirs and f"#{ticket.reference}" not in theirs  # listed, ticket not linked


def test_suggestions_explain_themselves(ticket, customer, support, agent, settings):
    settings.FRONTDESK_GOODWILL_HIGH_VALUE_PLANS = ["Gold"]
    settings.FRONTDESK_GOODWILL_TICKETS_PER_MONTH = 2
    assert "data-goodwill-suggestion" not in client_for(agent).get(panel_url(ticket)).content.decode()
    customer.plan = "gold"
    customer.save()
    ticket_create(subject="again", requester=customer, body="x", group=support)
    page = client_for(agent).get(panel_url(ticket)).content.decode()
    assert "high-value plan “gold”" in page and "opened 2 tickets this month" in page


def test_reports_page_is_for_admins(admin, agent, ticket, agent_mandate, credit):
    gesture_grant(ticket=ticket, agent=agent, gesture=credit, value="12", currency="EUR", reason="outage")
    assert client_for(agent).get("/desk/goodwill/reports/").status_code == 404
    page = client_for(admin).get("/desk/goodwill/reports/").content.decode()
    assert "12.00 EUR" in page and "outage" in page


def test_the_timeline_describes_goodwill_events(ticket, agent, agent_mandate, voucher):
    g = gesture_grant(ticket=ticket, agent=agent, gesture=voucher, value="10", currency="EUR", reason="loyalty")
    assert g.status == GrantStatus.FULFILLED
    page = client_for(agent).get(f"/desk/tickets/{ticket.reference}/").content.decode()
    assert "granted Voucher 10 (10.00 EUR)" in page and "voucher CODE-0 handed out" in page


def test_admins_import_vouchers_from_a_csv_file(admin, voucher):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(admin)
    url = f"/admin/goodwill/gesture/{voucher.pk}/vouchers/"
    assert b"3 unused codes" in client.get(url).content
    upload = SimpleUploadedFile("codes.csv", b"\xef\xbb\xbfcode\nNEW-A\nNEW-B\nCODE-1\n", content_type="text/csv")
    assert client.post(url, {"file": upload}).status_code == 302
    assert voucher.vouchers.filter(grant__isnull=True).count() == 5


def test_the_snippet_leaves_unknown_placeholders_alone(ticket, agent, agent_mandate, voucher):
    from frontdesk.goodwill.snippets import fill_snippet

    voucher.snippet = "Hi {name}: {code} {unknown} {amount:>10} {"
    voucher.save()
    g = gesture_grant(ticket=ticket, agent=agent, gesture=voucher, value="10", currency="EUR", reason="loyalty")
    assert fill_snippet(g) == "Hi {name}: {code} {unknown} {amount:>10} {"  # malformed: kept as written
    voucher.snippet = "Hi {name}: {code} {unknown} {amount:>10}"
    voucher.save()
    g.refresh_from_db()
    assert fill_snippet(g) == "Hi Maria Lopez: CODE-0 {unknown} {amount:>10}"
