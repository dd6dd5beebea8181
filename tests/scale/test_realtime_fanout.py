"""Real-time signals across web processes: an agent whose page is served by one ``frontdesk
web`` process sees presence, typing and new messages caused through another — through Redis
with REDIS_URL, through the shared file cache of one machine without it — and a Redis that
does not answer only empties presence.

Real ``frontdesk web`` processes (one gunicorn worker each, so each is one process) on the
test database; the pages poll (``static/desk/ticket.js``), so "fan-out" is shared state that
every process reads: the cache for presence, the database for messages.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from frontdesk.accounts.services import agent_create, token_create
from frontdesk.customers.services import customer_create
from frontdesk.tickets.services import ticket_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("FRONTDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("several web processes share one PostgreSQL database (set DATABASE_URL=postgres://…)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_answers() -> bool:
    parts = urllib.parse.urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def webs(tmp_path):
    """``webs(count, redis_url)``: that many ``frontdesk web`` processes sharing one
    FRONTDESK_HOME and the test database; returns their base URLs once they answer."""
    db = connection.settings_dict
    url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    processes = []

    def start(count: int, redis_url: str | None) -> list[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "FRONTDESK_", "REDIS_URL"))}
        # The test's secret key: the sessions it signs in (force_login) hold an HMAC made with it.
        env.update(DATABASE_URL=url, FRONTDESK_HOME=str(tmp_path / "home"), FRONTDESK_LOG_LEVEL="WARNING",
                   FRONTDESK_SECRET_KEY=settings.SECRET_KEY,
                   PYTHONPATH=os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")]))
        if redis_url:
            env["REDIS_URL"] = redis_url
        bases = []
        for _ in range(count):
            base = f"127.0.0.1:{_free_port()}"
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "frontdesk.cli", "web", "--http", base, "--workers", "1"],
                env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            bases.append(f"http://{base}")
        for base in bases:
            _eventually(lambda base=base: _call("GET", f"{base}/livez")[0] == 200, timeout=120)
        return bases

    yield start
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _call(method: str, url: str, *, session: str | None = None, form: dict | None = None,
          token: str | None = None, json_body: bytes | None = None) -> tuple[int, str]:
    headers, data = {}, None
    if session:
        csrf = "c" * 32  # any secret works when the cookie and the header carry the same one
        headers.update(Cookie=f"sessionid={session}; csrftoken={csrf}", **{"X-CSRFToken": csrf})
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if json_body is not None:
        data, headers["Content-Type"] = json_body, "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _eventually(check, *, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError("the condition never held")
        time.sleep(0.3)


def _session(agent) -> str:
    browser = Client()
    browser.force_login(agent)
    return browser.cookies["sessionid"].value


@pytest.fixture
def desk():
    name = f"Xavier {secrets.token_hex(3)}"  # shared Redis: never mistake another run's agent
    xavier = agent_create(email="xavier@example.com", name=name, role="admin")
    yara = agent_create(email="yara@example.com", name="Yara", role="admin")
    customer = customer_create(name="Maria Lopez", emails=["maria@example.net"])
    ticket = ticket_create(subject="Fan-out", requester=customer, body="First message.")
    return {"xavier": xavier, "name": name, "yara": yara, "ticket": ticket, "token": token_create(agent=xavier),
            "x_session": _session(xavier), "y_session": _session(yara)}


def _presence(base: str, session: str, ticket, typing: str = "") -> str:
    status, body = _call("POST", f"{base}/desk/tickets/{ticket.reference}/presence/", session=session,
                         form={"typing": typing})
    assert status == 200, body
    return body


def _signals_cross(a: str, b: str, desk) -> None:
    """Xavier works through ``b``; Yara's page, served by ``a``, sees it."""
    ticket, name = desk["ticket"], desk["name"]
    assert name not in _presence(a, desk["y_session"], ticket)
    _presence(b, desk["x_session"], ticket)
    _eventually(lambda: name in _presence(a, desk["y_session"], ticket) and "is viewing" in
                _presence(a, desk["y_session"], ticket))
    _presence(b, desk["x_session"], ticket, typing="reply")
    _eventually(lambda: f"{name}</strong>\n    is typing a reply" in _presence(a, desk["y_session"], ticket))
    newest = ticket.messages.order_by("-id").values_list("id", flat=True).first()
    assert _call("GET", f"{a}/desk/tickets/{ticket.reference}/messages/new/?after={newest}",
                 session=desk["y_session"])[0] == 204
    status, body = _call("POST", f"{b}/api/v1/tickets/{ticket.reference}/replies", token=desk["token"],
                         json_body=b'{"body": "Sent through the other process."}')
    assert status == 201, body
    status, body = _call("GET", f"{a}/desk/tickets/{ticket.reference}/messages/new/?after={newest}",
                         session=desk["y_session"])
    assert status == 200 and "Sent through the other process." in body
    _call("POST", f"{b}/desk/tickets/{ticket.reference}/presence/", session=desk["x_session"], form={"leave": "1"})
    _eventually(lambda: name not in _presence(a, desk["y_session"], ticket))


def test_it_fans_presence_typing_and_messages_out_through_redis(webs, desk):
    if not _redis_answers():
        pytest.skip(f"no Redis at {REDIS_URL}")
    a, b = webs(2, REDIS_URL)
    _signals_cross(a, b, desk)


def test_it_shares_them_between_the_processes_of_one_machine_without_redis(webs, desk):
    a, b = webs(2, None)
    _signals_cross(a, b, desk)


def test_it_degrades_to_no_presence_when_redis_does_not_answer(webs, desk):
    closed = f"redis://127.0.0.1:{_free_port()}/0"
    a, b = webs(2, closed)
    ticket = desk["ticket"]
    _presence(b, desk["x_session"], ticket, typing="reply")
    assert desk["name"] not in _presence(a, desk["y_session"], ticket)  # nothing shared, no error
    assert _call("GET", f"{a}/desk/tickets/{ticket.reference}/", session=desk["y_session"])[0] == 200
    status, body = _call("POST", f"{b}/api/v1/tickets/{ticket.reference}/replies", token=desk["token"],
                         json_body=b'{"body": "Still delivered."}')
    assert status == 201, body
    assert "Still delivered." in _call("GET", f"{a}/desk/tickets/{ticket.reference}/messages/new/?after=0",
                                       session=desk["y_session"])[1]
