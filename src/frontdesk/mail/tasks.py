"""Mail background tasks: thin, take ids, safe to run twice."""

import logging

from frontdesk.core.tasks import PRIORITY_INGEST, PRIORITY_INTERACTIVE, retrying_task

from .delivery import MAX_DELIVERY_ATTEMPTS

# Incoming mail goes before bulk work: a burst is turned into tickets before the worker
# delivers the acknowledgements it queued (agents see the tickets; mail follows). An agent's
# reply goes before both: a burst of mail must not hold it back (core.tasks, DESIGN.md).
PROCESS_PRIORITY = PRIORITY_INGEST

logger = logging.getLogger(__name__)


# PostgreSQL's answer when two transactions wait for each other (one is rolled back).
RETRY_AT_ONCE_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure
RETRIES_AT_ONCE = 3


@retrying_task(priority=PROCESS_PRIORITY)
def process_inbound(*, inbound_ids: list[int]) -> str:
    """Process the messages one SMTP group commit (or one IMAP fetch) stored (or several,
    joined while waiting).

    Two workers may deadlock on PostgreSQL (one processes a reply whose sender it has just
    created while the other, holding that original, creates the same sender): the database
    rolls one transaction back. Its messages are processed again at once, a few times, before
    the task fails and waits for its backoff: ``inbound_process_many`` is idempotent and
    re-reads what is still waiting."""
    import time

    from django.db import OperationalError

    from .batch import inbound_process_many

    for attempt in range(1, RETRIES_AT_ONCE + 1):
        try:
            outcomes = inbound_process_many(inbound_ids=inbound_ids)
            break
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) not in RETRY_AT_ONCE_SQLSTATES or attempt == RETRIES_AT_ONCE:
                raise
            logger.warning("processing inbound %s…: %s; again at once", inbound_ids[:3], exc)
            time.sleep(0.05 * attempt)
    return ", ".join(f"{count} {status}" for status, count in sorted(outcomes.items()) if count)


@retrying_task(max_attempts=MAX_DELIVERY_ATTEMPTS)
def deliver_outbound(*, outbound_id: int) -> str:
    from .delivery import outbound_deliver

    return outbound_deliver(outbound_id=outbound_id)


@retrying_task
def deliver_outbound_many(*, outbound_ids: list[int]) -> str:
    """Deliver the acknowledgements the pipeline queued, together (``outbound_deliver_many``).
    A delivery that fails for now goes on as a ``deliver_outbound`` task of its own, with that
    task's retries and backoff; one that failed unexpectedly is run again by its own task,
    which shows the error."""
    from django.utils import timezone

    from frontdesk.core.tasks import retry_delay

    from .delivery import outbound_deliver_many

    sent, retry, broken = outbound_deliver_many(outbound_ids=outbound_ids)
    for outbound_id in retry:
        deliver_outbound.using(run_after=timezone.now() + retry_delay(1)).enqueue(attempt=2, outbound_id=outbound_id)
    for outbound_id in broken:
        deliver_outbound.enqueue(outbound_id=outbound_id)
    return f"{sent} delivered, {len(retry)} to retry, {len(broken)} handed to their own task"


@retrying_task(priority=PRIORITY_INTERACTIVE)
def email_reply(*, event_id: int) -> str:
    """Subscribed to ticket ``reply`` events: queue the reply as email to the requester."""
    from .outbound import outbound_queue_reply

    outbound = outbound_queue_reply(event_id=event_id)
    return f"queued {outbound.pk}" if outbound else "nothing to send"


@retrying_task
def email_automatic(*, event_id: int) -> str:
    """Subscribed to ticket ``automatic`` events: mail the automatic message to the requester."""
    from .outbound import outbound_queue_automatic

    outbound = outbound_queue_automatic(event_id=event_id)
    return f"queued {outbound.pk}" if outbound else "nothing to send"


@retrying_task
def poll_mailbox(*, mailbox_id: int) -> str:
    """Claimed from ``Mailbox.next_poll_at`` by the scheduler. The poll sets the next due
    time itself (``now + poll_interval``; nothing for a disabled mailbox), so every round
    schedules the next one."""
    from .imap import mailbox_poll

    return str(mailbox_poll(mailbox_id=mailbox_id))


@retrying_task
def email_survey(*, event_id: int) -> str:
    """Subscribed to ticket ``survey`` events: mail the satisfaction survey (Good / Bad links)."""
    from .survey_mail import outbound_queue_survey

    outbound = outbound_queue_survey(event_id=event_id)
    return f"queued {outbound.pk}" if outbound else "nothing to send"


@retrying_task
def email_notification(*, notification_id: int) -> str:
    """The ``email`` channel of agent notifications (subscriptions.NOTIFICATION_CHANNELS)."""
    from .agent_mail import outbound_queue_agent_notification

    outbound = outbound_queue_agent_notification(notification_id=notification_id)
    return f"queued {outbound.pk}" if outbound else "nothing to send"
