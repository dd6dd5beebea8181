"""SLA background tasks: thin, take ids, call one service, safe to run twice."""

from frontdesk.core.tasks import retrying_task
from frontdesk.tickets.models import TicketEvent

from . import services


@retrying_task
def sla_on_ticket_event(*, event_id: int) -> int:
    """Subscribed to the ticket events that move timers (frontdesk/subscriptions.py)."""
    ticket_id = TicketEvent.objects.filter(pk=event_id).values_list("ticket_id", flat=True).first()
    return services.sla_apply_events(ticket_id=ticket_id) if ticket_id else 0


@retrying_task
def sla_on_ticket_events(*, event_ids: list[int]) -> str:
    """The batch form (``subscriptions.MANY``): one task for the tickets of a mail batch, an
    event each. A ticket whose events fail is handed to ``sla_on_ticket_event``, with that
    task's retries and its failure visible; the others are kept."""
    event_of = dict(TicketEvent.objects.filter(pk__in=event_ids).values_list("ticket_id", "pk"))
    applied, failed = services.sla_apply_events_many(ticket_ids=list(event_of))
    for ticket_id in failed:
        sla_on_ticket_event.enqueue(event_id=event_of[ticket_id])
    return f"{applied} events on {len(event_of)} tickets, {len(failed)} handed to their own task"


@retrying_task
def sla_timer_check(*, timer_id: int) -> str:
    """Claimed by the scheduler at a timer's warning or due instant (frontdesk/schedules.py)."""
    return services.sla_timer_evaluate(timer_id=timer_id)
