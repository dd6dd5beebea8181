"""With REDIS_URL set, the workspace keeps working when Redis is unreachable (presence, counts and
throttles degrade) and uses Redis again when it answers."""

from __future__ import annotations

import socket

import pytest
import redis
from django.core.cache import cache

from tests.desk.conftest import client_for

pytestmark = pytest.mark.django_db

REAL_REDIS = "redis://127.0.0.1:6379/15"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_cache(settings, url: str) -> None:
    settings.CACHES = {"default": {
        "BACKEND": "frontdesk.core.cache.ResilientRedisCache", "LOCATION": url,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }}


def test_it_serves_pages_and_sign_in_while_redis_is_down(settings, agent, ticket, client):
    _redis_cache(settings, f"redis://127.0.0.1:{_closed_port()}/0")

    assert cache.get("anything", "fallback") == "fallback"
    cache.set("k", 1)  # forgotten, not an error
    signed_in = client_for(agent)
    assert signed_in.get("/desk/").status_code == 200
    assert signed_in.get(f"/desk/tickets/{ticket.reference}/").status_code == 200
    assert signed_in.post(f"/desk/tickets/{ticket.reference}/presence/", {"typing": "0"}).status_code == 200
    wrong = client.post("/desk/login/", {"username": agent.email, "password": "wrong"})
    assert wrong.status_code == 200 and b"Please enter a correct email and password" in wrong.content


def test_it_uses_redis_when_it_answers(settings):
    try:
        redis.Redis.from_url(REAL_REDIS, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis server at 127.0.0.1:6379")
    _redis_cache(settings, REAL_REDIS)

    cache.set("frontdesk-test-key", {"shared": True}, 30)
    assert redis.Redis.from_url(REAL_REDIS).exists(":1:frontdesk-test-key")
    assert cache.get("frontdesk-test-key") == {"shared": True}
    cache.delete("frontdesk-test-key")
