"""The whole promise, through the real protocols: a customer mails our SMTP listener, the
acknowledgement states when they will hear from us, time passes on the scheduler, the
warning and the escalation happen, the customer is told honestly, and an agent's reply
satisfies the timer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from frontdesk.accounts.models import Group
from frontdesk.calendars.selectors import calendar_default
from frontdesk.core.clock import clock_tick
from frontdesk.notifications.models import Notification
from frontdesk.sla.models import SlaTimer
from frontdesk.sla.policy_services import sla_policy_create
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.services import ticket_assign, ticket_reply
from tests.conftest import run_tasks
from tests.mail.conftest import inbox, listener, relay, sam  # noqa: F401 - fixtures
from tests.mail.helpers import mail, send

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_keeps_the_promise_from_smtp_in_to_the_agents_reply(listener, relay, inbox, sam, admin, tier2):  # noqa: F811
    with time_machine.travel(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=True) as clock:
        Group.objects.filter(pk=inbox.group_id).update(lead=admin)
        sla_policy_create(
            actor=admin, name="Standard", is_default=True, calendar_id=calendar_default().pk,
            targets={"first_response": {"normal": 60}, "resolution": {"normal": 480}},
            warning_actions=[{"kind": "notify"}],
            breach_actions=[{"kind": "raise_priority"}, {"kind": "move_to_group", "group_id": tier2.pk}],
            send_delay_update=True,
        )
        send(listener, mail())
        run_tasks()
        ticket = Ticket.objects.get()
        [ack] = relay.messages()
        assert "You'll hear from us by Monday 2 March, 11:00 (UTC)." in ack.get_body(("plain",)).get_content()
        ticket_assign(ticket=ticket, actor=sam, assignee=sam)
        run_tasks()

        clock.move_to(datetime(2026, 3, 2, 10, 46, tzinfo=UTC))
        assert clock_tick() == 1
        run_tasks()
        assert set(Notification.objects.filter(kind="sla_warning").values_list("agent__email", flat=True)) == {
            "sam@acme.test", "ada@example.com"}
        update = relay.messages()[-1]
        assert update["Auto-Submitted"] == "auto-generated"
        assert "You'll hear from us by Monday 2 March, 11:30 (UTC)." in update.get_body(("plain",)).get_content()

        clock.move_to(datetime(2026, 3, 2, 11, 1, tzinfo=UTC))
        clock_tick()
        run_tasks()
        ticket.refresh_from_db()
        assert (ticket.priority, ticket.group) == ("high", tier2)
        timer = SlaTimer.objects.get(ticket=ticket, metric="first_response")
        assert timer.breached_at is not None and timer.state == "running"

        ticket_reply(ticket=ticket, author=admin, body="Sorry for the wait: refund issued.")
        run_tasks()
        timer.refresh_from_db()
        assert timer.state == "satisfied" and timer.elapsed_minutes in (60, 61)  # the clock ticks
        assert "refund issued" in relay.messages()[-1].get_body(("plain",)).get_content()
        assert clock_tick() == 0  # nothing more is due for this response
        actions = list(ticket.events.filter(kind="sla").values_list("after__action", flat=True))
        assert [a for a in actions if a in ("warning", "update_sent", "breached", "satisfied")] == [
            "warning", "update_sent", "breached", "satisfied"]
