"""Header values from raw mail: unfolding, raw 8-bit bytes, RFC 2047 words, addresses, message ids, dates.

Every function takes the raw header text as the parser stored it (8-bit bytes as surrogate escapes) and
never raises. Values may still contain CR/LF decoded from encoded words (CVE-2024-6923): callers pass them
through ``single_line`` before storing or reusing them.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from email import policy
from email.utils import parsedate_to_datetime
from itertools import groupby

from frontdesk.core.text import single_line
from frontdesk.mail.charsets import decode_bytes, looks_like_iso2022jp

MAX_ADDRESS_CHARS = 1000  # one address item; longer ones are read by a plain pattern
MAX_MESSAGE_ID_CHARS = 250

_LINE_BREAKS = re.compile(r"\r\n|\r|\n")
_SURROGATES = re.compile("[\udc80-\udcff]")
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,75})\?([qQbB])\?([^?]*?)\?=")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")
_ID_IN_BRACKETS = re.compile(r"<([^<>]*)>")
_ADDR_SPEC = re.compile(r'^("[^"]+"|[^@\s<>()\[\],;:\\"]+)@[^@\s<>()\[\],;:\\"]+$')
_ADDRESS_SEPARATORS = re.compile(r'[\s<>()\[\],;:\\"]+')


def header_text(raw: str, *, charset_hint: str | None = None) -> str:
    """Unfolded, 8-bit-decoded, RFC 2047-decoded text of one raw header value."""
    return decode_words(unfold(raw, charset_hint=charset_hint))


def unfold(raw: str, *, charset_hint: str | None = None) -> str:
    """Remove folding line breaks and decode raw 8-bit bytes (RFC 6532 UTF-8, else the hint, else cp1252)."""
    value = _LINE_BREAKS.sub("", raw)
    if "\x1b" not in value and not _SURROGATES.search(value):
        return value
    data = _to_bytes(value)
    if not looks_like_iso2022jp(data):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return decode_bytes(data, charset_hint, [])


def _to_bytes(text: str) -> bytes:
    """Back to the bytes the parser read (8-bit bytes arrive as surrogate escapes)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that did not come from a byte
        return text.encode("utf-8", "replace")


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words, tolerating what real mailers get wrong.

    Words glued to text, lowercase ``q``/``b``, spaces inside words, bad base64 padding, unknown charsets and
    multi-byte characters split across adjacent words all decode; a word that cannot be decoded stays as is.
    """
    if "=?" not in value:
        return value
    out: list[str] = []
    pending: list[tuple[str, bytes]] = []
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        if between and not (pending and between.isspace()):  # RFC 2047 §6.2: space between words is dropped
            out.append(_flush(pending))
            out.append(between)
        data = _decode_word(match.group(2), match.group(3))
        if data is None:
            out.append(_flush(pending))
            out.append(match.group(0))
        else:
            pending.append((match.group(1), data))
        position = match.end()
    out.append(_flush(pending))
    out.append(value[position:])
    return "".join(out)


def _decode_word(encoding: str, text: str) -> bytes | None:
    if encoding in "qQ":
        data = _to_bytes(text).replace(b"_", b" ")
        return _QP_ESCAPE.sub(lambda match: bytes([int(match.group(1), 16)]), data)
    cleaned = _NOT_BASE64.sub("", text)
    if not cleaned:
        return None
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        return None


def _flush(pending: list[tuple[str, bytes]]) -> str:
    """Decode adjacent words (emptying *pending*); neighbours in one charset are joined first (split characters)."""
    runs = groupby(pending, key=lambda word: word[0].lower())
    text = "".join(decode_bytes(b"".join(data for _, data in run), charset, []) for charset, run in runs)
    pending.clear()
    return text


def normalize_message_id(value: str) -> str:
    """The id inside the first ``<…>`` (or a bare ``local@domain``), without brackets; "" if none or garbage."""
    if not isinstance(value, str):
        return ""
    match = _ID_IN_BRACKETS.search(value)
    if match:
        return _clean_id(match.group(1), bracketed=True)
    tokens = value.split()
    return _clean_id(tokens[0], bracketed=False) if tokens else ""


def message_id_list(value: str) -> list[str]:
    """Normalised ids of In-Reply-To or References, in order, without duplicates or garbage."""
    bracketed = _ID_IN_BRACKETS.findall(value)
    candidates = bracketed or value.split()
    ids = (_clean_id(candidate, bracketed=bool(bracketed)) for candidate in candidates)
    return list(dict.fromkeys(id_ for id_ in ids if id_))


def _clean_id(candidate: str, *, bracketed: bool) -> str:
    candidate = candidate.strip()
    if not candidate or len(candidate) > MAX_MESSAGE_ID_CHARS:
        return ""
    if any(ch.isspace() or not ch.isprintable() for ch in candidate):
        return ""
    if not bracketed and ("@" not in candidate or "<" in candidate or ">" in candidate):
        return ""
    return candidate


def parse_addresses(value: str, defects: list[str]) -> list[tuple[str, str]]:
    """(display name, lowercased addr-spec or "") for each address in an unfolded address-list value.

    The list is split at top-level commas and each item is parsed by policy.default's RFC 5322 parser, which
    is quadratic on long hostile input and raises on some (e.g. encoded words that decode to CR/LF); one item
    at a time keeps it fast, and items it rejects are read with a plain pattern instead.
    """
    pairs: list[tuple[str, str]] = []
    for item in split_address_list(value):
        pairs.extend(_parse_item(item, defects))
    return pairs


def split_address_list(value: str) -> list[str]:
    """Items of an address list, split at commas outside quotes, comments and angle brackets."""
    items: list[str] = []
    start, depth, quoted, escaped = 0, 0, False, False
    for index, char in enumerate(value):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char in "(<":
            depth += 1
        elif char in ")>":
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0:
            items.append(value[start:index])
            start = index + 1
    items.append(value[start:])
    return [item.strip() for item in items if item.strip()]


def _parse_item(item: str, defects: list[str]) -> list[tuple[str, str]]:
    if len(item) <= MAX_ADDRESS_CHARS:
        for candidate in (item, _quote_encoded_words(item)):
            try:
                header = policy.default.header_factory("to", candidate)
                found = [(address.display_name, address.addr_spec) for address in header.addresses]
            except Exception:  # noqa: S112 - the next, more forgiving reading follows
                continue
            defects.extend(type(defect).__name__ for defect in header.defects)
            return [_pair(name, address, item) for name, address in found]
    defects.append("address_parse_error")
    tokens = _ADDRESS_SEPARATORS.split(decode_words(item))  # split, then test: a findall would backtrack
    return [("", token.lower()) for token in tokens if is_addr_spec(token)]


def _quote_encoded_words(item: str) -> str:
    """Encoded words replaced by quoted strings of their single-line text (the strict parser refuses CR/LF)."""

    def quoted(match: re.Match[str]) -> str:
        text = single_line(decode_words(match.group(0)), max_length=MAX_ADDRESS_CHARS)
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return _ENCODED_WORD.sub(quoted, item)


def _pair(name: str, address: str, item: str) -> tuple[str, str]:
    address = address.lower() if is_addr_spec(address) else ""
    if not address and not name and not any(char in item for char in "@<>"):
        name = decode_words(item)  # "From: Mail Delivery System": a name without an address
    return single_line(name, max_length=MAX_ADDRESS_CHARS), address


def is_addr_spec(address: str) -> bool:
    return bool(_ADDR_SPEC.match(address)) and address.isprintable()


def parse_date(value: str) -> datetime | None:
    """An aware datetime (zone-less or ``-0000`` dates are taken as UTC), or None when unparseable."""
    try:
        parsed = parsedate_to_datetime(value)
    except Exception:  # TypeError, ValueError, OverflowError, IndexError depending on the garbage
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
