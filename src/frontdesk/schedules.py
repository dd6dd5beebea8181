"""The one list of due-time columns the scheduler watches (see frontdesk/core/clock.py)."""

from frontdesk.core.clock import DueWork

DUE_WORK = [
    DueWork(
        model="tickets.Ticket",
        due_field="auto_close_at",
        # followups' task: the same service, with the period of its settings row.
        task="frontdesk.followups.tasks.ticket_auto_close",
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
    DueWork(model="followups.Ladder", due_field="next_step_at",
            task="frontdesk.followups.tasks.ladder_step", id_kwarg="ladder_id"),
    DueWork(model="followups.FollowUp", due_field="fire_at",
            task="frontdesk.followups.tasks.follow_up_due", id_kwarg="follow_up_id"),
    DueWork(model="followups.Snooze", due_field="wake_at",
            task="frontdesk.followups.tasks.snooze_wake", id_kwarg="ticket_id"),
    DueWork(model="followups.CheckIn", due_field="send_at",
            task="frontdesk.followups.tasks.check_in_due", id_kwarg="check_in_id"),
    DueWork(
        model="csat.Survey",
        due_field="send_at",
        task="frontdesk.csat.tasks.survey_send",
        id_kwarg="survey_id",
    ),
    DueWork(
        model="sla.SlaTimer",
        due_field="next_check_at",
        task="frontdesk.sla.tasks.sla_timer_check",
        id_kwarg="timer_id",
    ),
]
