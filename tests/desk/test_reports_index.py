"""The workspace's reports index: one entry in the navigation, each report listed for who may see it."""

import pytest

from tests.desk.conftest import client_for

pytestmark = pytest.mark.django_db


def test_it_lists_the_reports_an_agent_may_open(agent, admin):
    page = client_for(agent).get("/desk/reports/").content.decode()
    assert 'href="/desk/reports/sla/"' in page and 'href="/desk/reports/csat/"' in page
    assert "/desk/goodwill/reports/" not in page  # admins only
    assert 'href="/desk/reports/" aria-current="page"' in page

    assert "/desk/goodwill/reports/" in client_for(admin).get("/desk/reports/").content.decode()


def test_it_asks_anonymous_visitors_to_sign_in(client):
    response = client.get("/desk/reports/")
    assert response.status_code == 302 and "/desk/login/" in response["Location"]
