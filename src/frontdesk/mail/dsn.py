"""Delivery reports: RFC 3464 DSNs read field by field; other bouncers' prose read by flufl.bounce.

RFC 3464: a ``multipart/report; report-type=delivery-status`` holds a ``message/delivery-status`` part with
one block of per-message fields and one block per recipient (Final-Recipient, Action, Status per RFC 3463,
Diagnostic-Code), usually followed by the returned message or its headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import Parser
from email.policy import compat32

from frontdesk.core.text import single_line
from frontdesk.mail.charsets import decode_bytes
from frontdesk.mail.headers import is_addr_spec, normalize_message_id

try:  # Mailman's detectors for non-standard bouncers (qmail, Exim, old Postfix, Exchange, ...)
    from flufl.bounce import all_failures
except ImportError:  # pragma: no cover - the dependency is declared; without it only DSNs are read
    all_failures = None

MAX_DIAGNOSTIC_CHARS = 500
MAX_FIELD_CHARS = 4096
MAX_REPORT_PARTS = 500
MAX_RECIPIENTS = 100  # per report; a helpdesk message has a handful

ACTIONS = ("failed", "delayed", "delivered", "relayed", "expanded")
_DEFAULT_STATUS = {"failed": "5.0.0", "delayed": "4.0.0", "delivered": "2.0.0", "relayed": "2.0.0", "expanded": "2.0.0"}
_ACTION_FOR_CLASS = {"5": "failed", "4": "delayed", "2": "delivered"}
_STATUS_TYPES = {"message/delivery-status", "message/global-delivery-status"}
_RETURNED_MESSAGE_TYPES = {"message/rfc822", "message/global"}
_RETURNED_HEADERS_TYPES = {"text/rfc822-headers", "message/global-headers"}
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_REPLY = re.compile(r"\b[245]\d\d\b")
_DAEMONS = {"mailer-daemon", "mailer_daemon", "mail-daemon", "postmaster"}
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery (?:status notification|failure|has failed|problem)|returned mail|failure notice"
    r"|mail delivery (?:failed|failure|system)|could not be delivered|non-?delivery",
    re.IGNORECASE,
)
_RAW_MESSAGE_ID = re.compile(rb"(?im)^message-id:[ \t]*(<[^<>\r\n]{1,250}>)")
_HEADER_END = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True)
class DeliveryRecipient:
    final_recipient: str  # addr-spec, lowercased
    action: str  # failed | delayed | delivered | relayed | expanded
    status: str  # e.g. "5.1.1"
    diagnostic: str  # single line


@dataclass(frozen=True)
class DeliveryReport:
    recipients: list[DeliveryRecipient]
    original_message_id: str | None  # normalised Message-ID of the returned message, if found
    permanent: bool  # any recipient failed with 5.x.x


def delivery_report(
    msg: Message, *, raw: bytes, text: str, headers: dict[str, list[str]], from_address: str, defects: list[str]
) -> DeliveryReport | None:
    """The delivery report *msg* carries, or None when it is not a bounce (or one that cannot be read).

    A ``multipart/report`` counts anywhere in the message except inside an attached message (a customer
    forwarding a bounce is not a bounce); prose bounces only when the mail comes from a mailer daemon (or
    with a null Return-Path and a bounce-like subject), so a customer's words never count as one.
    """
    try:
        container = _report_container(msg)
        if container is not None:
            return _standard_report(container, raw)
        if _looks_like_bounce(headers, from_address):
            return _nonstandard_report(msg, raw, text)
    except Exception:  # a bounce we cannot read is still stored; the caller can correlate by VERP
        defects.append("bounce_parse_error")
    return None


def _report_container(msg: Message) -> Message | None:
    """The first multipart/report holding a delivery-status part, not looking inside attached messages."""
    stack, seen = [msg], 0
    while stack and seen < MAX_REPORT_PARTS:
        part = stack.pop()
        seen += 1
        if not part.is_multipart() or part.get_content_maintype() != "multipart":
            continue
        children = part.get_payload()
        if part.get_content_type() == "multipart/report":
            if any(child.get_content_type() in _STATUS_TYPES for child in children):
                return part
        stack.extend(reversed(children))
    return None


def _standard_report(container: Message, raw: bytes) -> DeliveryReport:
    children = container.get_payload()
    status_part = next(child for child in children if child.get_content_type() in _STATUS_TYPES)
    records = _recipient_records(_blocks_from_text(_status_text(status_part)))
    recipients = [recipient for recipient in map(_recipient, records) if recipient][:MAX_RECIPIENTS]
    original = _returned_message_id(children) or _message_id_in_body(raw)
    return DeliveryReport(recipients=recipients, original_message_id=original, permanent=_is_permanent(recipients))


def _status_text(part: Message) -> str:
    """The delivery-status body as text, whether the parser split it into header blocks or not."""
    if not part.is_multipart():
        return _payload_text(part)
    source = "\n\n".join(_block_source(block) for block in part.get_payload())
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    if encoding in ("base64", "quoted-printable"):
        carrier = Message()
        carrier["Content-Transfer-Encoding"] = encoding
        carrier.set_payload(source)
        return decode_bytes(carrier.get_payload(decode=True) or b"", None, [])
    return decode_bytes(source.encode("utf-8", "surrogateescape"), None, [])


def _block_source(block: Message) -> str:
    lines = [f"{name}: {value}" for name, value in block.raw_items()]
    if not block.is_multipart():
        lines.append((block.get_payload(decode=True) or b"").decode("utf-8", "surrogateescape"))
    return "\n".join(lines)


def _payload_text(part: Message) -> str:
    """A leaf's decoded payload as text (``get_payload()`` without decoding may parse parameters, and raise)."""
    return decode_bytes(part.get_payload(decode=True) or b"", None, [])


