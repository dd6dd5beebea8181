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
def sla_timer_check(*, timer_id: int) -> str:
    """Claimed by the scheduler at a timer's warning or due instant (frontdesk/schedules.py)."""
    return services.sla_timer_evaluate(timer_id=timer_id)
