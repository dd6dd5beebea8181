"""Follow-up tasks: thin, take ids, call one service, safe to run twice.

Subscribed to ticket events in ``frontdesk/subscriptions.py`` (``status``,
``customer_message``; ``satisfaction`` by the csat app) and handed due rows by the clock
(``frontdesk/schedules.py``).
"""

from frontdesk.core.tasks import retrying_task
from frontdesk.tickets.services import ticket_close_if_due

from . import ladder, services
from .config import close_solved_after_hours


@retrying_task
def on_status_event(*, event_id: int) -> str:
    """A status change: start the ladder (→ pending), stop it (pending → other), record how
    a ticket was solved and apply the solved settings (→ solved)."""
    started = ladder.ladder_start_for_event(event_id=event_id)
    stopped = ladder.ladder_stop_for_event(event_id=event_id)
    resolution = ladder.resolution_record_for_event(event_id=event_id)
    services.solved_for_event(event_id=event_id)
    return f"started={bool(started)} stopped={stopped} resolution={resolution.kind if resolution else None}"


@retrying_task
def on_agent_reply(*, event_id: int) -> str:
    """An agent's public reply on a pending ticket restarts its ladder."""
    return f"restarted={bool(ladder.ladder_start_for_event(event_id=event_id))}"


@retrying_task
def on_customer_message(*, event_id: int) -> str:
    return str(services.customer_wrote(event_id=event_id))


@retrying_task
def ladder_step(*, ladder_id: int) -> str:
    return ladder.ladder_advance(ladder_id=ladder_id)


@retrying_task
def follow_up_due(*, follow_up_id: int) -> str:
    return services.followup_fire(follow_up_id=follow_up_id)


@retrying_task
def snooze_wake(*, ticket_id: int) -> str:
    return services.snooze_wake_if_due(ticket_id=ticket_id)


@retrying_task
def check_in_due(*, check_in_id: int) -> str:
    return services.check_in_send_if_due(check_in_id=check_in_id)


@retrying_task
def ticket_auto_close(*, ticket_id: int) -> str:
    """Solved → closed with the period of the settings row (else the environment's)."""
    return ticket_close_if_due(ticket_id=ticket_id, close_after_hours=close_solved_after_hours())


@retrying_task
def followup_after_bad_rating(*, event_id: int) -> str:
    """Subscribed (by csat) to ``satisfaction`` events: a Bad rating → a follow-up for the lead."""
    follow_up = services.followup_after_bad_rating(event_id=event_id)
    return f"follow-up {follow_up.pk}" if follow_up else "nothing to do"
