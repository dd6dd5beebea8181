"""Inbound mail parsed into what the pipeline needs; never an exception, whatever the bytes (RELIABILITY 2.5).

The MIME tree is built by the standard library's FeedParser (``BytesParser``) with the ``compat32`` policy.
``policy.default`` builds the same tree but turns header values into objects lazily, and that header parser
is quadratic on hostile values (a 16 KB ``Content-Type`` or ``Content-Transfer-Encoding`` of ``(x)(x)…`` or
``;;;…`` takes about a second, per part) and raises on others (encoded words decoding to CR/LF,
``g:;g:;…``). So headers are read raw and decoded in ``headers.py``; policy.default's RFC 5322 parser still
reads the addresses, one bounded item at a time. Parameters (RFC 2231 included) are read with compat32's
linear parser from values capped at ``MAX_PARAM_HEADER_CHARS``.
"""

from __future__ import annotations

import logging
import mimetypes
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import collapse_rfc2231_value

import nh3

from frontdesk.core.text import URL_SCHEMES, html_to_text, single_line
from frontdesk.mail.charsets import clean_text, decode_bytes, without_surrogates
from frontdesk.mail.dsn import DeliveryRecipient, DeliveryReport, delivery_report
from frontdesk.mail.headers import (
    header_text,
    message_id_list,
    normalize_message_id,
    parse_addresses,
    parse_date,
    unfold,
)
from frontdesk.mail.quotes import unflow, visible_text

try:  # Outlook's winmail.dat
    from tnefparse import TNEF
except ImportError:  # pragma: no cover - the dependency is declared; without it winmail.dat stays as it is
    TNEF = None

__all__ = [
    "DeliveryRecipient",
    "DeliveryReport",
    "ParsedAttachment",
    "ParsedMail",
    "normalize_message_id",
    "parse_message",
    "sanitize_email_html",
]

logger = logging.getLogger(__name__)

MAX_MIME_DEPTH = 20
MAX_PARTS = 500
MAX_TEXT_CHARS = 1_000_000  # decoded text, and separately decoded HTML, per message
MAX_BOUNDARY_NESTING = 2 * MAX_MIME_DEPTH  # beyond this the body is not MIME-parsed: FeedParser is O(depth × lines)
MAX_HTML_WORK = 50_000_000  # html5ever is O(tags × open elements) on hostile nesting; this is about 0.2 s of it
MAX_HEADERS = 1000
MAX_HEADER_CHARS = 64 * 1024  # one raw header value
MAX_PARAM_HEADER_CHARS = 4096  # Content-Type/-Disposition when reading parameters (RFC 2231 names fit)
MAX_HEADER_VALUE_CHARS = 4000  # one decoded value in ParsedMail.headers
MAX_ADDRESSES = 500  # per address field
MAX_REFERENCES = 100  # the first (thread root) and the most recent ones are kept
MAX_SUBJECT_CHARS = 250
MAX_NAME_CHARS = 250
MAX_FILENAME_CHARS = 255

EMAIL_URL_SCHEMES = URL_SCHEMES | {"cid"}
_CLEAN_CONTENT_TAGS = {"script", "style", "title"}
_MESSAGE_TYPES = {"message/rfc822", "message/global"}
_BODY_TYPES = {"text/plain", "text/html"}
_UU_ENCODINGS = {"x-uuencode", "uuencode", "uue", "x-uue"}
_TNEF_TYPES = {"application/ms-tnef", "application/vnd.ms-tnef"}
_MIME_TYPES = mimetypes.MimeTypes()  # built-in table only, the same on every machine
_OFFICE_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "msg": "application/vnd.ms-outlook",
}
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_UU_BEGIN = re.compile(r"^begin [0-7]{3,4} (.+)$", re.MULTILINE)
_BOUNDARY_EVENTS = re.compile(rb'(?im)boundary\s*=\s*"?([^";\r\n]{1,200})|^--([^\r\n]{1,200}?)(--)?[ \t]*\r?$')
_HTML_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]{0,40})")
# Elements that never stay open on html5ever's stack of open elements: void ones and those closed implicitly.
_NOT_NESTING = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
    "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead", "tbody", "tfoot", "colgroup", "caption",
    "rb", "rt", "rp", "rtc", "html", "head", "body",
}  # fmt: skip
_BARE_LF = re.compile(rb"(?<!\r)\n")
_BARE_CR = re.compile(rb"\r(?!\n)")


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str  # safe single-line name (no path, no CR/LF); "attachment" if none
    content_type: str  # lowercased type/subtype
    content: bytes
    content_id: str | None  # without <>, for inline cid: images
    inline: bool


