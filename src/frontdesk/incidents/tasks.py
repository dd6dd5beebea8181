"""Incident background tasks (reach): thin, ids in, safe to run twice.

A chunk task that dies with its worker (SIGKILL) is handed back to the queue by the worker
heartbeat (``FRONTDESK_WORKER_DEAD_AFTER``); its deliveries that were not committed are still
pending and are sent then, the committed ones are skipped by their claim."""

from __future__ import annotations

from frontdesk.core.tasks import retrying_task


@retrying_task
def broadcast_fan_out(*, broadcast_id: int) -> str:
    from .broadcasts import broadcast_fan_out as fan_out

    return f"{fan_out(broadcast_id=broadcast_id)} deliveries scheduled"


@retrying_task
def broadcast_send_chunk(*, ids: list[int]) -> str:
    from .broadcasts import broadcast_delivery_send
    from .distribution import gesture_text_for_deliveries

    gesture_text = gesture_text_for_deliveries(ids)
    outcomes: dict[str, int] = {}
    for delivery_id in ids:
        outcome = broadcast_delivery_send(delivery_id=delivery_id, gesture_text=gesture_text)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return ", ".join(f"{count} {name}" for name, count in sorted(outcomes.items()))


@retrying_task
def gesture_fan_out(*, incident_gesture_id: int) -> str:
    from .distribution import gesture_fan_out as fan_out

    return f"{fan_out(incident_gesture_id=incident_gesture_id)} grants scheduled"


@retrying_task
def gesture_grant_chunk(*, ids: list[int]) -> str:
    from .distribution import gesture_delivery_grant

    outcomes: dict[str, int] = {}
    for delivery_id in ids:
        outcome = gesture_delivery_grant(delivery_id=delivery_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return ", ".join(f"{count} {name}" for name, count in sorted(outcomes.items()))


@retrying_task
def reach_added_customers(*, incident_id: int, affected_ids: list[int]) -> str:
    """Customers added to an incident after an update or the gesture went out: the latest
    update and the gesture reach them too."""
    from .distribution import reach_added

    return reach_added(incident_id=incident_id, affected_ids=affected_ids)
