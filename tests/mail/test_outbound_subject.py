"""The Subject of what we send reads back exactly as written, through a real SMTP relay.

Python's header folder moves a whole value that would not fit after ``Subject: `` onto a
continuation line (``Subject:\\r\\n Re: …``), which readers decode with a leading space; and it
decodes text that merely looks like an RFC 2047 word. Lengths around the 78-character line
are where the first bit; a customer's subject can hold anything."""

from __future__ import annotations

from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import compat32
from email.policy import default as default_policy

import pytest

from frontdesk.mail.models import OutboundMessage
from frontdesk.mail.parsing import parse_message
from frontdesk.tickets.services import ticket_create, ticket_reply
from tests.conftest import run_tasks

pytestmark = pytest.mark.django_db(transaction=True)

TAG = len("Re: ") + len(" [#ABCD1234]")
WORDS = "Our invoice for the month of March was charged twice to the company card again".split()


def words_of_length(length: int) -> str:
    """A subject of exactly ``length`` characters made of ordinary words."""
    text, index = "", 0
    while len(text) < length:
        text = f"{text} {WORDS[index % len(WORDS)]}".strip()
        index += 1
    return text[:length].rstrip() + "s" * (length - len(text[:length].rstrip()))


NON_ASCII = [
    "Überweisung doppelt abgebucht – bitte prüfen, die Rechnung Nr. 2024-117 ist falsch",
    "請求書が二重に発行されました。至急ご確認ください。お客様番号は一二三四五六七八です。よろしくお願いいたします",
    "Charged twice 😡😡 for the same order, Ñandú Café & Crème brûlée, order #5521 — please refund",
    "naïve question about my account settings and the notifications that keep arriving éé",
    "x" * 70 + " é",
    "A literal =?utf-8?q?encoded=20word?= in a customer's subject, kept as typed, not decoded",
    "Mixed: ASCII first for a long while, then some Ελληνικά and русский текст at the end",
]


def received_subjects(raw: bytes) -> dict[str, str]:
    """The Subject as three readers decode it: the stdlib's modern parser, the compat32 parser
    with ``email.header`` (as most Python code reads mail), and our own listener's parser."""
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in header_block.split(b"\r\n") if line.startswith((b"Subject", b" ")))
    assert not header_block.split(b"Subject:", 1)[1].startswith(b"\r\n")  # never an empty first line
    legacy = message_from_bytes(raw, policy=compat32)["Subject"].replace("\r\n", "")  # unfolded (RFC 5322 2.2.3)
    return {
        "default": str(message_from_bytes(raw, policy=default_policy)["Subject"]),
        "compat32": str(make_header(decode_header(legacy))),
        "frontdesk": parse_message(raw).subject,
    }


def send_replies(relay, customer, sam, subjects: list[str]) -> dict[str, dict[str, str]]:
    """One ticket per subject, one reply on each, delivered through the relay; the Subject each
    was given, by what it should read back as."""
    expected = {}
    for subject in subjects:
        ticket = ticket_create(subject=subject, requester=customer, body="Hello")
        assert ticket.subject == subject
        ticket_reply(ticket=ticket, author=sam, body="We are on it.")
        expected[f"Re: {subject} [#{ticket.reference}]"] = ticket
    run_tasks()
    by_id = {f"<{m.message_id}>": m for m in OutboundMessage.objects.all()}
    got = {}
    for _, _, raw in relay.received:
        message_id = message_from_bytes(raw, policy=compat32)["Message-ID"]
        got[by_id[message_id].subject] = received_subjects(raw)
    assert set(got) == set(expected)
    return got


def test_subjects_of_60_to_100_characters_read_back_exactly(relay, inbox, sam, customer):
    subjects = [words_of_length(total - TAG) for total in range(60, 101)]
    for sent, readings in send_replies(relay, customer, sam, subjects).items():
        assert 60 <= len(sent) <= 100
        assert readings == {"default": sent, "compat32": sent, "frontdesk": sent}, sent


def test_non_ascii_and_look_alike_subjects_read_back_exactly(relay, inbox, sam, customer):
    for sent, readings in send_replies(relay, customer, sam, NON_ASCII).items():
        assert readings == {"default": sent, "compat32": sent, "frontdesk": sent}, sent
