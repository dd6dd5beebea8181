"""Delivering queued mail: through the relay in FRONTDESK_SMTP_URL, or into the local outbox.

A transient failure (4xx, connection refused, timeout) marks the message ``retrying`` and
raises, so the task is retried with backoff; a permanent one (5xx) marks it ``failed`` at
once. No database lock is held while talking to the relay.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from frontdesk.core.text import single_line
from frontdesk.tickets.attachments import open_file
from frontdesk.tickets.models import EventKind
from frontdesk.tickets.timeline import record_event

from .addresses import loop_id, verp_address
from .models import OutboundMessage, OutboundStatus, outbox_dir

logger = logging.getLogger(__name__)

# CRLF line ends, folded headers; values stored pre-folded (Subject, From) are sent as they are.
SMTP_POLICY = SMTP.clone(refold_source="none")
MAX_DELIVERY_ATTEMPTS = 8
RELAY_TIMEOUT_SECONDS = 30
FINAL = {OutboundStatus.SENT, OutboundStatus.FAILED, OutboundStatus.BOUNCED, OutboundStatus.DELAYED}


class TransientDeliveryError(Exception):
    """The relay could not take the message now; the task retries it later."""


def subject_header(subject: str) -> str:
    """The Subject value encoded and folded for the wire, reading back as exactly ``subject``.

    Not left to ``email.policy``: its folder moves a value that does not fit after
    ``Subject: `` whole onto a continuation line (readers then see a leading space), doubles
    a space before an encoded word, and decodes text that only looks like an RFC 2047 word.
    ``email.header.Header`` folds at spaces and counts the header name into the first line;
    ASCII stays readable, anything else (or a literal ``=?``) is UTF-8 encoded words."""
    subject = single_line(subject, max_length=998)  # written raw: never a CR/LF (header injection)
    charset = "us-ascii" if subject.isascii() and "=?" not in subject else "utf-8"
    return Header(subject, charset, header_name="Subject", maxlinelen=78).encode(splitchars=" ", linesep="\r\n")


def from_header(name: str, address: str) -> str:
    """The From value, its display name reading back as exactly ``name``. An ASCII name is one
    quoted string (``formataddr``), never folded: the policy's folder would break a long one
    outside its quotes, and a comma in it would then start a second address (name ≤ 100 and
    address ≤ 320 characters keep the line far below 998). Anything else is UTF-8 encoded
    words, folded between words (RFC 2047 §5(3): phrase-safe characters only)."""
    name = single_line(name, max_length=200)
    if not name or name.isascii() and "=?" not in name:
        return formataddr((name, address))
    words = Header(name, "utf-8", header_name="From", maxlinelen=78).encode(linesep="\r\n")
    return f"{words} <{address}>"


def build_email(outbound: OutboundMessage) -> EmailMessage:
    """The MIME message, plain text and HTML rendered from one template, plus attachments."""
    email = EmailMessage()
    email.set_raw("From", from_header(outbound.from_name, outbound.from_address))
    email["To"] = ", ".join(outbound.to_addresses)
    if outbound.cc_addresses:
        email["Cc"] = ", ".join(outbound.cc_addresses)
    email["Reply-To"] = outbound.reply_to
    email.set_raw("Subject", subject_header(outbound.subject))
    email["Date"] = format_datetime(outbound.created_at)
    email["Message-ID"] = f"<{outbound.message_id}>"
    if outbound.in_reply_to:
        email["In-Reply-To"] = f"<{outbound.in_reply_to}>"
    if outbound.references:
        email["References"] = outbound.references
    email["X-Frontdesk-Loop"] = loop_id()
    if outbound.auto_submitted:
        email["Auto-Submitted"] = outbound.auto_submitted
        email["X-Auto-Response-Suppress"] = "All"
        email["Precedence"] = "auto_reply"
    context = {"outbound": outbound, "ticket": outbound.ticket, "body": outbound.body_text}
    email.set_content(render_to_string("mail/message.txt", context))
    email.add_alternative(render_to_string("mail/message.html", context), subtype="html")
    if outbound.ticket_message_id:
        for attachment in outbound.ticket_message.attachments.all():
            with open_file(attachment.stored_name) as handle:
                maintype, _, subtype = attachment.content_type.partition("/")
                email.add_attachment(handle.read(), maintype=maintype, subtype=subtype or "octet-stream",
                                     filename=attachment.filename)
    return email


def relay_settings() -> dict | None:
    if not settings.FRONTDESK_SMTP_URL:
        return None
    url = urlsplit(settings.FRONTDESK_SMTP_URL)
    options = {key: values[-1] for key, values in parse_qs(url.query).items()}
    implicit_tls = url.scheme == "smtps"
    return {
        "host": url.hostname or "localhost",
        "port": url.port or (465 if implicit_tls else 25),
        "implicit_tls": implicit_tls,
        "starttls": options.get("starttls", "0").lower() in {"1", "true", "yes"},
        "username": unquote(url.username or ""),
        "password": unquote(url.password or ""),
    }


def send_via_relay(relay: dict, *, envelope_from: str, recipients: list[str], data: bytes) -> None:
    context = ssl.create_default_context()
    if relay["implicit_tls"]:
        client = smtplib.SMTP_SSL(relay["host"], relay["port"], timeout=RELAY_TIMEOUT_SECONDS, context=context)
    else:
        client = smtplib.SMTP(relay["host"], relay["port"], timeout=RELAY_TIMEOUT_SECONDS)
    with client:
        if relay["starttls"]:
            client.starttls(context=context)
        if relay["username"]:
            client.login(relay["username"], relay["password"])
        client.sendmail(envelope_from, recipients, data)


def write_to_outbox(outbound: OutboundMessage, data: bytes) -> None:
    folder = outbox_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o750)
    stamp = outbound.created_at.strftime("%Y%m%dT%H%M%S")
    path = folder / f"{stamp}-{outbound.public_id.hex}.eml"
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _claim(outbound_id: int) -> OutboundMessage | None:
    with transaction.atomic():
        claimed = OutboundMessage.objects.filter(
            pk=outbound_id, status__in=[OutboundStatus.QUEUED, OutboundStatus.RETRYING]
        ).update(attempts=F("attempts") + 1)
        if not claimed:
            return None
    return OutboundMessage.objects.select_related("ticket", "ticket_message").get(pk=outbound_id)


def _finish(outbound: OutboundMessage, *, status: str, error: str = "") -> None:
    with transaction.atomic():
        fields = {"status": status, "last_error": error[:1000]}
        if status == OutboundStatus.SENT:
            fields["sent_at"] = timezone.now()
        OutboundMessage.objects.filter(pk=outbound.pk).update(**fields)
        if status != OutboundStatus.RETRYING or outbound.attempts == 1:
            record_event(
                ticket=outbound.ticket, kind=EventKind.DELIVERY, actor="mail",
                before=outbound.status,
                after={"status": status, "to": outbound.to_addresses, "cc": outbound.cc_addresses,
                       "kind": outbound.kind,
                       "message_id": outbound.message_id, "error": error[:200]},
                message=outbound.ticket_message,
            )


def outbound_deliver(*, outbound_id: int) -> str:
    """Send one queued message. Raises TransientDeliveryError to be retried."""
    outbound = _claim(outbound_id)
    if outbound is None:
        return "nothing to do"
    data = build_email(outbound).as_bytes(policy=SMTP_POLICY)
    relay = relay_settings()
    if relay is None:
        write_to_outbox(outbound, data)
        _finish(outbound, status=OutboundStatus.SENT)
        return "written to outbox"
    try:
        send_via_relay(relay, envelope_from=verp_address(outbound.pk), recipients=outbound.to_addresses
                       + outbound.cc_addresses, data=data)
    except smtplib.SMTPResponseException as exc:
        return _permanent_or_retry(outbound, [(exc.smtp_code, exc.smtp_error)])
    except smtplib.SMTPRecipientsRefused as exc:
        return _permanent_or_retry(outbound, list(exc.recipients.values()))
    except (OSError, smtplib.SMTPException) as exc:
        return _retry_or_fail(outbound, f"{exc.__class__.__name__}: {exc}")
    _finish(outbound, status=OutboundStatus.SENT)
    return "sent"


def _permanent_or_retry(outbound: OutboundMessage, replies: list[tuple[int, bytes | str]]) -> str:
    """5xx from the relay is final (RFC 5321 §4.2.1); anything else is tried again."""
    error = "; ".join(
        f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}" for code, text in replies
    )
    if all(500 <= code < 600 for code, _ in replies):
        _finish(outbound, status=OutboundStatus.FAILED, error=error)
        return f"failed: {error}"
    return _retry_or_fail(outbound, error)


def _retry_or_fail(outbound: OutboundMessage, error: str) -> str:
    if outbound.attempts >= MAX_DELIVERY_ATTEMPTS:
        _finish(outbound, status=OutboundStatus.FAILED, error=f"gave up after {outbound.attempts} attempts: {error}")
        return "failed: gave up"
    _finish(outbound, status=OutboundStatus.RETRYING, error=error)
    logger.warning("delivery of %s failed (%s); will retry", outbound.message_id, error)
    raise TransientDeliveryError(error)
