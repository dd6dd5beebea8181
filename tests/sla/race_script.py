"""Helper process of the SQLite race test (the test database is in memory, where two
connections cannot race; here each process is a real connection to one file database).

    python -m tests.sla.race_script setup            → prints the timer id
    python -m tests.sla.race_script evaluate ID T    → evaluates timer ID at epoch second T
    python -m tests.sla.race_script count ID         → prints "warnings breaches priority_changes"
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

import django
import time_machine

MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def main(command: str, *args: str) -> None:
    django.setup()
    from frontdesk.sla.models import SlaTimer

    if command == "setup":
        from frontdesk.accounts.services import agent_create, group_get_or_create
        from frontdesk.calendars.selectors import calendar_default
        from frontdesk.customers.services import customer_create
        from frontdesk.sla.policy_services import sla_policy_create
        from frontdesk.tickets.services import ticket_create
        from tests.sla.helpers import drain

        with time_machine.travel(MONDAY_10, tick=False):
            admin = agent_create(email="ada@example.com", name="Ada", role="admin")
            support = group_get_or_create(name="Support")
            sla_policy_create(actor=admin, name="Premium", is_default=True, calendar_id=calendar_default().pk,
                              targets={"first_response": {"normal": 120}},
                              breach_actions=[{"kind": "raise_priority"}])
            customer = customer_create(name="V", emails=["v@example.org"])
            ticket = ticket_create(subject="x", requester=customer, body="y", group=support)
            drain()
        print(SlaTimer.objects.get(ticket=ticket, metric="first_response").pk)
    elif command == "evaluate":
        from frontdesk.sla.services import sla_timer_evaluate

        timer_id, start = int(args[0]), float(args[1])
        time.sleep(max(0.0, start - time.time()))
        with time_machine.travel(MONDAY_10 + timedelta(minutes=130), tick=False):
            print(sla_timer_evaluate(timer_id=timer_id))
    elif command == "count":
        from frontdesk.tickets.models import TicketEvent

        ticket_id = SlaTimer.objects.get(pk=int(args[0])).ticket_id
        actions = list(TicketEvent.objects.filter(ticket_id=ticket_id, kind="sla").values_list(
            "after__action", flat=True))
        priority = TicketEvent.objects.filter(ticket_id=ticket_id, kind="priority").count()
        print(actions.count("warning"), actions.count("breached"), priority)


if __name__ == "__main__":
    main(*sys.argv[1:])
