"""Fixtures of the email conversation tests: our SMTP listener, a recording relay as the
outbound route, a default inbox routed to Support, and Sam, an agent of Support."""

from __future__ import annotations

import pytest

from frontdesk.accounts.services import agent_create, group_get_or_create
from frontdesk.mail.models import Inbox

from .helpers import RecordingRelay
from .test_smtp_listener import LIMITS, ListenerThread


@pytest.fixture
def relay(settings):
    server = RecordingRelay().start()
    settings.FRONTDESK_SMTP_URL = server.url
    yield server
    server.stop()


@pytest.fixture
def listener(settings, tmp_path):
    settings.FRONTDESK_HOME = tmp_path / "home"
    settings.FRONTDESK_HOME.mkdir()
    server = ListenerThread(limits=LIMITS).start()
    yield server
    server.stop()


@pytest.fixture
def inbox(db):
    group = group_get_or_create(name="Support")
    return Inbox.objects.create(name="Acme Support", address="support@acme.test", group=group,
                                from_name="Acme Support", is_default=True)


@pytest.fixture
def sam(inbox):
    return agent_create(email="sam@acme.test", name="Sam", group_names=["Support"])
