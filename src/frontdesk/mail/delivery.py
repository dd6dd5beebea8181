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
import uuid
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

from .addresses import loop_id, verp_address
from .models import OutboundMessage, OutboundStatus, outbox_dir

logger = logging.getLogger(__name__)

# CRLF line ends, folded headers; values stored pre-folded (Subject, From) are sent as they are.
SMTP_POLICY = SMTP.clone(refold_source="none")
MAX_DELIVERY_ATTEMPTS = 8
RELAY_TIMEOUT_SECONDS = 30
FINISH_CHUNK = 25  # delivery outcomes recorded per transaction
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
    # A random boundary of our own: the generator would otherwise search the whole text for
    # one that does not occur in it (a regular expression compiled per message).
    email.set_boundary(f"=_{uuid.uuid4().hex}")
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


def relay_connect(relay: dict) -> smtplib.SMTP:
    """A connection to the relay, after STARTTLS and login when configured."""
    context = ssl.create_default_context()
    if relay["implicit_tls"]:
        client = smtplib.SMTP_SSL(relay["host"], relay["port"], timeout=RELAY_TIMEOUT_SECONDS, context=context)
    else:
        client = smtplib.SMTP(relay["host"], relay["port"], timeout=RELAY_TIMEOUT_SECONDS)
    try:
        if relay["starttls"]:
            client.starttls(context=context)
        if relay["username"]:
            client.login(relay["username"], relay["password"])
    except BaseException:
        client.close()
        raise
    return client


def send_via_relay(relay: dict, *, envelope_from: str, recipients: list[str], data: bytes) -> None:
    with relay_connect(relay) as client:
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
    _finish_many([(outbound, status, error)])


def _finish_many(results: list[tuple[OutboundMessage, str, str]]) -> None:
    """Record the outcome of deliveries (status, error), a few dozen per transaction: the rows,
    and a ``delivery`` timeline event for each final outcome and the first retry.

    An event's insert locks its ticket's key (PostgreSQL): the tickets are locked first and a
    ticket another transaction holds (a mail batch appending to several tickets in its own
    order) is skipped, not waited for while holding the others, which could deadlock; its
    outcome is recorded on its own afterwards."""
    waiting: list[tuple[OutboundMessage, str, str]] = []
    for start in range(0, len(results), FINISH_CHUNK):  # short transactions: SQLite has one writer
        waiting += _finish_chunk(results[start:start + FINISH_CHUNK])
    for result in waiting:
        _finish_chunk([result], wait=True)


def _finish_chunk(results: list[tuple[OutboundMessage, str, str]], *, wait: bool = False,
                  ) -> list[tuple[OutboundMessage, str, str]]:
    """Record ``results`` in one transaction; returns those left for later (``wait=False``:
    their ticket is locked by another transaction)."""
    from frontdesk.tickets.bulk import record_events_many
    from frontdesk.tickets.models import Ticket

    now = timezone.now()
    with transaction.atomic():
        tickets = {outbound.ticket_id for outbound, _, _ in results}
        held = set(Ticket.objects.select_for_update(no_key=True, skip_locked=not wait).filter(pk__in=tickets)
                   .order_by("pk").values_list("pk", flat=True))
        later = [result for result in results if result[0].ticket_id not in held]
        results = [result for result in results if result[0].ticket_id in held]
        same: dict[tuple[str, str], list[int]] = {}
        for outbound, status, error in results:
            same.setdefault((status, error[:1000]), []).append(outbound.pk)
        for (status, error), ids in same.items():
            fields = {"status": status, "last_error": error}
            if status == OutboundStatus.SENT:
                fields["sent_at"] = now
            OutboundMessage.objects.filter(pk__in=ids).update(**fields)
        record_events_many([
            {"ticket": outbound.ticket, "kind": EventKind.DELIVERY, "actor": "mail", "before": outbound.status,
             "after": {"status": status, "to": outbound.to_addresses, "cc": outbound.cc_addresses,
                       "kind": outbound.kind, "message_id": outbound.message_id, "error": error[:200]},
             "message": outbound.ticket_message}
            for outbound, status, error in results if status != OutboundStatus.RETRYING or outbound.attempts == 1
        ])
    return later


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


