import pytest
from django.test import Client

from frontdesk.accounts.services import agent_create

PASSWORD = "correct horse battery 9"


@pytest.fixture
def admin_with_password(db):
    return agent_create(email="root@example.com", name="Root", role="admin", password=PASSWORD)


def test_it_lets_administrators_use_the_admin_site(admin_with_password, ticket):
    client = Client()
    assert client.login(email="root@example.com", password=PASSWORD)

    for path in ["/admin/", "/admin/tickets/ticket/", f"/admin/tickets/ticket/{ticket.pk}/change/",
                 "/admin/customers/customer/", "/admin/django_tasks_database/dbtaskresult/"]:
        assert client.get(path).status_code == 200, path


def test_it_keeps_other_agents_out_of_the_admin_site(support):
    agent_create(email="a@example.com", name="A", password=PASSWORD, group_names=["Support"])
    client = Client()
    assert client.login(email="a@example.com", password=PASSWORD)

    assert client.get("/admin/").status_code == 302


def test_it_serves_the_api_docs_from_our_own_static_files(db):
    page = Client().get("/api/v1/docs").content.decode()

    assert "cdn." not in page and "/static/ninja/swagger-ui-bundle.js" in page
    assert Client().get("/static/ninja/swagger-ui-bundle.js").status_code == 200


def test_it_answers_the_browsers_favicon_request_with_our_icon():
    response = Client().get("/favicon.ico", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[0][0].endswith("/static/frontdesk/favicon.svg")
    assert response["Content-Type"].startswith("image/svg+xml")
