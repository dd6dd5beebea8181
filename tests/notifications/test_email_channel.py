"""Notifications asked for by email: each new notification becomes one email to its agent on
the outbound path (here: the outbox), never twice, never for an inactive agent."""

from __future__ import annotations

import pytest

from frontdesk.core.errors import InvalidInput
from frontdesk.mail.agent_mail import outbound_queue_agent_notification
from frontdesk.mail.models import OutboundKind, OutboundMessage
from frontdesk.notifications.models import Notification
from frontdesk.notifications.services import notify_agents
from tests.conftest import run_tasks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def outbox(settings, tmp_path):
    settings.FRONTDESK_SMTP_URL = ""
    settings.FRONTDESK_HOME = tmp_path
    return tmp_path / "outbox"


def test_it_emails_each_new_notification_once_per_key(outbox, agent, admin, ticket):
    sent = notify_agents(agents=[agent, admin], kind="check", text="Look at this", ticket=ticket, url="/desk/x/",
                         key="k:1", email=True, detail="Because of reasons")
    again = notify_agents(agents=[agent], kind="check", text="Look at this", ticket=ticket, key="k:1", email=True)
    run_tasks()
    assert (sent, again) == (2, 0)
    assert sorted(m.recipient for m in OutboundMessage.objects.filter(kind=OutboundKind.AGENT)) == sorted(
        [agent.email, admin.email])
    raws = [p.read_text() for p in outbox.glob("*.eml")]
    assert len(raws) == 2 and all("Because of reasons" in r and "/desk/x/" in r for r in raws)


def test_it_queues_one_email_however_often_the_task_runs(outbox, agent, ticket):
    notify_agents(agents=[agent], kind="check", text="Once", ticket=ticket, email=True)
    notification = Notification.objects.get()
    run_tasks()
    assert outbound_queue_agent_notification(notification_id=notification.pk) is None
    assert OutboundMessage.objects.filter(notification=notification).count() == 1


def test_it_emails_nobody_inactive(outbox, agent, ticket):
    notify_agents(agents=[agent], kind="check", text="Later", ticket=ticket, email=True)
    agent.is_active = False
    agent.save()
    run_tasks()
    assert not OutboundMessage.objects.exists()


def test_it_refuses_an_emailed_notification_without_a_ticket(agent):
    with pytest.raises(InvalidInput, match="needs its ticket"):
        notify_agents(agents=[agent], kind="check", text="Orphan", email=True)
    assert not Notification.objects.exists()


def test_a_plain_notification_is_not_emailed(outbox, agent, ticket):
    notify_agents(agents=[agent], kind="check", text="Quiet", ticket=ticket)
    run_tasks()
    assert not OutboundMessage.objects.filter(kind=OutboundKind.AGENT).exists()
