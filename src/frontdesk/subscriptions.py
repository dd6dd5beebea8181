"""The one list of which ticket timeline events start which tasks in other apps.

``tickets`` never imports a feature app; a feature app that must react to a ticket change
(send the reply by email, start an SLA timer…) adds ``event kind → task path`` here. Each
task receives ``event_id`` and is enqueued in the same transaction as the event.
"""

from __future__ import annotations

from django.utils.module_loading import import_string

from frontdesk.core.tasks import enqueue_on_commit

SUBSCRIPTIONS: dict[str, list[str]] = {
    "reply": ["frontdesk.mail.tasks.email_reply", "frontdesk.followups.tasks.on_agent_reply"],
    "automatic": ["frontdesk.mail.tasks.email_automatic"],
    "status": [
        "frontdesk.followups.tasks.on_status_event",
        "frontdesk.csat.tasks.survey_schedule_after_solve",
    ],
    "customer_message": ["frontdesk.followups.tasks.on_customer_message"],
    "survey": ["frontdesk.mail.tasks.email_survey"],
    "satisfaction": ["frontdesk.followups.tasks.followup_after_bad_rating"],
}

# SLA timers follow every ticket change that starts, pauses, satisfies or re-targets them
# (one task per event; whichever runs first applies all of the ticket's events in order).
for _kind in ("created", "reply", "customer_message", "status", "priority", "group", "tags"):
    SUBSCRIPTIONS.setdefault(_kind, []).append("frontdesk.sla.tasks.sla_on_ticket_event")


def notify_subscribers(event) -> None:
    for task_path in SUBSCRIPTIONS.get(event.kind, ()):
        enqueue_on_commit(import_string(task_path), event_id=event.pk)


# Channels agent notifications go out through besides the in-app list (``notifications`` never
# imports ``mail``): a notification asked for by email enqueues these tasks with its id.
NOTIFICATION_CHANNELS: dict[str, list[str]] = {
    "email": ["frontdesk.mail.tasks.email_notification"],
}


def notify_channel(channel: str, notification) -> None:
    for task_path in NOTIFICATION_CHANNELS.get(channel, ()):
        enqueue_on_commit(import_string(task_path), notification_id=notification.pk)
