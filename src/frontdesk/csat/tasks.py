"""Satisfaction background tasks: thin, take ids, safe to run twice."""

from frontdesk.core.tasks import retrying_task


@retrying_task
def survey_schedule_after_solve(*, event_id: int) -> str:
    """Subscribed to ticket ``status`` events: a solve makes the ticket's survey due."""
    from .services import survey_schedule

    survey = survey_schedule(event_id=event_id)
    return f"survey {survey.pk} due {survey.send_at}" if survey else "no survey"


@retrying_task
def survey_send(*, survey_id: int) -> str:
    """Claimed from ``Survey.send_at`` by the clock: hand the survey to mail, once."""
    from .services import survey_send_if_due

    return survey_send_if_due(survey_id=survey_id)