def _blocks_from_text(text: str) -> list[list[tuple[str, str]]]:
    """``Name: value`` blocks separated by blank lines, with folded continuation lines joined."""
    blocks: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
            current = []
        elif line[0] in " \t" and current:
            name, value = current[-1]
            if len(value) < MAX_FIELD_CHARS:  # keeps hostile continuation runs linear
                current[-1] = (name, f"{value} {line.strip()}")
        else:
            name, colon, value = line.partition(":")
            if colon and name.strip() and " " not in name.strip():
                current.append((name.strip().lower(), value.strip()))
    if current:
        blocks.append(current)
    return blocks


def _recipient_records(blocks: list[list[tuple[str, str]]]) -> list[dict[str, str]]:
    """One record per recipient; a new one also starts where a block lacks the blank line between two
    (a recipient field seen twice)."""
    records: list[dict[str, str]] = []
    for block in blocks:
        record: dict[str, str] = {}
        for name, value in block:
            if name in ("final-recipient", "original-recipient") and name in record:
                records.append(record)
                record = {}
            record.setdefault(name, value)
        records.append(record)
    return [record for record in records if "final-recipient" in record or "original-recipient" in record]


def _recipient(record: dict[str, str]) -> DeliveryRecipient | None:
    address = _recipient_address(record.get("final-recipient") or record.get("original-recipient") or "")
    if not address:
        return None
    diagnostic = _without_type(record.get("diagnostic-code", ""))
    status = _status_code(record.get("status", "")) or _status_code(diagnostic)
    action = _action(record.get("action", ""), status)
    return DeliveryRecipient(
        final_recipient=address,
        action=action,
        status=status or _DEFAULT_STATUS[action],
        diagnostic=single_line(diagnostic, max_length=MAX_DIAGNOSTIC_CHARS),
    )


def _recipient_address(value: str) -> str:
    address = _without_type(value).strip().strip("<>").strip().lower()
    return address if is_addr_spec(address) else ""


def _without_type(value: str) -> str:
    """``rfc822; a@b`` → ``a@b``; ``smtp; 550 5.1.1 …`` → ``550 5.1.1 …`` (RFC 3464 typed fields)."""
    kind, semicolon, rest = value.partition(";")
    return rest.strip() if semicolon and kind.strip() and " " not in kind.strip() else value.strip()


