from frontdesk.tickets.models import Status, Visibility
from frontdesk.tickets.services import ticket_add_note


def test_it_adds_an_internal_note_without_changing_status(ticket, light):
    note = ticket_add_note(ticket=ticket, author=light, body="Customer called, see CRM.")

    ticket.refresh_from_db()
    assert note.visibility == Visibility.INTERNAL
    assert ticket.status == Status.NEW
    assert ticket.events.filter(kind="note", message=note, actor_agent=light).exists()
