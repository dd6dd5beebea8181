"""The ``frontdesk`` command, run as a user runs it: a subprocess on its own SQLite home."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def home_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "FRONTDESK_"))}
    env.update(FRONTDESK_HOME=str(tmp_path / "home"), FRONTDESK_SCHEDULER_INTERVAL="1",
               FRONTDESK_CLOSE_SOLVED_AFTER_HOURS="0")
    return env


def frontdesk(env, *args, check=True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "frontdesk.cli", *args], env=env, check=check,
                          capture_output=True, text=True, timeout=120)


def http(method, url, token=None, body=None):
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def wait_until(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.3)
    return False


def test_it_prints_help_for_every_command(home_env):
    for command in ["run", "demo", "web", "worker", "scheduler", "migrate", "check", "createagent"]:
        assert "usage: frontdesk" in frontdesk(home_env, command, "--help").stdout
    assert "--agent EMAIL" in frontdesk(home_env, "token", "create", "--help").stdout


def test_it_creates_agents_and_prints_only_the_token_on_the_last_line(home_env):
    frontdesk(home_env, "migrate")
    created = frontdesk(home_env, "createagent", "--email", "kim@example.com", "--name", "Kim",
                        "--role", "agent", "--group", "Support", "--group", "Returns")
    assert "created agent kim@example.com (Returns, Support)" in created.stdout

    again = frontdesk(home_env, "createagent", "--email", "kim@example.com", "--name", "Kim", check=False)
    assert again.returncode == 2 and "already exists" in again.stderr

    token = frontdesk(home_env, "token", "create", "--agent", "kim@example.com").stdout.strip().splitlines()[-1]
    assert token.startswith("fd_") and len(token) > 40
    missing = frontdesk(home_env, "token", "create", "--agent", "nobody@example.com", check=False)
    assert missing.returncode == 2


def test_it_runs_web_worker_and_scheduler_and_stops_cleanly(home_env):
    frontdesk(home_env, "migrate")
    frontdesk(home_env, "createagent", "--email", "ops@example.com", "--name", "Ops", "--role", "admin")
    token = frontdesk(home_env, "token", "create", "--agent", "ops@example.com").stdout.splitlines()[-1]
    base = f"http://127.0.0.1:{free_port()}"
    server = subprocess.Popen(
        [sys.executable, "-m", "frontdesk.cli", "run", "--http", base.removeprefix("http://"),
         "--smtp", f"127.0.0.1:{free_port()}"],
        env=home_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert wait_until(lambda: http("GET", f"{base}/healthz")[0] == 200), "web never came up"
        status, ticket = http("POST", f"{base}/api/v1/tickets", token, {
            "subject": "Printer on fire", "body": "Really.", "requester_email": "pat@example.org",
        })
        assert status == 201 and ticket["status"] == "new"
        ref = ticket["reference"]
        assert http("POST", f"{base}/api/v1/tickets/{ref}/replies", token,
                    {"body": "Extinguisher sent.", "status": "solved"})[0] == 201

        # Closing after 0 hours: the scheduler claims it and the worker closes it.
        assert wait_until(
            lambda: http("GET", f"{base}/api/v1/tickets/{ref}", token)[1]["status"] == "closed"
        ), "scheduler + worker did not close the solved ticket"
        timeline = http("GET", f"{base}/api/v1/tickets/{ref}", token)[1]["timeline"]
        closing = [e for e in timeline if e["kind"] == "status" and e["after"] == "closed"]
        assert [e["actor"] for e in closing] == ["scheduler"]
        # The worker also mailed the reply; without a relay it lands in the local outbox.
        assert wait_until(lambda: any(e["kind"] == "delivery" for e in
                                      http("GET", f"{base}/api/v1/tickets/{ref}", token)[1]["timeline"]))
        outbox = list((Path(home_env["FRONTDESK_HOME"]) / "outbox").glob("*.eml"))
        assert len(outbox) == 1 and b"Extinguisher sent." in outbox[0].read_bytes()
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output
    assert "frontdesk: stopped" in output


def test_it_loads_the_demo_once_and_prints_the_same_logins_every_time(home_env):
    first = frontdesk(home_env, "demo", "--no-serve").stdout
    second = frontdesk(home_env, "demo", "--no-serve").stdout

    assert first == second
    assert "/api/v1/docs" in first and "admin@demo.frontdesk.test" in first and "smtp://127.0.0.1:2525" in first
    counts = frontdesk(home_env, "manage", "shell", "--no-imports", "-c",
                       "from frontdesk.tickets.models import Ticket, Status; from frontdesk.mail.models import Inbox;"
                       "print(Ticket.objects.count(), sorted(set(Ticket.objects.values_list('status', flat=True))),"
                       " Inbox.objects.filter(is_default=True).count())").stdout.strip()
    assert counts == "6 ['closed', 'new', 'on_hold', 'open', 'pending', 'solved'] 1"
