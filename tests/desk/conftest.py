"""Helpers of the workspace tests (the personas are in tests/conftest.py)."""

from __future__ import annotations

from django.test import Client


def client_for(agent) -> Client:
    """A test client signed in as ``agent``."""
    client = Client()
    client.force_login(agent)
    return client
