"""Bytes of a mail part or header to text: declared charset, then UTF-8, then cp1252; never an exception.

Mail in the wild declares charsets the codec registry does not know (``x-unknown``, ``ks_c_5601-1987``),
declares Latin-1 or US-ASCII for UTF-8 bytes (Outlook), or sends ISO-2022-JP with no ``charset=`` at all.
"""

from __future__ import annotations

import codecs
import re

# Labels seen in mail mapped to the Python codec that reads them best (supersets where the label is a subset).
_ALIASES = {
    "utf8": "utf-8",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman",
}
# Labels that mean "no idea": decode as if nothing was declared.
_UNKNOWN_LABELS = {"x-unknown", "unknown", "unknown-8bit", "x-user-defined", "default", "charset", "none"}
# Python text codecs that are not mail charsets (they interpret backslashes or do IDNA, not decode mail).
_NOT_MAIL_CODECS = {"unicode-escape", "raw-unicode-escape", "undefined", "idna", "punycode"}
# Labels for Latin-1/ASCII: what senders write when they have not thought about it; read as cp1252 (as browsers
# do) but try UTF-8 first, since valid UTF-8 under these labels is almost always mislabelled UTF-8.
_WEAK_CODECS = {"ascii", "iso8859-1", "cp1252", "iso8859-15"}
_ISO2022JP_CODECS = ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2")
_ISO2022JP_ESCAPES = (b"\x1b$B", b"\x1b$@", b"\x1b(J", b"\x1b(I", b"\x1b$(D")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LANGUAGE_SUFFIX = re.compile(r"\*.*$")
_LONE_SURROGATES = re.compile("[\ud800-\udfff]")


def decode_bytes(data: bytes, charset: str | None, defects: list[str]) -> str:
    """Decode with the declared charset where it fits, else UTF-8, else cp1252 (lossy as a last resort).

    Appends ``unknown_charset`` or ``charset_fallback`` to *defects* when the declaration could not be used.
    """
    codec = codec_for(charset)
    if charset and codec is None and _label(charset) not in _UNKNOWN_LABELS:
        defects.append("unknown_charset")
    for candidate in _candidates(data, codec):
        try:
            text = data.decode(candidate)
        except (UnicodeError, LookupError):
            continue
        if codec and codec not in _WEAK_CODECS and _family(candidate) != _family(codec):
            defects.append("charset_fallback")
        return without_surrogates(text)
    defects.append("charset_fallback")
    return data.decode("cp1252", "replace")


def without_surrogates(text: str) -> str:
    """Lone surrogates (UTF-7 can decode to them) replaced: they cannot be encoded, stored or sanitized."""
    return _LONE_SURROGATES.sub("\ufffd", text)


def codec_for(charset: str | None) -> str | None:
    """The Python codec name for a mail charset label, or None when unknown or unusable."""
    label = _label(charset or "")
    if not label or label in _UNKNOWN_LABELS:
        return None
    try:
        name = codecs.lookup(_ALIASES.get(label, label)).name
        b"a".decode(name, "replace")  # rejects codecs that are not text encodings (base64, rot13, zlib)
    except (LookupError, ValueError):
        return None
    return None if name in _NOT_MAIL_CODECS else name


def looks_like_iso2022jp(data: bytes) -> bool:
    """7-bit ISO-2022-JP (JIS) text, recognisable by its escape sequences."""
    return data.isascii() and any(escape in data for escape in _ISO2022JP_ESCAPES)


def clean_text(text: str) -> str:
    """Body text with ``\\n`` line ends and no control characters (no NUL: PostgreSQL cannot store it)."""
    return _CONTROL_CHARS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _label(charset: str) -> str:
    return _LANGUAGE_SUFFIX.sub("", charset.strip().strip("\"'").lower())


def _family(codec: str) -> str:
    return "iso2022_jp" if codec.startswith("iso2022_jp") else codec


def _candidates(data: bytes, codec: str | None) -> list[str]:
    if looks_like_iso2022jp(data) or (codec or "").startswith("iso2022_jp"):
        return [*_ISO2022JP_CODECS, "utf-8", "cp1252"]
    if codec is None or codec in _WEAK_CODECS:
        return ["utf-8", "cp1252"]
    return [codec, "utf-8", "cp1252"]
