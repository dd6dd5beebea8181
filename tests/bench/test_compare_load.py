"""The load generator of bench/helpdesk_compare.py against a real local HTTP server: what it
sends is what the comparison's figures stand on (a form post without its CSRF token, or all
posts from one address, would measure 403s or the throttle instead of a new ticket)."""

from __future__ import annotations

import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from compare_load import Job, Target, run_client  # noqa: E402

FORM = (b'<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="tok-123">'
        b'<input type="hidden" name="started" value="signed:1700000000"></form>')


class Recorder(BaseHTTPRequestHandler):
    posts: list[tuple[str, str, dict]] = []
    status = 302

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Set-Cookie", "csrftoken=cookie-abc; Path=/; SameSite=Lax")
        self.send_header("Content-Length", str(len(FORM)))
        self.end_headers()
        self.wfile.write(FORM)

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.posts.append((self.client_address[0], self.headers.get("Cookie", ""), parse_qs(body)))
        self.send_response(self.status)
        self.send_header("Location", "/sent/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Recorder.posts, Recorder.status = [], 302
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def post_target() -> Target:
    return Target("form POST", "POST", ["/help/"], cookie="sessionid=s-1",
                  form="csrfmiddlewaretoken={csrf}&started={started}&email=c.{n}%40example.test",
                  ok=(302,))


def test_it_posts_the_served_form_with_its_token_cookies_and_a_new_address_each_time(server):
    result = run_client(Job(port=server, target=post_target(), start_at=time.time(), duration=0.5,
                            client=1, offset=0))

    assert result.errors == 0 and len(result.latencies) == len(Recorder.posts) >= 3
    addresses = [address for address, _, _ in Recorder.posts]
    assert len(set(addresses)) == len(addresses) and all(a.startswith("127.3.") for a in addresses)
    for _, cookie, fields in Recorder.posts:
        assert "csrftoken=cookie-abc" in cookie and "sessionid=s-1" in cookie
        assert fields["csrfmiddlewaretoken"] == ["tok-123"] and fields["started"] == ["signed:1700000000"]
    emails = [fields["email"][0] for _, _, fields in Recorder.posts]
    assert len(set(emails)) == len(emails)


def test_it_counts_an_unexpected_status_as_an_error_with_a_sample(server):
    Recorder.status = 403

    result = run_client(Job(port=server, target=post_target(), start_at=time.time(), duration=0.3,
                            client=0, offset=0))

    assert result.latencies == [] and result.errors == len(Recorder.posts) >= 1
    assert result.error_samples[0].startswith("POST /help/: 403")
