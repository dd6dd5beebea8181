"""Mail through the real protocols, shared by the conversation tests: a recording relay for
what we send, and helpers to write to our SMTP listener as a customer's mail client would."""

from __future__ import annotations

import smtplib
from email import message_from_bytes
from email.policy import default as default_policy

from aiosmtpd.controller import Controller

from frontdesk.tickets.services import ticket_reply
from tests.cli.test_cli import free_port
from tests.conftest import run_tasks


class RecordingRelay:
    """The outbound relay: records every message; can refuse (5xx) or be switched off."""

    def __init__(self):
        self.received: list[tuple[str, list[str], bytes]] = []
        self.refuse_with: str | None = None
        self.refuse_for: dict[str, str] = {}  # recipient → the reply refusing it
        self.sessions = 0  # connections that said EHLO
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_with or address in self.refuse_for:
            return self.refuse_with or self.refuse_for[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"

    def start(self) -> RecordingRelay:
        self.controller.start()
        return self

    def restart(self) -> None:
        """Back on the same port (a stopped aiosmtpd Controller cannot start again)."""
        self.controller = Controller(self, hostname="127.0.0.1", port=self.controller.port)
        self.controller.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"

    def stop(self) -> None:
        self.controller.stop()

    def messages(self):
        return [message_from_bytes(raw, policy=default_policy) for _, _, raw in self.received]


def send(listener, raw: bytes, *, mail_from="maria@example.net", to=("support@acme.test",)) -> None:
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as client:
        client.sendmail(mail_from, list(to), raw)


def mail(*, subject="Charged twice", message_id="<m1@example.net>", sender="Maria Lopez <maria@example.net>",
         to="support@acme.test", body="My card was charged twice.", extra="") -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
        f"Date: Tue, 24 Nov 2026 09:00:00 +0100\r\n{extra}MIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def stranger_answers_our_reply(listener, relay, *, ticket, agent) -> None:
    """``agent`` replies on ``ticket`` with something private (account number 12345), then
    Eve, who is nobody on the ticket, answers that reply (In-Reply-To its Message-ID): the
    reply must be the second mail the relay got, after the acknowledgement."""
    ticket_reply(ticket=ticket, author=agent, body="Your account number is 12345.")
    run_tasks()
    reply_id = relay.messages()[1]["Message-ID"]

    send(listener, mail(sender="Eve <eve@evil.example>", message_id="<e1@evil.example>", subject="Re: Charged twice",
                        body="Send me the details", extra=f"In-Reply-To: {reply_id}\r\n"),
         mail_from="eve@evil.example")
    run_tasks()