@dataclass(frozen=True)
class ParsedMail:
    message_id: str  # normalised: without <> and surrounding space; "" if missing or garbage
    in_reply_to: list[str]
    references: list[str]
    subject: str  # decoded, single line, at most 250 characters
    from_address: str  # lowercased addr-spec of the first From, "" if none or unparseable
    from_name: str
    reply_to: list[str]
    to: list[str]
    cc: list[str]
    date: datetime | None  # aware
    headers: dict[str, list[str]]  # lowercased name -> decoded single-line values, every occurrence
    text: str  # best plain-text body; "" if none
    html: str | None  # sanitized (sanitize_email_html), or None
    visible_text: str  # text without quoted history and trailing signature; never empty if text is not
    attachments: list[ParsedAttachment]
    delivery_report: DeliveryReport | None
    defects: list[str]  # email-package defect class names and our own limit hits, without repeats
    names: dict[str, str] = field(default_factory=dict)  # To/Cc address -> display name (single line), if given


def parse_message(raw: bytes) -> ParsedMail:
    """Parse one message as received. Never raises: what cannot be read is skipped and named in ``defects``."""
    try:
        return _parse(bytes(raw))
    except Exception:  # the contract: a poison message must not stop the line (RELIABILITY 0.2)
        logger.exception("Mail could not be parsed; keeping it as raw text")
        return _unparseable(raw)


def sanitize_email_html(html: str) -> str:
    """``core.text.sanitize_html`` for mail: ``cid:`` images kept (the caller rewrites them to attachment URLs),
    remote and ``data:`` images blocked (trackers, client-side SSRF): their ``src`` is removed, ``alt`` kept.

    Hostile nesting beyond ``MAX_HTML_WORK`` is cut off (see ``html_within_budget``)."""
    html = without_surrogates(html)
    return nh3.clean(
        html[: html_within_budget(html)],
        url_schemes=EMAIL_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        clean_content_tags=_CLEAN_CONTENT_TAGS,
        attribute_filter=_block_remote_images,
    )


def html_within_budget(html: str) -> int:
    """Length of the longest prefix of *html* that html5ever parses in bounded time (MAX_HTML_WORK).

    A linear estimate of its work: each tag costs the number of elements still open (start tags without
    their end tag), which is what makes ``<div>`` × 100 000 or ``<b>x</i>`` × 100 000 quadratic.
    """
    stack: list[str] = []
    open_counts: Counter[str] = Counter()
    work = 0
    for match in _HTML_TAG.finditer(html):
        work += len(stack) + 1
        if work > MAX_HTML_WORK:
            return match.start()
        closing, name = match.group(1), match.group(2).lower()
        if name in _NOT_NESTING:
            continue
        if not closing:
            stack.append(name)
            open_counts[name] += 1
        elif open_counts[name]:
            while (top := stack.pop()) != name:
                open_counts[top] -= 1
            open_counts[name] -= 1
    return len(html)


def _block_remote_images(element: str, attribute: str, value: str) -> str | None:
    if element == "img" and attribute == "src" and not value.strip().lower().startswith("cid:"):
        return None
    return value


