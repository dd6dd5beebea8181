"""The SSRF guard (frontdesk/core/ssrf.py): non-public targets refused before anything is
sent, unless explicitly allow-listed; redirects never followed; the checked address is pinned."""

from __future__ import annotations

import http.server
import threading

import pytest

from frontdesk.core import ssrf


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://127.1/", "http://2130706433/", "http://0.0.0.0/", "http://10.1.2.3/",
    "http://172.16.0.1/", "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/", "http://224.0.0.1/", "http://240.0.0.1/", "http://[::1]/", "http://[fe80::1]/",
    "http://[fc00::1]/", "http://[::ffff:127.0.0.1]/", "http://localhost:8000/",
])
def test_it_refuses_non_public_destinations(url):
    with pytest.raises(ssrf.BlockedDestination):
        ssrf.resolve_target(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://example.com/", "ftp://example.com/",
                                 "http://user:pw@example.com/", "http:///nohost", "http://example.com:99999/"])
def test_it_refuses_other_schemes_credentials_and_broken_urls(url):
    with pytest.raises(ssrf.BlockedDestination):
        ssrf.resolve_target(url)


def test_it_accepts_a_public_address_and_pins_it():
    target = ssrf.resolve_target("https://93.184.215.14:8443/hook?x=1")
    assert (target.ip, target.port, target.path, target.host) == ("93.184.215.14", 8443, "/hook?x=1", "93.184.215.14")


def test_a_name_resolving_to_loopback_is_refused_unless_allow_listed(settings):
    with pytest.raises(ssrf.BlockedDestination):
        ssrf.resolve_target("http://localhost/")
    settings.FRONTDESK_WEBHOOK_ALLOW_PRIVATE = ["127.0.0.0/8", "::1"]
    assert ssrf.resolve_target("http://localhost/").ip in ("127.0.0.1", "::1")
    settings.FRONTDESK_WEBHOOK_ALLOW_PRIVATE = ["localhost"]
    assert ssrf.resolve_target("http://localhost/").host == "localhost"
    with pytest.raises(ssrf.BlockedDestination):
        ssrf.resolve_target("http://10.0.0.1/")  # allow-listing one host opens no other


def test_the_per_endpoint_flag_allows_private_targets():
    assert ssrf.resolve_target("http://10.0.0.1/", allow_private=True).ip == "10.0.0.1"


@pytest.fixture
def redirecting_server():
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append(self.path)
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", seen
    server.shutdown()
    server.server_close()


def test_it_never_follows_redirects(redirecting_server):
    url, seen = redirecting_server
    with pytest.raises(ssrf.OutboundError, match="redirect"):
        ssrf.guarded_request(method="POST", url=url, body=b"{}", allow_private=True)
    assert seen == ["/hook"]  # one request, to us only


def test_it_sends_the_original_host_header_to_the_pinned_address(settings):
    received = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received["host"] = self.headers["Host"]
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.FRONTDESK_WEBHOOK_ALLOW_PRIVATE = ["localhost"]
        port = server.server_address[1]
        response = ssrf.guarded_request(method="POST", url=f"http://localhost:{port}/x", body=b"{}")
        assert response.status == 204 and received["host"] == f"localhost:{port}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_unreachable_target_is_an_outbound_error():
    with pytest.raises(ssrf.OutboundError):
        ssrf.guarded_request(method="POST", url="http://127.0.0.1:9/", allow_private=True, timeout=2)
