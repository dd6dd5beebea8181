"""The empty contact form's HTML, rendered once per process and set of channels.

The page a visitor first gets (``GET /help/``) is the same for everyone except two values:
the CSRF token and the signed start time. Rendering it through the template and the form
widgets took most of the request's CPU, so it is rendered once with a marker in place of each
of the two, and each request joins the pieces around its own values. Everything else it shows
(the inboxes, the phone and hours settings) and the active language are the key of the stored
rendering, so a change of any of them renders anew: the page never shows stale channels. The
template stays the one source of the page; a form sent back with errors is rendered in full.
"""

from __future__ import annotations

import secrets
import threading

from django.conf import settings
from django.middleware.csrf import get_token
from django.template.loader import get_template
from django.utils import translation
from django.utils.html import escape

from frontdesk.mail.models import Inbox

from .forms import ContactForm, started_token

TEMPLATE = "portal/help.html"
MAX_RENDERINGS = 16  # distinct sets of channels kept; more only after an admin edits them often

# Random per process, so no text an admin or a visitor writes can contain them.
_CSRF_MARK = f"fdcsrf{secrets.token_hex(16)}"
_STARTED_MARK = f"fdstarted{secrets.token_hex(16)}"

_renderings: dict[tuple, tuple[str, ...]] = {}
_lock = threading.Lock()


def channels() -> dict:
    """What the page lists besides the form: every inbox, the phone number and the hours."""
    return {
        "inboxes": list(Inbox.objects.order_by("-is_default", "name").values_list("name", "address")),
        "phone": settings.FRONTDESK_SUPPORT_PHONE,
        "hours": settings.FRONTDESK_SUPPORT_HOURS,
    }


def _pieces(found: dict) -> tuple[str, ...]:
    """The page split at the markers: text, marker, text, marker, …, text."""
    # The language too: the page has no translated text yet, but must not serve one language's
    # rendering in another once it has.
    key = (tuple(found["inboxes"]), found["phone"], found["hours"], translation.get_language())
    pieces = _renderings.get(key)
    if pieces is not None:
        return pieces
    html = get_template(TEMPLATE).render({
        **found, "form": ContactForm(), "notice": "", "files_dropped": False,
        "started": _STARTED_MARK, "csrf_token": _CSRF_MARK,
    })
    pieces = tuple(_split(html))
    with _lock:
        if len(_renderings) >= MAX_RENDERINGS:
            _renderings.clear()
        _renderings[key] = pieces
    return pieces


def _split(html: str):
    rest = html
    while True:
        positions = [(rest.find(mark), mark) for mark in (_CSRF_MARK, _STARTED_MARK) if mark in rest]
        if not positions:
            yield rest
            return
        at, mark = min(positions)
        yield rest[:at]
        yield mark
        rest = rest[at + len(mark):]


def empty_form_html(request) -> str:
    """The contact page with an empty form for ``request``: its CSRF token (the cookie is set
    as when a template asks for the token) and a fresh start time."""
    if settings.DEBUG:  # templates may change under a developer's hands
        _renderings.clear()
    values = {_CSRF_MARK: escape(get_token(request)), _STARTED_MARK: escape(started_token())}
    return "".join(values.get(piece, piece) for piece in _pieces(channels()))