def _parse(raw: bytes) -> ParsedMail:
    defects = _line_ending_defects(raw)
    msg = _load(raw, defects)
    hint = _param(_mime_view(msg, defects), "charset").lower() or None
    headers = _decoded_headers(msg, hint, defects)
    from_name, from_address = _sender(msg, hint, defects)
    body = _Body(defects=defects)
    _walk(msg, body)
    text, html, visible = _bodies(body)
    names: dict[str, str] = {}
    report = delivery_report(msg, raw=raw, text=text, headers=headers, from_address=from_address, defects=defects)
    return ParsedMail(
        message_id=_message_id(msg, defects),
        in_reply_to=message_id_list(" ".join(_raw_values(msg, "in-reply-to"))),
        references=_references(msg, defects),
        subject=single_line((headers.get("subject") or [""])[0], max_length=MAX_SUBJECT_CHARS),
        from_address=from_address,
        from_name=from_name,
        reply_to=_address_list(msg, "reply-to", hint, defects),
        to=_address_list(msg, "to", hint, defects, names),
        cc=_address_list(msg, "cc", hint, defects, names),
        date=_date(msg, defects),
        headers=headers,
        text=text,
        html=html,
        visible_text=visible,
        attachments=body.attachments,
        delivery_report=report,
        defects=list(dict.fromkeys(defects)),
        names=names,
    )


def _unparseable(raw: object) -> ParsedMail:
    try:
        data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8", "replace")
        text = clean_text(decode_bytes(data[: MAX_TEXT_CHARS * 4], None, []))[:MAX_TEXT_CHARS].strip()
    except Exception:
        text = ""
    return ParsedMail(
        message_id="", in_reply_to=[], references=[], subject="", from_address="", from_name="", reply_to=[],
        to=[], cc=[], date=None, headers={}, text=text, html=None, visible_text=text, attachments=[],
        delivery_report=None, defects=["unparseable"],
    )  # fmt: skip


# Loading


def _line_ending_defects(raw: bytes) -> list[str]:
    """Mixed line ends: bare LF among CRLF (SMTP smuggling, RELIABILITY 2.6) or bare CR."""
    defects = []
    if b"\r\n" in raw and _BARE_LF.search(raw):
        defects.append("bare_lf")
    if _BARE_CR.search(raw):
        defects.append("bare_cr")
    return defects


def _load(raw: bytes, defects: list[str]) -> Message:
    """The MIME tree; for hostile structure, the part of it within the limits, or only the headers."""
    nesting, end = _mime_extent(raw)
    if nesting > MAX_BOUNDARY_NESTING:
        defects.append("mime_depth_limit")
    else:
        if end < len(raw):
            defects.append("part_count_limit")
        try:
            return BytesParser(policy=compat32).parsebytes(raw[:end])
        except Exception:  # e.g. RecursionError; read the headers and keep the body as text
            defects.append("mime_parse_error")
    return BytesParser(policy=compat32).parsebytes(raw, headersonly=True)


def _mime_extent(raw: bytes) -> tuple[int, int]:
    """(How deep boundaries nest, where the part after MAX_PARTS starts), from one linear scan of the bytes.

    The parser builds every part before we could stop it, so parts past the limit are cut off beforehand.
    """
    open_boundaries: list[bytes] = []
    deepest = delimiters = 0
    for match in _BOUNDARY_EVENTS.finditer(raw):
        declared, delimiter, closing = match.groups()
        if declared is not None and declared.strip() not in open_boundaries:
            open_boundaries.append(declared.strip())
            deepest = max(deepest, len(open_boundaries))
            if deepest > MAX_BOUNDARY_NESTING:
                break
        elif delimiter is not None and delimiter in open_boundaries:
            if closing:
                del open_boundaries[open_boundaries.index(delimiter) :]
            delimiters += 1
            if delimiters > MAX_PARTS:
                return deepest, match.start()
    return deepest, len(raw)


# Headers


def _raw_values(msg: Message, name: str) -> list[str]:
    return [value[:MAX_HEADER_CHARS] for key, value in msg.raw_items() if key.strip().lower() == name]


def _decoded_headers(msg: Message, hint: str | None, defects: list[str]) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for index, (name, value) in enumerate(msg.raw_items()):
        if index >= MAX_HEADERS:
            defects.append("header_count_limit")
            break
        if len(value) > MAX_HEADER_CHARS:
            defects.append("header_length_limit")
        try:
            decoded = header_text(value[:MAX_HEADER_CHARS], charset_hint=hint)
        except Exception:
            defects.append("header_decode_error")
            continue
        headers.setdefault(name.strip().lower(), []).append(single_line(decoded, max_length=MAX_HEADER_VALUE_CHARS))
    return headers


