"""The From of what we send names the inbox exactly as configured, through a real SMTP relay.

Python's header folder, given a long display name that needs quoting, folds it outside the
quotes: ``Acme "Support", Inc. …`` then reads as two addresses, the first without a domain.
A long non-ASCII name is several RFC 2047 words; the readers that follow RFC 2047 §6.2 (here
``email.header.decode_header``) join them exactly."""

from __future__ import annotations

from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import compat32
from email.utils import getaddresses

import pytest

from frontdesk.mail.models import Inbox
from frontdesk.mail.parsing import parse_message
from frontdesk.tickets.services import ticket_create, ticket_reply
from tests.conftest import run_tasks

pytestmark = pytest.mark.django_db(transaction=True)

BASES = ['Acme "Support", Inc. (Northern Region) ', "Acme Support Team of the Northern Region ",
         "Équipe d'assistance Acme – Région Nord ", "山田太郎 サポートチーム "]
NAMES = sorted({(base * 6)[:length].strip() for base in BASES for length in (20, 60, 70, 75, 78, 80, 90, 100)})


def test_every_inbox_name_reads_back_exactly(relay, inbox, sam, customer):
    tickets = {}
    for number, name in enumerate(NAMES):
        Inbox.objects.filter(pk=inbox.pk).update(from_name=name)
        ticket = ticket_create(subject=f"Question {number}", requester=customer, body="Hello")
        ticket_reply(ticket=ticket, author=sam, body="We are on it.")
        run_tasks()  # delivered now, with this name
        tickets[ticket.reference] = name
    assert len(relay.received) == len(NAMES)
    for _, _, raw in relay.received:
        name = next(n for ref, n in tickets.items() if f"[#{ref}]" in parse_message(raw).subject)
        header_block = raw.split(b"\r\n\r\n", 1)[0]
        assert all(len(line) <= 998 for line in header_block.split(b"\r\n"))
        legacy = message_from_bytes(raw, policy=compat32)["From"].replace("\r\n", "")
        assert getaddresses([str(make_header(decode_header(legacy)))]) == [(name, "support@acme.test")], name
        parsed = parse_message(raw)
        assert parsed.from_address == "support@acme.test"
        if legacy.count("=?") <= 1:  # a quoted string, or one encoded word
            assert parsed.from_name == name
        else:  # our reader (policy.default's address parser) puts a space between adjacent encoded words
            assert parsed.from_name.replace(" ", "") == name.replace(" ", "")
