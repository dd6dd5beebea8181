"""What a reader needs to see of a reply: quoted history and trailing signatures folded away.

Heuristics after the conventions of the common clients: Gmail, Apple Mail and Thunderbird write an
"On … wrote:" line and ``>`` quotes (Apple Mail on iOS quotes the attribution line too); Outlook writes
"-----Original Message-----" or a "From: … Sent: …" block with no quote marks. Text derived from HTML has
no quote marks either (the history was a ``blockquote``), so there the attribution line alone ends the reply.
The full text is always kept by the caller.
"""

from __future__ import annotations

import re

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


def visible_text(text: str, *, quotes_marked: bool = True) -> str:
    """*text* without quoted history and a trailing signature; *text* itself when nothing else would be left.

    With *quotes_marked* (plain-text mail), an attribution line ends the reply only when nothing but ``>``
    lines follow it, so interleaved and bottom-posted answers stay; without (text from HTML) it always does.
    """
    lines = text.split("\n")
    lines = lines[: _history_start(lines, quotes_marked=quotes_marked)]
    lines = _without_trailing_quotes(lines)
    lines = _without_signature(lines)
    return "\n".join(lines).strip() or text


def _history_start(lines: list[str], *, quotes_marked: bool) -> int:
    last_unquoted = _last_unquoted_line(lines)
    for index, line in enumerate(lines):
        if _ORIGINAL_MESSAGE.match(line) or _is_outlook_header(lines, index):
            return index - 1 if index and _UNDERSCORES.match(lines[index - 1]) else index
        attribution_lines = _attribution_length(lines, index)
        if attribution_lines and (not quotes_marked or index + attribution_lines > last_unquoted):
            return index
    return len(lines)


def _last_unquoted_line(lines: list[str]) -> int:
    """Index of the last line with text that is not a ``>`` quote (-1 if none)."""
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].strip() and not lines[index].startswith(">"):
            return index
    return -1


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
    paragraph: list[str] = []  # pieces of the flowed line being joined
    paragraph_depth = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:].removeprefix(" ")
        if paragraph and depth != paragraph_depth:
            out.append(_with_quote_marks(paragraph_depth, paragraph))
            paragraph = []
        flowed = content.endswith(" ") and content.rstrip() != "--"  # "-- " (signature) never flows
        paragraph.append(content[:-1] if flowed and delsp else content)
        paragraph_depth = depth
        if not flowed:
            out.append(_with_quote_marks(depth, paragraph))
            paragraph = []
    if paragraph:
        out.append(_with_quote_marks(paragraph_depth, paragraph))
    return "\n".join(out)


def _with_quote_marks(depth: int, pieces: list[str]) -> str:
    content = "".join(pieces)
    return ">" * depth + (" " if depth and content else "") + content