def _message_id(msg: Message, defects: list[str]) -> str:
    values = _raw_values(msg, "message-id")
    message_id = normalize_message_id(unfold(values[0])) if values else ""
    if values and not message_id:
        defects.append("invalid_message_id")
    return message_id


def _references(msg: Message, defects: list[str]) -> list[str]:
    ids = message_id_list(" ".join(unfold(value) for value in _raw_values(msg, "references")))
    if len(ids) > MAX_REFERENCES:
        defects.append("references_limit")
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return ids


def _date(msg: Message, defects: list[str]) -> datetime | None:
    values = _raw_values(msg, "date")
    date = parse_date(unfold(values[0])) if values else None
    if values and date is None:
        defects.append("invalid_date")
    return date


def _pairs(msg: Message, name: str, hint: str | None, defects: list[str]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for value in _raw_values(msg, name):
        pairs.extend(parse_addresses(unfold(value, charset_hint=hint), defects))
    return pairs


def _sender(msg: Message, hint: str | None, defects: list[str]) -> tuple[str, str]:
    """(name, address) of the first From with an address (RFC 5322 allows several; RT multiple-reply-to)."""
    pairs = _pairs(msg, "from", hint, defects)
    with_address = [pair for pair in pairs if pair[1]]
    if len(_raw_values(msg, "from")) > 1 or len(with_address) > 1:
        defects.append("multiple_from")
    name, address = (with_address or pairs or [("", "")])[0]
    return single_line(name, max_length=MAX_NAME_CHARS), address


def _address_list(
    msg: Message, name: str, hint: str | None, defects: list[str], names: dict[str, str] | None = None
) -> list[str]:
    pairs = _pairs(msg, name, hint, defects)
    addresses = list(dict.fromkeys(address for _, address in pairs if address))
    if names is not None:
        for display, address in pairs[:MAX_ADDRESSES]:
            if address and display and address not in names:
                names[address] = single_line(display, max_length=MAX_NAME_CHARS)
    if len(addresses) > MAX_ADDRESSES:
        defects.append("address_count_limit")
    return addresses[:MAX_ADDRESSES]


# MIME parts


@dataclass
class _Body:
    defects: list[str]
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    parts: int = 0

    def take_part(self) -> bool:
        """Count one more part; False (and a defect) once MAX_PARTS is reached."""
        self.parts += 1
        if self.parts > MAX_PARTS:
            self.defects.append("part_count_limit")
            return False
        return True

    def add_text(self, texts: list[str], text: str) -> None:
        room = MAX_TEXT_CHARS - sum(map(len, texts))
        if len(text) > room:
            self.defects.append("decoded_size_limit")
            text = text[: max(room, 0)]
        if text:
            texts.append(text)


def _walk(msg: Message, body: _Body) -> None:
    """Depth-first, in document order, without recursion; attached messages are not entered."""
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack and body.take_part():
        part, depth = stack.pop()
        if depth > MAX_MIME_DEPTH:
            body.defects.append("mime_depth_limit")
            continue
        try:
            children = _visit(part, body)
        except Exception:
            logger.warning("Skipped a MIME part that could not be read", exc_info=True)
            body.defects.append("part_error")
            continue
        stack.extend((child, depth + 1) for child in reversed(children))


def _visit(part: Message, body: _Body) -> list[Message]:
    """Take what *part* holds into *body*; return the sub-parts still to visit."""
    body.defects.extend(type(defect).__name__ for defect in part.defects)
    view = _mime_view(part, body.defects)
    content_type = _content_type(view, body.defects)
    if content_type.startswith("message/") and content_type not in _MESSAGE_TYPES and part.is_multipart():
        _add_report_part(part, view, content_type, body)  # delivery-status, disposition-notification, ...
        return []
    if content_type in _MESSAGE_TYPES:
        _add_message(part, view, content_type, body)
        return []
    if part.is_multipart():
        return [child for child in part.get_payload() if isinstance(child, Message)]
    if _is_body_text(view, content_type):
        _add_body_text(part, view, content_type, body)
    else:
        _add_attachment(part, view, content_type, body)
    return []


def _mime_view(part: Message, defects: list[str]) -> Message:
    """The part's Content-Type and -Disposition, unfolded, 8-bit-decoded and capped, for parameter parsing."""
    view = Message()
    view.set_default_type(part.get_default_type())
    for name in ("content-type", "content-disposition"):
        values = _raw_values(part, name)
        if values:
            if len(values[0]) > MAX_PARAM_HEADER_CHARS:  # the stdlib also reads it, e.g. in get_payload()
                defects.append("header_length_limit")
                part.replace_header(name, values[0][:MAX_PARAM_HEADER_CHARS])
            view[name] = unfold(values[0][:MAX_PARAM_HEADER_CHARS])
    return view


def _content_type(view: Message, defects: list[str]) -> str:
    """Lowercased type/subtype; a malformed Content-Type reads as text/plain (zammad#6141)."""
    content_type = view.get_content_type()
    if not _CONTENT_TYPE.match(content_type):
        content_type = "text/plain"
    declared = view.get("content-type")
    if declared is not None and content_type != declared.partition(";")[0].strip().lower():
        defects.append("invalid_content_type")
    return content_type


def _is_body_text(view: Message, content_type: str) -> bool:
    readable = content_type in _BODY_TYPES or content_type.startswith("multipart/")  # a multipart left unsplit
    return readable and view.get_content_disposition() != "attachment" and not _raw_filename(view)


def _payload_bytes(part: Message) -> bytes:
    """The decoded payload (base64, quoted-printable, uuencode); the encoding name is normalised first."""
    encoding = (_raw_values(part, "content-transfer-encoding") or [""])[0]
    normalised = (unfold(encoding).strip().lower().split() or [""])[0]
    if encoding and normalised != encoding:
        part.replace_header("Content-Transfer-Encoding", normalised)
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _add_body_text(part: Message, view: Message, content_type: str, body: _Body) -> None:
    charset = _param(view, "charset").lower() or None
    text = clean_text(decode_bytes(_payload_bytes(part), charset, body.defects))
    if content_type == "text/html":
        body.add_text(body.html, text)
        return
    if _param(view, "format").lower() == "flowed":
        text = unflow(text, delsp=_param(view, "delsp").lower() == "yes")
    body.add_text(body.plain, text)


def _add_attachment(part: Message, view: Message, content_type: str, body: _Body) -> None:
    content = _payload_bytes(part)
    filename = _filename(view) or _uuencoded_name(part) or "attachment"
    content_id = _content_id(part)
    disposition = view.get_content_disposition()
    inline = disposition == "inline" or (disposition is None and content_id is not None)
    body.attachments.append(ParsedAttachment(filename, content_type, content, content_id, inline))
    if content_type in _TNEF_TYPES or filename.lower() == "winmail.dat":
        _add_tnef_files(content, body)


def _add_message(part: Message, view: Message, content_type: str, body: _Body) -> None:
    """An attached message: kept whole as an ``.eml`` attachment; its text is not merged into the body."""
    if part.is_multipart() and part.get_payload():
        inner = part.get_payload(0)
        content = _message_bytes(inner, body.defects)
        subject = header_text((_raw_values(inner, "subject") or [""])[0])
    else:
        content, subject = _payload_bytes(part), ""
    filename = _filename(view) or safe_filename(f"{single_line(subject, max_length=100) or 'message'}.eml")
    inline = view.get_content_disposition() == "inline"
    body.attachments.append(ParsedAttachment(filename, content_type, content, _content_id(part), inline))


def _add_report_part(part: Message, view: Message, content_type: str, body: _Body) -> None:
    blocks = part.get_payload()
    text = "\n\n".join("\n".join(f"{name}: {unfold(value)}" for name, value in block.raw_items()) for block in blocks)
    filename = _filename(view) or f"{content_type.partition('/')[2]}.txt"
    body.attachments.append(ParsedAttachment(filename, content_type, text.encode("utf-8"), None, False))


def _message_bytes(msg: Message, defects: list[str]) -> bytes:
    """The attached message regenerated (the parser keeps no raw slice); b"" if even that fails (too deep)."""
    try:
        return msg.as_bytes(policy=compat32)
    except Exception:
        defects.append("attached_message_error")
        return b""


def _filename(view: Message) -> str:
    """RFC 2231 ``filename*`` (continuations too), plain or RFC 2047-encoded ``filename``, or ``name``."""
    name = _raw_filename(view)
    return safe_filename(header_text(name)) if name else ""


def _raw_filename(view: Message) -> str:
    return _param(view, "filename", "content-disposition") or _param(view, "name")


def _param(view: Message, name: str, header: str = "content-type") -> str:
    """A MIME parameter, RFC 2231-decoded; "" if absent. The stdlib raises on some continuation mixes
    (``name*=…; name*0*=…``: TypeError in email.utils.decode_params); then a plain reading is used."""
    try:
        value = view.get_param(name, None, header)
        return str(collapse_rfc2231_value(value)).strip() if value is not None else ""
    except Exception:
        match = re.search(rf'(?:^|;)\s*{re.escape(name)}\s*=\s*"?([^";]*)', str(view.get(header, "")), re.I)
        return match.group(1).strip() if match else ""


def _uuencoded_name(part: Message) -> str:
    """The name on the ``begin 644 name`` line of a uuencoded part."""
    encoding = (_raw_values(part, "content-transfer-encoding") or [""])[0].strip().lower()
    if encoding not in _UU_ENCODINGS or part.is_multipart():
        return ""
    part.replace_header("Content-Transfer-Encoding", "8bit")  # read the payload as it is, not decoded
    head = (part.get_payload(decode=True) or b"")[:4096].decode("utf-8", "replace")
    part.replace_header("Content-Transfer-Encoding", encoding)
    match = _UU_BEGIN.search(head)
    return safe_filename(header_text(match.group(1))) if match else ""


def _content_id(part: Message) -> str | None:
    values = _raw_values(part, "content-id")
    content_id = single_line(header_text(values[0]), max_length=250).strip("<> ") if values else ""
    return content_id or None


def safe_filename(name: str) -> str:
    """A display name for a file: no directories, control characters or leading/trailing dots and spaces."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = single_line(name, max_length=4 * MAX_FILENAME_CHARS).strip(" .")
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        keep = MAX_FILENAME_CHARS - len(extension) - 1
        name = f"{stem[:keep]}.{extension}" if dot and len(extension) <= 16 else name[:MAX_FILENAME_CHARS]
    return name or "attachment"


def _add_tnef_files(data: bytes, body: _Body) -> None:
    """The files inside a winmail.dat, next to the winmail.dat itself (zammad#2403)."""
    if TNEF is None:
        return
    try:
        contained = TNEF(data, do_checksum=False).attachments
    except Exception:
        body.defects.append("tnef_error")
        return
    for item in contained:
        if not body.take_part():
            return
        try:
            name = item.long_filename()
            name = decode_bytes(name, None, []) if isinstance(name, bytes) else str(name)
            filename = safe_filename(name.replace("\x00", ""))
            content = bytes(item.data)
        except Exception:
            body.defects.append("tnef_error")
            continue
        content_type = _guess_type(filename)
        body.attachments.append(ParsedAttachment(filename, content_type, content, None, False))


def _guess_type(filename: str) -> str:
    """From the name: the stdlib's built-in table (not the machine's mime.types) plus Office formats."""
    extension = filename.rpartition(".")[2].lower()
    return _OFFICE_TYPES.get(extension) or _MIME_TYPES.guess_type(filename)[0] or "application/octet-stream"


# Bodies


def _bodies(body: _Body) -> tuple[str, str | None, str]:
    """(text, sanitized html, visible text). Text comes from text/plain parts, else from the HTML."""
    text = "\n\n".join(part.strip("\n") for part in body.plain if part.strip()).strip()
    if not body.html:
        return text, None, visible_text(text) if text else ""
    raw_html = "\n".join(body.html)
    if html_within_budget(raw_html) < len(raw_html):
        body.defects.append("html_complexity_limit")
    html = sanitize_email_html(raw_html).strip()
    if text:
        return text, html, visible_text(text)
    text = html_to_text(html)
    return text, html, visible_text(text, quotes_marked=False) if text else ""
