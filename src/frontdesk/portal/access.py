"""Which conversations this browser may open: link ids held in the server-side session.

Why the session and not a cookie of our own: the token is exchanged once and then lives
nowhere in the browser, not even signed; the session cookie is HttpOnly and SameSite=Lax;
every request re-checks the link row, so revoking a link (or all of a ticket's) ends access
at once, and a grant expires after ``FRONTDESK_PORTAL_SESSION_HOURS`` however long the
session cookie lives. The session key is cycled on every exchange (no fixation).
"""

from __future__ import annotations

import time

from django.conf import settings

from .services import ResolvedLink, link_get

SESSION_KEY = "portal_links"
MAX_GRANTS = 20


def _grants(request) -> dict[str, list]:
    """{link id: [granted at (epoch seconds), ticket reference at the time]}, fresh ones only."""
    grants = request.session.get(SESSION_KEY)
    if not isinstance(grants, dict):
        return {}
    limit = time.time() - settings.FRONTDESK_PORTAL_SESSION_HOURS * 3600
    return {
        key: value for key, value in grants.items()
        if key.isdigit() and isinstance(value, list) and len(value) == 2 and value[0] > limit
    }


def grant(request, resolved: ResolvedLink) -> None:
    """Let this browser open ``resolved``'s conversation (after a valid token)."""
    request.session.cycle_key()
    grants = _grants(request)
    grants[str(resolved.link.pk)] = [int(time.time()), resolved.ticket.reference]
    # Keep the newest few: a browser does not need hundreds of conversations open at once.
    request.session[SESSION_KEY] = dict(sorted(grants.items(), key=lambda item: item[1][0])[-MAX_GRANTS:])


def granted_conversation(request, reference: str) -> ResolvedLink | None:
    """The link this browser holds for the ticket ``reference``, re-checked now, or None.

    The ticket returned may have another reference than asked for when the ticket was
    merged since: the caller redirects to it.
    """
    reference = reference.upper()
    entries = sorted(_grants(request).items(), key=lambda item: -item[1][0])
    for key, (_, granted_reference) in entries:
        if granted_reference == reference and (resolved := link_get(link_id=int(key))):
            return resolved
    return None
