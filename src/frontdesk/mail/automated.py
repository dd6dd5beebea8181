"""Is this mail from a machine? (RFC 3834 and what real mailers send; RELIABILITY 2.2.)

Automated mail is still stored and threaded, but never acknowledged or otherwise answered.
"""

from __future__ import annotations

import re

from .addresses import loop_id

MAX_HOPS = 50  # RFC 5321 §6.3: count Received headers; qmail refuses at 100
_NO_REPLY_SENDER = re.compile(
    r"^(mailer-daemon|postmaster|abuse|root|noreply|no-reply|no\.reply|donotreply|do-not-reply)([+._-].*)?@",
    re.IGNORECASE,
)
_BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply", "auto-reply"}
_AUTORESPONDER_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-auto-reply")


def _first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name) or [""]
    return values[0].strip().lower()


def is_no_reply_address(address: str) -> bool:
    """An address of a machine that takes no replies (mailer-daemon, noreply, …)."""
    return bool(_NO_REPLY_SENDER.match(address))


def is_own_loop(headers: dict[str, list[str]]) -> bool:
    """Our own mail came back to us (a forwarding loop or an auto-reply quoting our header)."""
    return loop_id() in [value.strip() for value in headers.get("x-frontdesk-loop", [])]


def too_many_hops(headers: dict[str, list[str]]) -> bool:
    return len(headers.get("received", [])) > MAX_HOPS


def automated_reason(*, headers: dict[str, list[str]], from_address: str, envelope_from: str) -> str:
    """Why this mail counts as automated, or "" for mail written by a person."""
    auto_submitted = _first(headers, "auto-submitted")
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("precedence", "x-precedence"):
        if _first(headers, name) in _BULK_PRECEDENCE:
            return f"{name}: {_first(headers, name)}"
    suppress = _first(headers, "x-auto-response-suppress")
    if suppress and any(word in suppress for word in ("all", "oof", "autoreply")):
        return f"X-Auto-Response-Suppress: {suppress}"
    for name in _AUTORESPONDER_HEADERS:
        if name in headers:
            return name
    for name in ("list-id", "list-unsubscribe"):
        if name in headers:
            return name
    if _first(headers, "return-path") in {"<>", ""} and "return-path" in headers:
        return "null Return-Path"
    if envelope_from == "<>":  # callers pass "<>" for SMTP's null reverse-path
        return "null sender"
    for address in (from_address, envelope_from):
        if address and _NO_REPLY_SENDER.match(address):
            return f"sender {address}"
    return ""
