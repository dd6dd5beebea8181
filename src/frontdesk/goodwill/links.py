"""Signed approval links for approvers (in their notification): open a confirm page whose
POST button decides. The token names the grant and the approver; the approver must be the
signed-in agent. Tampered, expired or already-used links change nothing."""

from __future__ import annotations

from django.conf import settings
from django.core import signing

SALT = "frontdesk.goodwill.approval-link"


def approval_token(*, grant, approver) -> str:
    return signing.dumps({"g": grant.pk, "a": approver.pk}, salt=SALT, compress=True)


def approval_url(*, grant, approver) -> str:
    return f"/desk/approvals/link/{approval_token(grant=grant, approver=approver)}/"


def approval_token_read(token: str) -> tuple[int, int] | None:
    """``(grant_id, approver_id)`` of a valid, unexpired token; ``None`` otherwise."""
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.FRONTDESK_GOODWILL_LINK_HOURS * 3600)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(data, dict) or not isinstance(data.get("g"), int) or not isinstance(data.get("a"), int):
        return None
    return data["g"], data["a"]
