"""The rating in the workspace: the ticket page, its timeline, the customer panel and profile."""

from __future__ import annotations

import pytest

from frontdesk.csat.services import rating_record
from frontdesk.tickets.models import Status
from frontdesk.tickets.services import ticket_create, ticket_set_status
from tests.desk.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def rated(ticket, agent, customer):
    ticket_set_status(ticket=ticket, actor=agent, status=Status.SOLVED)
    rating_record(ticket=ticket, customer=customer, score="good", comment="Sam was <script>great</script>")
    rating_record(ticket=ticket, customer=customer, score="bad", comment="Broke again next day")
    return ticket


def test_it_shows_the_rating_and_comment_on_the_ticket_page(rated, agent):
    page = client_for(agent).get(f"/desk/tickets/{rated.reference}/").content.decode()

    assert 'data-rating="bad">Bad</span>' in page
    assert "Broke again next day" in page
    assert "Maria Lopez</strong> rated the support Good: “Sam was &lt;script&gt;great&lt;/script&gt;”" in page
    assert "changed the rating from Good to Bad: “Broke again next day”" in page
    assert "<script>great" not in page


def test_it_shows_when_the_survey_is_due_or_sent(ticket, agent):
    from tests.csat.helpers import solve

    solve(ticket, agent)
    page = client_for(agent).get(f"/desk/tickets/{ticket.reference}/").content.decode()
    assert "Survey due" in page


def test_it_lists_the_customers_ratings_in_the_panel_and_profile(rated, agent, customer, support):
    other = ticket_create(subject="Second", body="Another one", requester=customer, group=support)
    client = client_for(agent)

    panel = client.get(f"/desk/tickets/{other.reference}/").content.decode()
    profile = client.get(f"/desk/customers/{customer.pk}/").content.decode()

    for page in (panel, profile):
        assert f'href="/desk/tickets/{rated.reference}/">#{rated.reference}</a>' in page
        assert "Broke again next day" in page


def test_it_hides_ratings_of_tickets_the_agent_cannot_see(rated, outsider, customer):
    profile = client_for(outsider).get(f"/desk/customers/{customer.pk}/").content.decode()

    assert "No ratings yet." in profile
    assert "Broke again next day" not in profile
