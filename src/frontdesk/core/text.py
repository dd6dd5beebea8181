"""Customer content is hostile wherever shown: sanitize HTML with nh3, escape the rest."""

from __future__ import annotations

import html
import re

import nh3
from django.utils.html import escape, linebreaks

URL_SCHEMES = {"http", "https", "mailto", "tel"}
_WHITESPACE_RUNS = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_BLOCK_END = re.compile(r"(?i)<\s*(br\s*/?|/p|/div|/li|/tr|/h[1-6]|/blockquote)\s*>")


def sanitize_html(raw: str) -> str:
    """Safe HTML for display: Ammonia's allow-list, links made inert for referrers and SEO."""
    return nh3.clean(raw, url_schemes=URL_SCHEMES, link_rel="noopener noreferrer nofollow")


def html_to_text(raw: str) -> str:
    """Readable plain text from HTML (for search, previews and plain-text mail)."""
    with_breaks = _BLOCK_END.sub("\n", raw)
    stripped = nh3.clean(with_breaks, tags=set(), clean_content_tags={"script", "style", "head"})
    text = html.unescape(stripped)
    lines = (_WHITESPACE_RUNS.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def text_to_html(text: str) -> str:
    return linebreaks(escape(text))


def single_line(value: str, *, max_length: int) -> str:
    """Header-like values (subjects, names, filenames): no CR/LF or control characters."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in value)
    return " ".join(cleaned.split())[:max_length]
