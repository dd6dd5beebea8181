"""The one list of due-time columns the scheduler watches (see frontdesk/core/clock.py)."""

from frontdesk.core.clock import DueWork

DUE_WORK = [
    DueWork(
        model="tickets.Ticket",
        due_field="auto_close_at",
        task="frontdesk.tickets.tasks.ticket_auto_close",
        id_kwarg="ticket_id",
    ),
    DueWork(
        model="mail.Mailbox",
        due_field="next_poll_at",
        task="frontdesk.mail.tasks.poll_mailbox",
        id_kwarg="mailbox_id",
    ),
    DueWork(
        model="goodwill.Grant",
        due_field="approval_due_at",
        task="frontdesk.goodwill.tasks.goodwill_approval_due",
        id_kwarg="grant_id",
    ),
]
