"""What a reader needs to see of a reply: quoted history and trailing signatures folded away.

Heuristics after the conventions of the common clients: Gmail, Apple Mail and Thunderbird write an
"On … wrote:" line and ``>`` quotes (Apple Mail on iOS quotes the attribution line too); Outlook writes
"-----Original Message-----" or a "From: … Sent: …" block with no quote marks; HTML mail wraps the history
in ``blockquote type=cite`` or ``div class=gmail_quote``. The full text is always kept by the caller.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

MAX_SIGNATURE_LINES = 15

_ATTRIBUTION = re.compile(
    r"^\s*(?:"
    r"On\b.{0,300}\bwrote\s*:"  # English: Gmail, Apple Mail, Thunderbird
    r"|Am\b.{0,300}\bschrieb\b.{0,200}:"
    r"|Le\b.{0,300}\ba écrit\s*:"
    r"|El\b.{0,300}\bescribió\s*:"
    r"|Op\b.{0,300}\bschreef\b.{0,200}:"
    r"|Il\b.{0,300}\bha scritto\s*:"
    r"|Em\b.{0,300}\bescreveu\s*:"
    r"|Den\b.{0,300}\bskrev\b.{0,200}:"
    r")\s*$",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original"
    r"|Oorspronkelijk bericht|Messaggio originale|Mensagem original)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\s*\*?(?:From|Von|De|Van|Da|Från|Fra)\s*:\*?\s*\S", re.IGNORECASE)
_HEADER_SENT = re.compile(
    r"^\s*\*?(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado|Verzonden|Inviato|Skickat|Sendt|Data)\s*:\*?\s*\S",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_FORWARDED = re.compile(
    r"^\s*(?:-+\s*Forwarded message\s*-+|Begin forwarded message:|-+\s*Weitergeleitete Nachricht\s*-+)\s*$",
    re.IGNORECASE,
)
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(?:Sent from my \w[\w .-]{0,40}|Sent from (?:Outlook|Mail|Yahoo Mail)\b.{0,80}|Get Outlook for \w.{0,80}"
    r"|Von meinem \w[\w .-]{0,40} gesendet|Envoyé de mon \w[\w .-]{0,40}|Enviado desde mi \w[\w .-]{0,40})\s*$",
    re.IGNORECASE,
)
_QUOTE_CLASSES = {"gmail_quote", "yahoo_quoted", "protonmail_quote"}
_VOID_TAGS = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def visible_text(text: str) -> str:
    """*text* without quoted history and a trailing signature; *text* itself when nothing else would be left."""
    lines = text.split("\n")
    lines = lines[: _history_start(lines)]
    lines = _without_trailing_quotes(lines)
    lines = _without_signature(lines)
    return "\n".join(lines).strip() or text


def _history_start(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if _ORIGINAL_MESSAGE.match(line) or _is_outlook_header(lines, index):
            return index - 1 if index and _UNDERSCORES.match(lines[index - 1]) else index
        attribution_lines = _attribution_length(lines, index)
        if attribution_lines and _only_quotes_after(lines, index + attribution_lines):
            return index
    return len(lines)


def _is_outlook_header(lines: list[str], index: int) -> bool:
    if not _HEADER_FROM.match(lines[index]) or _follows_forward_marker(lines, index):
        return False
    return any(_HEADER_SENT.match(line) for line in lines[index + 1 : index + 4])


def _follows_forward_marker(lines: list[str], index: int) -> bool:
    previous = [line for line in lines[max(index - 3, 0) : index] if line.strip()]
    return bool(previous) and bool(_FORWARDED.match(previous[-1]))


def _attribution_length(lines: list[str], index: int) -> int:
    """1 or 2 when an "On … wrote:" line (which Gmail wraps at 78 columns) starts at *index*, else 0."""
    line = lines[index]
    if line.startswith(">") or len(line) > 400:
        return 0
    if _ATTRIBUTION.match(line):
        return 1
    if index + 1 < len(lines) and lines[index + 1].strip() and _ATTRIBUTION.match(f"{line} {lines[index + 1]}"):
        return 2
    return 0


def _only_quotes_after(lines: list[str], start: int) -> bool:
    return all(not line.strip() or line.startswith(">") for line in lines[start:])


def _without_trailing_quotes(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and (not lines[end - 1].strip() or lines[end - 1].startswith(">")):
        end -= 1
    return lines[:end]


def _without_signature(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if line.rstrip() == "--" and len(lines) - index - 1 <= MAX_SIGNATURE_LINES:
            lines = lines[:index]
            break
    lines = _without_trailing_blanks(lines)
    if lines and _MOBILE_SIGNATURE.match(lines[-1]):
        lines = _without_trailing_blanks(lines[:-1])
    return lines


def _without_trailing_blanks(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    return lines[:end]


def unflow(text: str, *, delsp: bool) -> str:
    """Join the soft line breaks of ``format=flowed`` text (RFC 3676), keeping quote depth."""
    out: list[str] = []
    current: str | None = None
    current_depth = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:].removeprefix(" ")
        if current is not None and depth != current_depth:
            out.append(_with_quote_marks(current_depth, current))
            current = None
        flowed = content.endswith(" ") and content.rstrip() != "--"  # "-- " (signature) never flows
        if flowed and delsp:
            content = content[:-1]
        current = content if current is None else current + content
        current_depth = depth
        if not flowed:
            out.append(_with_quote_marks(depth, current))
            current = None
    if current is not None:
        out.append(_with_quote_marks(current_depth, current))
    return "\n".join(out)


def _with_quote_marks(depth: int, content: str) -> str:
    return ">" * depth + (" " if depth and content else "") + content


def strip_html_quotes(html: str) -> str:
    """*html* without quote containers (``blockquote type=cite``, Gmail/Yahoo/Proton quote divs).

    The result is only meant for ``html_to_text``; it is not sanitized.
    """
    stripper = _QuoteStripper()
    try:
        stripper.feed(html)
        stripper.close()
    except Exception:  # html.parser is forgiving, but the contract is to return something
        return html
    return "".join(stripper.out)


class _QuoteStripper(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self.skipping: str | None = None  # the tag whose element is being skipped
        self.nesting = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skipping:
            self.nesting += tag == self.skipping
        elif tag not in _VOID_TAGS and _is_quote(tag, dict(attrs)):
            self.skipping, self.nesting = tag, 1
        else:
            self.out.append(self.get_starttag_text() or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.skipping:
            self.out.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        if not self.skipping:
            self.out.append(f"</{tag}>")
        elif tag == self.skipping:
            self.nesting -= 1
            if not self.nesting:
                self.skipping = None

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        self.handle_data(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.handle_data(f"&#{name};")


def _is_quote(tag: str, attrs: dict[str, str | None]) -> bool:
    if tag == "blockquote" and (attrs.get("type") or "").lower() == "cite":
        return True
    return bool(_QUOTE_CLASSES & set((attrs.get("class") or "").split()))
