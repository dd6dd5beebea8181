"""Goodwill personas and catalog.

``agent`` (Support) holds the role mandate of agents: 50 EUR per gesture, 100 EUR a month,
80 EUR per customer in 30 days. ``supervisor`` (Support) holds a personal mandate of 500 EUR.
``admin`` approves anything. Catalog: a credit by webhook (5–200 EUR), a 10 EUR voucher from a
pool, a 30 EUR gift by manual task. 1 USD = 0.90 EUR.
"""

from __future__ import annotations

import http.server
import json
import threading
from decimal import Decimal

import pytest

from frontdesk.accounts.services import agent_create
from frontdesk.goodwill.models import ExchangeRate, Gesture, Mandate, Voucher, WebhookEndpoint
from frontdesk.goodwill.services import sign
from tests.mail.helpers import RecordingRelay


@pytest.fixture
def rates(db):
    return ExchangeRate.objects.create(currency="USD", rate=Decimal("0.90"))


@pytest.fixture
def agent_mandate(db, rates):
    return Mandate.objects.create(
        role="agent", currency="EUR", max_per_gesture=Decimal("50"), monthly_budget=Decimal("100"),
        max_per_customer=Decimal("80"), customer_period_days=30,
    )


@pytest.fixture
def supervisor(support, agent_mandate):
    person = agent_create(email="sue@example.com", name="Sue Supervisor", group_names=["Support"])
    Mandate.objects.create(agent=person, currency="EUR", max_per_gesture=Decimal("500"))
    return person


@pytest.fixture
def endpoint(db):
    return WebhookEndpoint.objects.create(
        name="Billing back-office", url="http://127.0.0.1:9/credit", secret="s3cret", allow_private=True,
        timeout_seconds=5,
    )


@pytest.fixture
def credit(endpoint):
    return Gesture.objects.create(
        name="Account credit", kind="account_credit", currency="EUR", min_value=Decimal("5"),
        max_value=Decimal("200"), fulfilment="webhook", endpoint=endpoint,
        snippet="Dear {name}, we added {amount} {currency} to your account.",
    )


@pytest.fixture
def voucher(db):
    gesture = Gesture.objects.create(
        name="Voucher 10", kind="voucher", currency="EUR", value=Decimal("10"), fulfilment="voucher_pool",
        expiry_days=30, snippet="Here is a voucher for {amount} {currency}: {code} (valid until {expiry}).",
    )
    Voucher.objects.bulk_create([Voucher(gesture=gesture, code=f"CODE-{n}") for n in range(3)])
    return gesture


@pytest.fixture
def gift(support):
    return Gesture.objects.create(
        name="Flowers", kind="physical_gift", currency="EUR", value=Decimal("30"), fulfilment="manual",
        task_group=support, snippet="We are sending you flowers.",
    )


class BackOffice:
    """A back-office on 127.0.0.1: answers 500 ``fail_first`` times, then credits each
    idempotency key once. Checks the signature of every request."""

    def __init__(self, *, fail_first: int = 0, secret: str = "s3cret", status: int = 200, location: str = ""):
        self.fail_first, self.secret, self.status, self.location = fail_first, secret, status, location
        self.requests: list[dict] = []
        self.credits: dict[str, str] = {}
        self.bad_signatures = 0
        office = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                office.requests.append({"headers": dict(self.headers), "body": body})
                if self.headers.get("X-Frontdesk-Signature") != sign(body, office.secret):
                    office.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                if len(office.requests) <= office.fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                if office.location:
                    self.send_response(office.status)
                    self.send_header("Location", office.location)
                    self.end_headers()
                    return
                data = json.loads(body)
                office.credits.setdefault(data["idempotency_key"], data["value"])
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/credit"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def back_office():
    offices = []

    def start(**kwargs) -> BackOffice:
        office = BackOffice(**kwargs)
        offices.append(office)
        return office

    yield start
    for office in offices:
        office.close()


@pytest.fixture
def relay(settings):
    """A real local SMTP server as the outbound relay; links in mail point at the test server."""
    server = RecordingRelay().start()
    settings.FRONTDESK_SMTP_URL = server.url
    settings.FRONTDESK_BASE_URL = "http://testserver"
    yield server
    server.stop()
