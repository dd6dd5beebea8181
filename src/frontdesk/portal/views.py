"""The customer pages: thin, over ``services`` (links), ``intake`` (contact form, fresh
links), ``access`` (this browser's grants) and ticket services.

Every response here is private and uncacheable and sends no referrer, so neither a token
nor a ticket reference leaks to another site or into a shared cache.
"""

from __future__ import annotations

import functools
import zoneinfo

from django.conf import settings
from django.core import signing
from django.http import HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import decorator_from_middleware
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from frontdesk.core.errors import DomainError
from frontdesk.sla.promise import promise_for_ticket
from frontdesk.tickets.attachments import download_response
from frontdesk.tickets.services import (
    ticket_receive_customer_message,
    ticket_reopen_by_customer,
    ticket_solve_by_customer,
)

from . import access, contact_page, throttle
from .forms import MAX_FILES, ContactForm, LinkRequestForm, ReplyForm, new_attachments, started_at, started_token
from .intake import ContactRequest, contact_submit, link_request_fresh
from .selectors import CUSTOMER_STATUS, conversation_entries, public_attachment
from .services import ResolvedLink, link_issue, link_mark_used, link_resolve

SENT_COOKIE = "portal_sent"
SENT_SALT = "frontdesk.portal.contact-sent"
SENT_MAX_AGE = 24 * 3600


class _NoReferrerCsrf(CsrfViewMiddleware):
    """Django's CSRF check, accepting ``Origin: null``.

    Under ``Referrer-Policy: no-referrer`` browsers send ``Origin: null`` with a page's own
    form posts (Fetch: a request's origin is serialised as null under that policy), which
    Django's origin check refuses. The masked token of the form, matched against the CSRF
    cookie, is still required: another site can neither read nor forge it. Any real origin
    must still match ours.
    """

    def _origin_verified(self, request):
        return request.META.get("HTTP_ORIGIN") == "null" or super()._origin_verified(request)


_csrf_protect = decorator_from_middleware(_NoReferrerCsrf)


