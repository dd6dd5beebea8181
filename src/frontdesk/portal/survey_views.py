"""Satisfaction on the customer side (frontdesk.csat): the Good / Bad links of the survey
email, and the rating prompt of the conversation page. Thin: parse → csat service → render.

Opening a link (GET) never records anything: mail scanners fetch every link of a message
(Safe Links, Proofpoint…), and a GET that rated would record "Good" and "Bad" before the
customer read the email. The link opens a page with the answer preselected, a comment box and
one button; the POST records it. Tampered, expired, revoked or unknown links get one neutral
page and change nothing.
"""

from __future__ import annotations

from django import forms
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from frontdesk.core.errors import DomainError
from frontdesk.csat.models import MAX_COMMENT_CHARS, RatedVia, Score
from frontdesk.csat.selectors import rating_for_ticket
from frontdesk.csat.services import RATABLE, rating_record, survey_link_resolve

from . import throttle
from .services import ResolvedLink
from .views import _conversation_url, _granted, _notice, private_page

NOTICE_KEY = "csat_notice"
THANKS = "Thank you! Your rating was saved. You can add a comment or change it below."


class CommentForm(forms.Form):
    comment = forms.CharField(
        label="Anything you would like to tell us? (optional)", required=False, max_length=MAX_COMMENT_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}), strip=True,
    )


class RatingForm(CommentForm):
    rating = forms.ChoiceField(choices=Score.choices)


def _throttled(request, reference: str) -> int | None:
    """Minutes to wait when this browser or ticket posted ratings too often, else None."""
    try:
        throttle.hit("rating", ip=throttle.client_ip(request), reference=reference)
    except throttle.Throttled as exc:
        return exc.minutes
    return None


@private_page
@require_http_methods(["GET", "POST"])
def survey_link(request, token: str):
    resolved = survey_link_resolve(token=token)
    if resolved is None:
        return render(request, "portal/survey_invalid.html", {}, status=404)
    ticket, score = resolved.ticket, resolved.score
    rating = rating_for_ticket(ticket=ticket)
    status = 200
    form = CommentForm(initial={"comment": rating.comment if rating else ""})
    notice = request.session.pop(NOTICE_KEY, "")
    if request.method == "POST":
        form = CommentForm(request.POST)
        if (minutes := _throttled(request, ticket.reference)) is not None:
            notice, status = f"Too many changes in a short time. Please try again in {minutes} minutes.", 429
        elif form.is_valid():
            try:
                rating_record(ticket=ticket, customer=resolved.survey.customer, score=score,
                              comment=form.cleaned_data["comment"], via=RatedVia.EMAIL)
            except DomainError as exc:
                form.add_error(None, exc.detail)
            else:
                request.session[NOTICE_KEY] = THANKS
                return redirect(request.path)  # Post/Redirect/Get: a reload never posts again
    return render(request, "portal/survey.html", {
        "ticket": ticket, "score": score, "score_label": Score(score).label, "rating": rating, "form": form,
        "notice": notice, "ratable": ticket.status in RATABLE,
    }, status=status)


@private_page
@require_POST
@_granted
def conversation_rate(request, resolved: ResolvedLink):
    """The conversation page's "How did we do? Good / Bad" (the page's session already holds
    the requester's link)."""
    ticket = resolved.ticket
    form = RatingForm(request.POST)
    if (minutes := _throttled(request, ticket.reference)) is not None:
        _notice(request, f"Too many changes in a short time. Please try again in {minutes} minutes.")
    elif not form.is_valid():
        _notice(request, "Please choose Good or Bad (a comment is limited to "
                         f"{MAX_COMMENT_CHARS} characters).")
    else:
        try:
            rating_record(ticket=ticket, customer=resolved.link.customer, score=form.cleaned_data["rating"],
                          comment=form.cleaned_data["comment"], via=RatedVia.CONVERSATION)
            _notice(request, "Thank you for your rating!")
        except DomainError as exc:
            _notice(request, exc.detail)
    return redirect(_conversation_url(ticket) + "#rating")


def conversation_rate_url(ticket) -> str:
    return reverse("portal-conversation-rate", args=[ticket.reference])
