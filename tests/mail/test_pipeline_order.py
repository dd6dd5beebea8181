"""Threading must not depend on the order in which workers happen to process a burst."""

import pytest

from frontdesk.mail.models import InboundMessage, InboundStatus
from frontdesk.mail.pipeline import inbound_process
from frontdesk.mail.spool import Envelope, SpoolWriter, spool_index
from frontdesk.tickets.models import Ticket

ORIGINAL = (b"From: Maria <maria@example.net>\r\nTo: support@acme.test\r\nSubject: Broken tablet\r\n"
            b"Message-ID: <orig@example.net>\r\n\r\nThe screen is cracked.\r\n")
REPLY = (b"From: Maria <maria@example.net>\r\nTo: support@acme.test\r\nSubject: Re: Broken tablet\r\n"
         b"Message-ID: <reply@example.net>\r\nIn-Reply-To: <orig@example.net>\r\n\r\nAlso the battery.\r\n")


def store(raw: bytes) -> InboundMessage:
    writer = SpoolWriter()
    writer.write(raw)
    return spool_index(spooled=writer.commit(envelope=Envelope(mail_from="maria@example.net",
                                                               rcpt_tos=("support@acme.test",))))


@pytest.fixture
def home(settings, tmp_path):
    settings.FRONTDESK_HOME = tmp_path


def test_it_knows_the_message_id_as_soon_as_the_mail_is_stored(db, home):
    assert store(ORIGINAL).message_id == "orig@example.net"


def test_it_threads_a_reply_processed_before_its_original(db, home):
    original, reply = store(ORIGINAL), store(REPLY)

    assert inbound_process(inbound_id=reply.pk) == InboundStatus.PROCESSED
    assert inbound_process(inbound_id=original.pk) == "skipped"  # already done, on the reply's behalf

    ticket = Ticket.objects.get()
    assert ticket.subject == "Broken tablet"
    assert list(ticket.messages.values_list("body_text", flat=True)) == ["The screen is cracked.", "Also the battery."]
    assert set(InboundMessage.objects.values_list("status", "ticket_id")) == {("processed", ticket.pk)}


def test_it_does_not_loop_on_messages_that_reference_each_other(db, home):
    one = store(ORIGINAL.replace(b"\r\n\r\n", b"\r\nReferences: <reply@example.net>\r\n\r\n", 1))
    two = store(REPLY)

    inbound_process(inbound_id=one.pk)
    inbound_process(inbound_id=two.pk)

    assert Ticket.objects.count() == 1
    assert InboundMessage.objects.filter(status=InboundStatus.PROCESSED).count() == 2
