"""Signed identifiers we put in mail: per-ticket reply addresses, VERP return paths, the
stable per-ticket reference id, and our loop-detection id.

Each carries an HMAC of the secret key, so it cannot be guessed or forged (RELIABILITY rule
4); none of them authorises a sender, they only say which ticket or message is meant.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from django.conf import settings

_MAC_CHARS = 26  # 130 bits of base32


def _mac(purpose: str, value: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:_MAC_CHARS]


def _check(purpose: str, value: str, mac: str) -> bool:
    return hmac.compare_digest(_mac(purpose, value)[: len(mac)], mac.lower()) and len(mac) >= 16


def mail_domain() -> str:
    return settings.FRONTDESK_MAIL_DOMAIN or "localhost"


def no_reply_address() -> str:
    """The Reply-To of mail meant for agents only (approval requests, notifications): a reply to
    it would quote a signed link, so it never becomes a ticket (``pipeline.stop_no_reply``)."""
    return f"noreply@{mail_domain()}"


def loop_id() -> str:
    """Our instance's value for the X-Frontdesk-Loop header."""
    return _mac("loop", "instance")[:16]


def split_address(address: str) -> tuple[str, str]:
    local, _, domain = address.rpartition("@")
    return local, domain.lower()


def plus_token(address: str) -> str | None:
    """The part after '+' in the local part (``support+TOKEN@…``), if any."""
    local, _ = split_address(address)
    return local.partition("+")[2] or None


def base_address(address: str) -> str:
    """``support+anything@Example.com`` → ``support@example.com``."""
    local, domain = split_address(address.strip())
    return f"{local.partition('+')[0].lower()}@{domain}" if domain else address.strip().lower()


def reply_token(ticket_id: int) -> str:
    return f"t{ticket_id:x}-{_mac('reply', str(ticket_id))}"


_REPLY = re.compile(r"^t([0-9a-f]{1,12})-([a-z2-7]{26})$", re.IGNORECASE)


def ticket_id_from_token(token: str) -> int | None:
    match = _REPLY.match(token or "")
    if not match:
        return None
    ticket_id = int(match.group(1), 16)
    return ticket_id if _check("reply", str(ticket_id), match.group(2)) else None


def reply_address(inbox_address: str, ticket_id: int) -> str:
    local, domain = split_address(inbox_address)
    return f"{local.partition('+')[0]}+{reply_token(ticket_id)}@{domain}"


def verp_address(outbound_id: int) -> str:
    return f"bounces+o{outbound_id:x}-{_mac('verp', str(outbound_id))}@{mail_domain()}"


_VERP = re.compile(r"^o([0-9a-f]{1,12})-([a-z2-7]{26})$", re.IGNORECASE)


def outbound_id_from_verp(address: str) -> int | None:
    local, _ = split_address(address)
    if not local.lower().startswith("bounces+"):
        return None
    match = _VERP.match(local.partition("+")[2])
    if not match:
        return None
    outbound_id = int(match.group(1), 16)
    return outbound_id if _check("verp", str(outbound_id), match.group(2)) else None


def ticket_reference_id(reference: str) -> str:
    """A Message-ID-shaped id added to every outbound References header, so a thread survives
    relays that rewrite Message-IDs (normalised form, without <>)."""
    return f"ticket.{reference.lower()}.{_mac('ref', reference.upper())[:16]}@{mail_domain()}"


_REFERENCE = re.compile(r"^ticket\.([0-9a-z]{4,16})\.([a-z2-7]{16})@", re.IGNORECASE)


def reference_from_reference_id(message_id: str) -> str | None:
    match = _REFERENCE.match(message_id or "")
    if not match:
        return None
    reference = match.group(1).upper()
    return reference if _check("ref", reference, match.group(2)) else None