def _refusal(replies: list[tuple[int, bytes | str]]) -> tuple[str, str]:
    """(status, error) for the relay's refusal: 5xx is final (RFC 5321 §4.2.1); anything
    else is tried again."""
    error = "; ".join(
        f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}" for code, text in replies
    )
    if all(500 <= code < 600 for code, _ in replies):
        return OutboundStatus.FAILED, error
    return OutboundStatus.RETRYING, error


def _retry_outcome(outbound: OutboundMessage, error: str) -> tuple[str, str]:
    if outbound.attempts >= MAX_DELIVERY_ATTEMPTS:
        return OutboundStatus.FAILED, f"gave up after {outbound.attempts} attempts: {error}"
    return OutboundStatus.RETRYING, error


def _permanent_or_retry(outbound: OutboundMessage, replies: list[tuple[int, bytes | str]]) -> str:
    status, error = _refusal(replies)
    if status == OutboundStatus.FAILED:
        _finish(outbound, status=status, error=error)
        return f"failed: {error}"
    return _retry_or_fail(outbound, error)


def _retry_or_fail(outbound: OutboundMessage, error: str) -> str:
    status, error = _retry_outcome(outbound, error)
    _finish(outbound, status=status, error=error)
    if status == OutboundStatus.FAILED:
        return "failed: gave up"
    logger.warning("delivery of %s failed (%s); will retry", outbound.message_id, error)
    raise TransientDeliveryError(error)


def _claim_many(outbound_ids: list[int]) -> list[OutboundMessage]:
    """The messages still to send, claimed together (PostgreSQL: skipping rows another worker
    holds) and loaded with their ticket and message, in id order."""
    with transaction.atomic():
        ids = list(
            OutboundMessage.objects.select_for_update(skip_locked=True)
            .filter(pk__in=outbound_ids, status__in=[OutboundStatus.QUEUED, OutboundStatus.RETRYING])
            .values_list("pk", flat=True)
        )
        OutboundMessage.objects.filter(pk__in=ids).update(attempts=F("attempts") + 1)
    return list(OutboundMessage.objects.select_related("ticket", "ticket_message").filter(pk__in=ids).order_by("pk"))


def outbound_deliver_many(*, outbound_ids: list[int]) -> tuple[int, list[int], list[int]]:
    """Send many queued messages (the acknowledgements of a burst): claimed together, sent over
    one relay connection (or written to the outbox), their outcomes recorded in bulk. Returns
    (sent, ids to retry later, ids that failed unexpectedly): the caller hands both lists to a
    task of their own. No database lock is held while sending."""
    claimed = _claim_many(outbound_ids)
    results: list[tuple[OutboundMessage, str, str]] = []
    retry: list[int] = []
    broken: list[int] = []
    ready = []
    for outbound in claimed:
        try:
            ready.append((outbound, build_email(outbound).as_bytes(policy=SMTP_POLICY)))
        except Exception:  # this message's problem (an attachment gone): its own task shows it
            logger.exception("building outbound %s failed", outbound.pk)
            broken.append(outbound.pk)
    relay = relay_settings()
    client: smtplib.SMTP | None = None
    try:
        for outbound, data in ready:
            if relay is None:
                try:
                    write_to_outbox(outbound, data)
                except OSError:
                    logger.exception("writing outbound %s to the outbox failed", outbound.pk)
                    broken.append(outbound.pk)
                    continue
                results.append((outbound, OutboundStatus.SENT, ""))
                continue
            try:
                client = client or relay_connect(relay)
                client.sendmail(verp_address(outbound.pk), outbound.to_addresses + outbound.cc_addresses, data)
            except smtplib.SMTPResponseException as exc:
                status, error = _refusal([(exc.smtp_code, exc.smtp_error)])
            except smtplib.SMTPRecipientsRefused as exc:
                status, error = _refusal(list(exc.recipients.values()))
            except (OSError, smtplib.SMTPException) as exc:
                status, error = OutboundStatus.RETRYING, f"{exc.__class__.__name__}: {exc}"
                if client is not None:  # the connection may be gone: the next message opens another
                    client.close()
                    client = None
            else:
                status, error = OutboundStatus.SENT, ""
            if status == OutboundStatus.RETRYING:
                status, error = _retry_outcome(outbound, error)
            if status == OutboundStatus.RETRYING:
                logger.warning("delivery of %s failed (%s); will retry", outbound.message_id, error)
                retry.append(outbound.pk)
            results.append((outbound, status, error))
    finally:
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
        _finish_many(results)
    return sum(status == OutboundStatus.SENT for _, status, _ in results), retry, broken
