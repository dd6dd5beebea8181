"""Portal fixtures: a default inbox routed to Support, and helpers to open a conversation the
way a customer does (token → session)."""

from __future__ import annotations

import re
import time

import pytest
from django.core import signing
from django.test import Client

from frontdesk.mail.models import Inbox
from frontdesk.portal.forms import STARTED_SALT
from frontdesk.portal.services import link_issue, link_path


@pytest.fixture
def inbox(support):
    return Inbox.objects.create(name="Acme Support", address="support@acme.test", group=support,
                                from_name="Acme Support", is_default=True)


def started(seconds_ago: int = 30) -> str:
    """The contact form's signed start time, as if the page was served ``seconds_ago``."""
    return signing.TimestampSigner(salt=STARTED_SALT).sign(str(int(time.time()) - seconds_ago))


def acknowledge() -> int:
    """Run the ready ``contact_acknowledge`` tasks in this test's transaction, as the worker
    does after the form's commit → how many ran."""
    from django_tasks_db.models import DBTaskResult

    rows = list(DBTaskResult.objects.ready().filter(task_path="frontdesk.portal.tasks.contact_acknowledge"))
    for row in rows:
        DBTaskResult.objects.filter(pk=row.pk).delete()
        row.task.func(**row.args_kwargs["kwargs"])
    return len(rows)


def open_conversation(client: Client, ticket) -> str:
    """Follow a fresh link like a customer; returns the token-free conversation URL."""
    response = client.get(link_path(link_issue(ticket=ticket)))
    assert response.status_code == 302, response.content[:300]
    return response["Location"]


def without_csrf(html: bytes) -> str:
    """A page with its per-request values (CSRF token, CSP nonce) blanked, for comparisons."""
    text = html.decode()
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "csrf", text)
    text = re.sub(r'"X-CSRFToken": "[^"]*"', "csrf", text)
    return re.sub(r'nonce="[^"]*"', "nonce", text)
