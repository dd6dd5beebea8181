"""Portal background tasks: thin, take ids, safe to run twice."""

from frontdesk.core.tasks import retrying_task


@retrying_task
def contact_acknowledge(*, ticket_id: int, inbox_id: int | None, to: str, customer_name: str) -> str:
    """Email the confirmation of a ticket opened through the contact form."""
    from .intake import contact_ack_queue

    return contact_ack_queue(ticket_id=ticket_id, inbox_id=inbox_id, to=to, customer_name=customer_name)
