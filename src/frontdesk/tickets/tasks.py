"""Ticket background tasks: thin, take ids, call one service, safe to run twice."""

from frontdesk.core.tasks import retrying_task

from . import services


@retrying_task
def ticket_auto_close(*, ticket_id: int) -> str:
    return services.ticket_close_if_due(ticket_id=ticket_id)
