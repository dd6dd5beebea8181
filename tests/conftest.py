"""Personas and helpers shared by every test.

Personas: ``admin`` (sees everything; plays the supervisor), ``agent`` (Support group),
``light`` (Support, read and note only), ``outsider`` (Billing group only: must see nothing
of Support's tickets), ``customer`` (the requester of ``ticket``).
"""

from __future__ import annotations

import json
import signal

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client

from frontdesk.accounts.services import agent_create, group_get_or_create, token_create
from frontdesk.customers.services import customer_create
from frontdesk.tickets.services import ticket_create


@pytest.fixture(autouse=True)
def _isolated_attachments(settings, tmp_path):
    settings.FRONTDESK_ATTACHMENTS_DIR = tmp_path / "attachments"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters, presence and cached counts live in the process-wide cache: no test
    sees another's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def support(db):
    return group_get_or_create(name="Support", tier=1)


@pytest.fixture
def billing(db):
    return group_get_or_create(name="Billing", tier=1)


@pytest.fixture
def tier2(db):
    return group_get_or_create(name="Tier 2", tier=2)


@pytest.fixture
def admin(db):
    return agent_create(email="ada@example.com", name="Ada Admin", role="admin")


@pytest.fixture
def agent(support):
    return agent_create(email="sam@example.com", name="Sam Support", group_names=["Support"])


@pytest.fixture
def light(support):
    return agent_create(email="lee@example.com", name="Lee Light", role="light", group_names=["Support"])


@pytest.fixture
def outsider(billing):
    return agent_create(email="olga@example.com", name="Olga Outsider", group_names=["Billing"])


@pytest.fixture
def customer(db):
    return customer_create(name="Maria Lopez", emails=["maria@example.net"], time_zone="Europe/Madrid")


@pytest.fixture
def ticket(customer, support):
    return ticket_create(
        subject="Charged twice", requester=customer, body="My card was charged twice.",
        group=support, tags=["billing"],
    )


def run_tasks() -> None:
    """Run every ready background task now, as a worker would.

    Tests that call this need real commits (``@pytest.mark.django_db(transaction=True)``):
    the worker closes connections it finds inside a transaction, as in production.
    """
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        call_command("db_worker", batch=True, interval=0, startup_delay=False, verbosity=0)
    finally:  # the worker installs its own shutdown handlers; give pytest its own back
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


class ApiClient:
    """Django's test client speaking JSON with a bearer token."""

    def __init__(self, token: str | None):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _send(self, method: str, path: str, body=None, **params):
        kwargs = {"headers": self.headers}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        elif params:
            kwargs["data"] = params
        return getattr(self.client, method)(f"/api/v1{path}", **kwargs)

    def get(self, path, **params):
        return self._send("get", path, **params)

    def post(self, path, body=None):
        return self._send("post", path, body if body is not None else {})

    def put(self, path, body):
        return self._send("put", path, body)

    def patch(self, path, body):
        return self._send("patch", path, body)

    def delete(self, path):
        return self._send("delete", path)


@pytest.fixture
def api_as():
    """``api_as(agent)`` → an ApiClient authenticated with a fresh token of that agent."""
    return lambda who: ApiClient(token_create(agent=who) if who is not None else None)