def _request_too_large(request) -> bool:
    """A body no valid form can have (every file at its limit, plus the text): refused from
    its Content-Length, before anything is read or spooled to disk."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return length > settings.FRONTDESK_MAX_ATTACHMENT_BYTES * MAX_FILES + 2 * settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _portal_view(view, *, indexable: bool):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method == "POST" and _request_too_large(request):
            response = HttpResponse("This upload is too large. Please send smaller files.",
                                    status=413, content_type="text/plain; charset=utf-8")
        else:
            response = _csrf_protect(view)(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        if not indexable:
            response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return csrf_exempt(never_cache(wrapped))


def private_page(view):
    """For every response of the conversation pages (errors included): no-store, no
    referrer, not indexed; CSRF-checked as above instead of by the global middleware."""
    return _portal_view(view, indexable=False)


def public_page(view):
    """The contact page: the same, except that search engines may index it."""
    return _portal_view(view, indexable=True)


# --- /help/ ---------------------------------------------------------------------------------

def _contact_page(request, form: ContactForm, *, status: int = 200, notice: str = ""):
    submitted = form.data.get("started", "") if form.is_bound else ""
    context = {
        **contact_page.channels(), "form": form, "notice": notice,
        # A valid start time is kept (the customer has been writing since); a bad one renewed.
        "started": submitted if started_at(submitted) is not None else started_token(),
        "files_dropped": form.is_bound and bool(request.FILES),
    }
    return render(request, "portal/help.html", context, status=status)


@public_page
@require_http_methods(["GET", "POST"])
def help_page(request):
    if request.method == "GET":
        return HttpResponse(contact_page.empty_form_html(request))
    form = ContactForm(request.POST, request.FILES)
    if not form.is_valid():
        return _contact_page(request, form)
    data = form.cleaned_data
    try:
        throttle.hit("contact", ip=throttle.client_ip(request), email=data["email"])
    except throttle.Throttled as exc:
        notice = (f"You have sent several messages in a short time. Please wait about {exc.minutes} "
                  "minutes and send this one again; everything you wrote is still here.")
        return _contact_page(request, form, status=429, notice=notice)
    try:
        receipt = contact_submit(request=ContactRequest(
            name=data["name"], email=data["email"], subject=data["subject"], message=data["message"],
            attachments=new_attachments(data["attachments"]),
        ))
    except DomainError as exc:
        form.add_error(None, exc.detail)
        return _contact_page(request, form)
    # Post/Redirect/Get; the confirmation is bound to this browser, not to a guessable URL.
    response = redirect("portal-help-sent")
    _remember_sent(response, {
        "reference": receipt.ticket.reference, "email": data["email"].strip().lower(),
        "subject": receipt.ticket.subject, "promise": getattr(receipt.promise, "text", ""),
    })
    return response


def _remember_sent(response, sent: dict) -> None:
    """The confirmation rides in a signed cookie sent only to the page that shows it, not in
    the session: sending the form then writes the ticket and nothing else (no session row, so
    no second write transaction per post). Signed, so it cannot be forged or altered; it holds
    what this browser has just typed plus the reference, all of which the page shows it."""
    response.set_cookie(
        SENT_COOKIE, signing.dumps(sent, salt=SENT_SALT, compress=True), max_age=SENT_MAX_AGE,
        path=reverse("portal-help-sent"), secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Lax",
    )


def _sent(request) -> dict | None:
    try:
        sent = signing.loads(request.COOKIES.get(SENT_COOKIE, ""), salt=SENT_SALT, max_age=SENT_MAX_AGE)
    except signing.BadSignature:
        return None
    return sent if isinstance(sent, dict) else None


@private_page
@require_GET
def help_sent(request):
    sent = _sent(request)
    if sent is None:
        return redirect("portal-help")
    return render(request, "portal/help_sent.html", {"sent": sent})


# --- /c/ ------------------------------------------------------------------------------------

def _invalid(request, form: LinkRequestForm | None = None):
    """The one page for every failure: wrong, tampered, expired or revoked token, or no
    (longer) access in this session. Identical whatever the reason."""
    return render(request, "portal/link_invalid.html", {"form": form or LinkRequestForm()}, status=404)


def _conversation_url(ticket) -> str:
    return reverse("portal-conversation", args=[ticket.reference])


def _granted(view):
    """Resolve ``reference`` to a conversation this browser may open, or answer the neutral
    page; a merged ticket redirects to the one it continues in."""

    @functools.wraps(view)
    def wrapped(request, reference: str, *args, **kwargs):
        resolved = access.granted_conversation(request, reference)
        if resolved is None:
            return _invalid(request)
        if resolved.ticket.reference != reference.upper():
            return redirect(_conversation_url(resolved.ticket))
        return view(request, resolved, *args, **kwargs)

    return wrapped


@private_page
@require_GET
def conversation_enter(request, token: str):
    """Exchange the emailed token for this session's access, then leave the token behind:
    the redirect drops it from the address bar and history."""
    resolved = link_resolve(token=token)
    if resolved is None:
        return _invalid(request)
    access.grant(request, resolved)
    link_mark_used(link=resolved.link)
    return redirect(_conversation_url(resolved.ticket))


def _conversation_page(request, resolved: ResolvedLink, *, form: ReplyForm | None = None, status: int = 200,
                       notice: str = ""):
    ticket = resolved.ticket
    zone = ticket.requester.time_zone
    try:
        tz = zoneinfo.ZoneInfo(zone) if zone else timezone.get_default_timezone()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = timezone.get_default_timezone()
    with timezone.override(tz):
        return render(request, "portal/conversation.html", {
            "ticket": ticket,
            "status_label": CUSTOMER_STATUS.get(ticket.status, ticket.status),
            "entries": conversation_entries(ticket=ticket),
            "form": form or ReplyForm(),
            "notice": notice or request.session.pop("portal_notice", ""),
            "files_dropped": bool(form and form.is_bound and request.FILES),
            "can_solve": ticket.status not in ("solved", "closed"),
            "can_reopen": ticket.status in ("solved", "pending"),
            "is_closed": ticket.status == "closed",
            "promise": promise_for_ticket(ticket),
        }, status=status)


def _notice(request, text: str) -> None:
    request.session["portal_notice"] = text


@private_page
@require_GET
@_granted
def conversation(request, resolved: ResolvedLink):
    return _conversation_page(request, resolved)


@private_page
@require_POST
@_granted
def conversation_reply(request, resolved: ResolvedLink):
    form = ReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _conversation_page(request, resolved, form=form)
    try:
        message = ticket_receive_customer_message(
            ticket=resolved.ticket, customer=resolved.link.customer, body=form.cleaned_data["body"],
            attachments=new_attachments(form.cleaned_data["attachments"]), channel="web",
        )
    except DomainError as exc:
        form.add_error(None, exc.detail)
        return _conversation_page(request, resolved, form=form)
    link_mark_used(link=resolved.link)
    if message.ticket_id != resolved.ticket.pk:
        # The ticket was closed: the reply opened a follow-up of the same customer. This
        # browser proved it holds the old ticket's link, so it may follow its own message.
        follow_up = message.ticket
        token = link_issue(ticket=follow_up)
        access.grant(request, link_resolve(token=token))
        _notice(request, f"Your earlier conversation was closed, so we opened this new one, "
                         f"{follow_up.reference}, with your message.")
        return redirect(_conversation_url(follow_up))
    _notice(request, "Thank you, your reply was sent.")
    return redirect(_conversation_url(resolved.ticket))


def _decision_view(service, *, done: str, anchor: str = ""):
    """A button of the conversation page (POST): runs ``service(ticket=, customer=)`` for the
    link's customer, then back to the conversation with ``done`` or the refusal as notice."""

    def view(request, resolved: ResolvedLink):
        try:
            service(ticket=resolved.ticket, customer=resolved.link.customer)
            _notice(request, done)
        except DomainError as exc:
            _notice(request, exc.detail)
        return redirect(_conversation_url(resolved.ticket) + anchor)

    return private_page(require_POST(_granted(view)))


# "This solved my problem" / "I still need help"
conversation_solve = _decision_view(
    ticket_solve_by_customer,
    done="Thank you for letting us know. We have marked this conversation as solved.",
)
conversation_reopen = _decision_view(
    ticket_reopen_by_customer,
    done="We have reopened this conversation. Tell us below what is still not working.", anchor="#reply",
)


@private_page
@require_GET
@_granted
def conversation_attachment(request, resolved: ResolvedLink, public_id: str):
    attachment = public_attachment(ticket=resolved.ticket, public_id=public_id)
    if attachment is None:
        return HttpResponse("No such file.", status=404, content_type="text/plain")
    return download_response(attachment)


@private_page
@require_http_methods(["GET", "POST"])
def link_request(request):
    """"Email me a fresh link": the same neutral answer whether or not anything was sent."""
    if request.method == "GET":
        return _invalid(request)
    form = LinkRequestForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form)
    data = form.cleaned_data
    try:
        throttle.hit("link", ip=throttle.client_ip(request), email=data["email"], reference=data["reference"])
    except throttle.Throttled as exc:
        return render(request, "portal/link_requested.html", {"throttled_minutes": exc.minutes}, status=429)
    link_request_fresh(email=data["email"], reference=data["reference"])
    return redirect("portal-link-requested")


@private_page
@require_GET
def link_requested(request):
    return render(request, "portal/link_requested.html", {})
