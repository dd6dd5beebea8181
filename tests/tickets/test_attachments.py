import stat

import pytest

from frontdesk.core.errors import InvalidInput
from frontdesk.tickets.attachments import NewAttachment, open_file
from frontdesk.tickets.services import ticket_add_note


def test_it_stores_files_outside_served_folders_with_safe_names(ticket, agent, settings):
    note = ticket_add_note(ticket=ticket, author=agent, body="logs attached", attachments=[
        NewAttachment(filename="../../etc/passwd\r\n.txt", content=b"secret", content_type="text/html"),
    ])

    attachment = note.attachments.get()
    assert attachment.filename == "passwd .txt"
    path = settings.FRONTDESK_ATTACHMENTS_DIR / attachment.stored_name
    assert path.read_bytes() == b"secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert str(attachment.public_id) not in attachment.stored_name  # public id reveals no path
    with open_file(attachment.stored_name) as handle:
        assert handle.read() == b"secret"


def test_it_refuses_oversize_files(ticket, agent, settings):
    settings.FRONTDESK_MAX_ATTACHMENT_BYTES = 10

    with pytest.raises(InvalidInput):
        ticket_add_note(ticket=ticket, author=agent, body="x",
                        attachments=[NewAttachment(filename="big.bin", content=b"x" * 11)])
    assert ticket.messages.count() == 1