def _status_code(value: str) -> str:
    match = _STATUS.search(value)
    return ".".join(match.groups()) if match else ""


def _action(value: str, status: str) -> str:
    """The RFC 3464 action; unknown ones (e.g. opensmtpd's "error") are read from the status class.

    Without either, "delayed": a report we cannot read must not mark an address undeliverable forever.
    """
    words = value.lower().split()
    word = words[0] if words else ""
    if word in ACTIONS:
        return word
    if word.startswith(("fail", "error")):
        return "failed"
    return _ACTION_FOR_CLASS.get(status[:1], "delayed")


def _is_permanent(recipients: list[DeliveryRecipient]) -> bool:
    return any(recipient.action == "failed" and recipient.status.startswith("5") for recipient in recipients)


def _returned_message_id(children: list[Message]) -> str | None:
    for child in children:
        content_type = child.get_content_type()
        if content_type in _RETURNED_MESSAGE_TYPES and child.is_multipart() and child.get_payload():
            found = _raw_header(child.get_payload(0), "message-id")
        elif content_type in _RETURNED_HEADERS_TYPES and not child.is_multipart():
            found = Parser(policy=compat32).parsestr(_payload_text(child), headersonly=True).get("message-id", "")
        else:
            continue
        normalised = normalize_message_id(str(found or ""))
        if normalised:
            return normalised
    return None


def _raw_header(msg: Message, name: str) -> str:
    return next((value for key, value in msg.raw_items() if key.lower() == name), "")


def _message_id_in_body(raw: bytes) -> str | None:
    """A Message-ID header line quoted in the body (bouncers paste the returned message's headers)."""
    separator = _HEADER_END.search(raw)
    if separator is None:
        return None
    match = _RAW_MESSAGE_ID.search(raw, separator.end())
    if match is None:
        return None
    return normalize_message_id(match.group(1).decode("utf-8", "replace")) or None


def _looks_like_bounce(headers: dict[str, list[str]], from_address: str) -> bool:
    if from_address.partition("@")[0] in _DAEMONS or headers.get("x-failed-recipients"):
        return True
    null_sender = any(value.strip() in ("<>", "") for value in headers.get("return-path", []))
    subject = (headers.get("subject") or [""])[0]
    return null_sender and bool(_BOUNCE_SUBJECT.search(subject))


def _nonstandard_report(msg: Message, raw: bytes, text: str) -> DeliveryReport | None:
    if all_failures is None:
        return None
    temporary, permanent = all_failures(msg)
    failed = sorted({address.decode("ascii", "replace").lower() for address in permanent})
    delayed = sorted({address.decode("ascii", "replace").lower() for address in temporary} - set(failed))
    found = [(address, "failed") for address in failed] + [(address, "delayed") for address in delayed]
    lines = text.splitlines()
    lowered = [line.lower() for line in lines]
    recipients = [
        _described(address, action, lines, lowered)
        for address, action in found[:MAX_RECIPIENTS]
        if is_addr_spec(address)
    ]
    if not recipients:
        return None
    return DeliveryReport(
        recipients=recipients, original_message_id=_message_id_in_body(raw), permanent=_is_permanent(recipients)
    )


def _described(address: str, action: str, lines: list[str], lowered: list[str]) -> DeliveryRecipient:
    """Status and diagnostic from the prose near the address (the line with an SMTP reply, if any)."""
    start = next((index for index, line in enumerate(lowered) if address in line), None)
    window = lines[start : start + 5] if start is not None else []
    diagnostic = next((line for line in window if _SMTP_REPLY.search(line) or _STATUS.search(line)), "")
    status = _status_code(diagnostic)
    if not status.startswith(_DEFAULT_STATUS[action][0]):
        status = _DEFAULT_STATUS[action]
    return DeliveryRecipient(
        final_recipient=address,
        action=action,
        status=status,
        diagnostic=single_line(diagnostic, max_length=MAX_DIAGNOSTIC_CHARS),
    )
