"""PostgreSQL goes away while Frontdesk runs, and comes back: pages and the API answer 503 with
a clear message (not a 500), /healthz says why, the SMTP listener answers 4xx so senders retry,
nothing acknowledged is lost, and every process recovers by itself — no restart.

Real ``frontdesk web`` and ``frontdesk smtp`` processes reach the test database through a TCP
proxy that the test cuts and restores.
"""

from __future__ import annotations

import json
import os
import smtplib
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from frontdesk.accounts.services import agent_create, token_create
from frontdesk.mail.models import InboundMessage

from .tcp_proxy import TcpProxy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the outage test cuts a PostgreSQL connection (set DATABASE_URL=postgres://…)")


@pytest.fixture
def proxy():
    db = connection.settings_dict
    server = TcpProxy(target=(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))).start()
    yield server
    server.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def start(tmp_path, proxy):
    db = connection.settings_dict
    url = f"postgres://{db['USER'] or 'postgres'}@127.0.0.1:{proxy.port}/{db['NAME']}?conn_max_age=600"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "FRONTDESK_"))}
    # The test's secret key, so the session it signs in with is valid in the web process.
    env.update(DATABASE_URL=url, FRONTDESK_HOME=str(tmp_path / "home"), FRONTDESK_LOG_LEVEL="WARNING",
               FRONTDESK_SECRET_KEY=settings.SECRET_KEY,
               PYTHONPATH=os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")]))
    processes = []

    def run(*args: str) -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, "-m", "frontdesk.cli", *args], env=env, cwd=REPO,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(process)
        return process

    yield run
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _get(url: str, token: str | None = None, session: str | None = None) -> tuple[int, dict, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if session:
        headers["Cookie"] = f"sessionid={session}"
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def _eventually(check, *, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (urllib.error.URLError, ConnectionError, smtplib.SMTPException, OSError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError("the condition never held")
        time.sleep(0.5)


def _send(port: int, n: int) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as client:
        client.sendmail("maria@example.net", ["support@acme.test"],
                        f"From: maria@example.net\r\nTo: support@acme.test\r\nSubject: Outage {n}\r\n"
                        f"Message-ID: <outage-{n}@example.net>\r\n\r\nHello {n}\r\n")


def test_it_answers_503_during_an_outage_and_recovers_by_itself(start, proxy):
    ops = agent_create(email="ops@example.com", name="Ops", role="admin")
    token = token_create(agent=ops)
    browser = Client()
    browser.force_login(ops)
    session = browser.cookies["sessionid"].value
    web, smtp_port = f"http://127.0.0.1:{_free_port()}", _free_port()
    start("web", "--http", web.removeprefix("http://"), "--workers", "1")
    start("smtp", "--smtp", f"127.0.0.1:{smtp_port}")
    # Starting processes on a busy CI machine can take a while: generous, only for start-up.
    _eventually(lambda: _get(f"{web}/api/v1/tickets", token)[0] == 200, timeout=120)
    _eventually(lambda: _send(smtp_port, 1) is None, timeout=120)

    proxy.stop()
    status, headers, body = _get(f"{web}/api/v1/tickets", token)
    assert status == 503, body and json.loads(body)["error"] == "database_unavailable"
    assert headers.get("Retry-After") == "30"
    status, _, body = _get(f"{web}/desk/", session=session)
    assert status == 503 and "cannot reach its database" in body
    status, _, body = _get(f"{web}/healthz")
    assert status == 503 and json.loads(body)["database"]["status"] == "error"
    assert _get(f"{web}/livez")[0] == 200
    with pytest.raises(smtplib.SMTPResponseException) as refused:
        _send(smtp_port, 2)
    assert 400 <= refused.value.smtp_code < 500  # the sender keeps it and retries

    proxy.start()
    _eventually(lambda: _get(f"{web}/api/v1/tickets", token)[0] == 200)
    _eventually(lambda: _get(f"{web}/healthz")[0] == 200)
    status, _, body = _get(f"{web}/desk/", session=session)
    assert status == 200 and 'name="password"' not in body, "the workspace, not the sign-in page"
    _eventually(lambda: _send(smtp_port, 2) is None)  # the sender's retry
    stored = sorted(InboundMessage.objects.values_list("message_id", flat=True))
    assert stored == ["outage-1@example.net", "outage-2@example.net"]
