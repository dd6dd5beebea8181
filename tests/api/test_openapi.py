"""/api/v1/openapi.json: the machine-readable description integrations generate clients from.

It is public, like django-ninja's default: it describes the API, not data, and every
operation in it still needs a token.
"""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def schema_response(db):
    return Client(raise_request_exception=False).get("/api/v1/openapi.json")


def test_it_does_not_ask_for_a_token(schema_response):
    # Whatever else goes wrong, the schema is not behind authentication.
    assert schema_response.status_code not in (401, 403)


def test_it_serves_the_schema_without_a_token(schema_response):
    assert schema_response.status_code == 200, schema_response.content[:300]
    assert schema_response["Content-Type"].startswith("application/json")


def test_it_serves_the_schema_to_an_agent_too(api_as, agent):
    response = Client(raise_request_exception=False).get(
        "/api/v1/openapi.json", headers=api_as(agent).headers)
    assert response.status_code == 200, response.content[:300]


def test_it_describes_every_ticket_endpoint(schema_response):
    assert schema_response.status_code == 200
    paths = schema_response.json()["paths"]
    expected = {
        "/api/v1/tickets": {"get", "post"},
        "/api/v1/tickets/{reference}": {"get"},
        "/api/v1/tickets/{reference}/replies": {"post"},
        "/api/v1/tickets/{reference}/notes": {"post"},
        "/api/v1/tickets/{reference}/customer-messages": {"post"},
        "/api/v1/tickets/{reference}/assignment": {"put"},
        "/api/v1/tickets/{reference}/status": {"put"},
        "/api/v1/tickets/{reference}/priority": {"put"},
        "/api/v1/tickets/{reference}/tags": {"post"},
        "/api/v1/tickets/{reference}/merge": {"post"},
        "/api/v1/tickets/{reference}/ccs": {"put"},
        "/api/v1/attachments/{public_id}": {"get"},
        "/api/v1/customers": {"get", "post"},
        "/api/v1/organizations": {"get", "post"},
        "/api/v1/me": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))


def test_it_declares_bearer_authentication(schema_response):
    assert schema_response.status_code == 200
    schema = schema_response.json()
    schemes = schema["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= schemes["BearerToken"].items()
    create = schema["paths"]["/api/v1/tickets"]["post"]
    assert {"BearerToken": []} in create["security"]
    assert schema["info"]["title"] == "Frontdesk API"


def test_it_serves_the_docs_page_without_a_token(db):
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content
