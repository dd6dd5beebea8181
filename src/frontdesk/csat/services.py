"""Every write of the satisfaction app: settings, scheduling and sending surveys, survey links,
recording ratings.

The rules, in one place:

- A survey is due after a ticket is solved by an agent or confirmed by its customer (a
  ``status`` event to ``solved`` with a person as actor); after an automatic solve only when
  the settings say so. It goes out ``delay_minutes`` after the (latest) solve, so an agent who
  solved by mistake can reopen first.
- One survey per ticket, hence at most one survey email per ticket, ever: a ticket reopened
  and solved again before the email went out moves the due time; after it went out, nothing
  more is sent (the emailed links and the conversation page still let the customer rate, and
  change the rating). A ticket already rated gets no email.
- One rating per ticket, changeable. Each rating or change is a ``satisfaction`` timeline
  event (``after = {"rating", "comment"}``); giving the same rating again with the same
  comment changes nothing and records nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from frontdesk.accounts.models import Agent
from frontdesk.accounts.permissions import check_admin
from frontdesk.core.errors import Conflict, Forbidden, InvalidInput
from frontdesk.customers.models import Customer
from frontdesk.tickets.models import Channel, EventKind, Status, Ticket, TicketEvent
from frontdesk.tickets.timeline import record_event

from .models import MAX_COMMENT_CHARS, CsatSettings, RatedVia, Rating, Score, Survey
from .selectors import csat_settings

TOKEN_SALT = "frontdesk.csat.survey-link"
MAX_TOKEN_CHARS = 300
MAX_DELAY_MINUTES = 60 * 24 * 30
RATABLE = (Status.SOLVED, Status.CLOSED)


# --- settings ---------------------------------------------------------------------------------

@transaction.atomic
def csat_settings_update(
    *, agent: Agent, enabled: bool | None = None, delay_minutes: int | None = None,
    after_automatic_solve: bool | None = None, excluded_channels: list[str] | None = None,
) -> CsatSettings:
    """Change the survey settings (administrators only); ``None`` leaves a field as it is."""
    check_admin(agent)
    row = csat_settings()
    row = CsatSettings.objects.select_for_update().get(pk=row.pk)
    if delay_minutes is not None:
        if not 0 <= delay_minutes <= MAX_DELAY_MINUTES:
            raise InvalidInput(f"The delay must be between 0 and {MAX_DELAY_MINUTES} minutes.")
        row.delay_minutes = delay_minutes
    if excluded_channels is not None:
        unknown = sorted(set(excluded_channels) - set(Channel.values))
        if unknown:
            raise InvalidInput(f"Unknown channels: {', '.join(unknown)}.")
        row.excluded_channels = sorted(set(excluded_channels))
    if enabled is not None:
        row.enabled = enabled
    if after_automatic_solve is not None:
        row.after_automatic_solve = after_automatic_solve
    row.updated_at = timezone.now()
    row.save()
    return row


# --- surveys ----------------------------------------------------------------------------------

def _is_automatic(event: TicketEvent) -> bool:
    return not (event.actor_agent_id or event.actor_customer_id)


@transaction.atomic
def survey_schedule(*, event_id: int) -> Survey | None:
    """React to a ``status`` event: when it solved the ticket and a survey is wanted, make the
    ticket's survey due ``delay_minutes`` after the solve. Safe to run twice (same due time)."""
    event = TicketEvent.objects.filter(pk=event_id, kind=EventKind.STATUS).first()
    if event is None or event.after != Status.SOLVED:
        return None
    conf = csat_settings()
    if not conf.enabled or (_is_automatic(event) and not conf.after_automatic_solve):
        return None
    ticket = Ticket.objects.select_for_update().get(pk=event.ticket_id)
    if ticket.status != Status.SOLVED or ticket.channel in conf.excluded_channels:
        return None  # reopened since (a later solve schedules it), or a channel without surveys
    agent_id = ticket.assignee_id or event.actor_agent_id
    survey, created = Survey.objects.get_or_create(
        ticket=ticket,
        defaults={"customer_id": ticket.requester_id, "agent_id": agent_id, "solved_at": event.created_at},
    )
    if survey.sent_at is not None or Rating.objects.filter(ticket=ticket).exists():
        return survey  # one survey email per ticket; a rated ticket needs none
    survey.agent_id = agent_id
    survey.customer_id = ticket.requester_id
    survey.solved_at = max(survey.solved_at, event.created_at)
    survey.send_at = survey.solved_at + timedelta(minutes=conf.delay_minutes)
    survey.save(update_fields=["agent", "customer", "solved_at", "send_at"])
    return survey


@transaction.atomic
def survey_send_if_due(*, survey_id: int) -> str:
    """Hand a due survey to mail (claimed from ``Survey.send_at`` by the clock): record the
    ticket's ``survey`` event, which mail answers with the email. Under the survey's and the
    ticket's row locks it re-checks that the ticket is still solved (or closed), unrated, and
    that no survey was sent for it; ``sent_at`` is set by a conditional update, so two runs
    (or two clocks) send once."""
    survey = Survey.objects.select_for_update().filter(pk=survey_id).first()
    if survey is None:
        return "skipped: no such survey"
    if survey.sent_at is not None:
        return "skipped: already sent"
    ticket = Ticket.objects.select_for_update().get(pk=survey.ticket_id)
    if ticket.status not in RATABLE or ticket.merged_into_id:
        return "skipped: not solved"  # a later solve makes it due again
    if Rating.objects.filter(ticket=ticket).exists():
        return "skipped: already rated"
    conf = csat_settings()
    if not conf.enabled:
        return "skipped: surveys are off"
    now = timezone.now()
    due = survey.solved_at + timedelta(minutes=conf.delay_minutes)
    if due > now:
        # Claimed early (solved again, or the delay was lengthened): wait for the new time.
        Survey.objects.filter(pk=survey.pk).update(send_at=due)
        return "skipped: not yet due"
    if not Survey.objects.filter(pk=survey.pk, sent_at__isnull=True).update(sent_at=now, send_at=None):
        return "skipped: already sent"
    record_event(ticket=ticket, kind=EventKind.SURVEY, actor="scheduler", after={"survey": survey.pk})
    return "sent"


def _hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


@dataclass(frozen=True)
class SurveyTokens:
    good: str
    bad: str


def survey_issue_links(*, survey: Survey) -> SurveyTokens | None:
    """The signed Good and Bad tokens of ``survey``'s email, issued once: a second call (mail
    retried) gets None, so the email is built once. The caller holds the transaction that
    queues the email, so both commit or neither does. Tokens are returned, never stored."""
    nonce = secrets.token_urlsafe(24)
    issued = Survey.objects.filter(pk=survey.pk, links_issued_at__isnull=True).update(
        nonce_hash=_hash(nonce), links_issued_at=timezone.now()
    )
    if not issued:
        return None
    return SurveyTokens(*(signing.dumps({"s": survey.pk, "r": score, "n": nonce}, salt=TOKEN_SALT)
                          for score in (Score.GOOD, Score.BAD)))


@dataclass(frozen=True)
class ResolvedSurveyLink:
    survey: Survey
    ticket: Ticket
    score: str


def survey_link_resolve(*, token: str) -> ResolvedSurveyLink | None:
    """What a Good/Bad link says, or None for any failure (malformed, tampered, expired,
    revoked, unknown, the ticket no longer the customer's): callers show one neutral page."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=timedelta(days=settings.FRONTDESK_CSAT_LINK_DAYS))
        survey_id, score, nonce = int(data["s"]), str(data["r"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    if score not in Score.values:
        return None
    survey = Survey.objects.select_related("ticket", "customer").filter(pk=survey_id).first()
    if survey is None or survey.revoked_at is not None or not survey.nonce_hash:
        return None
    if not hmac.compare_digest(survey.nonce_hash, _hash(nonce)):
        return None
    if survey.ticket.requester_id != survey.customer_id:
        return None
    return ResolvedSurveyLink(survey=survey, ticket=survey.ticket, score=score)


def survey_revoke(*, survey: Survey) -> None:
    """Every link mailed for ``survey`` stops working (the customer can still rate on the
    conversation page)."""
    Survey.objects.filter(pk=survey.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


# --- ratings ----------------------------------------------------------------------------------

def clean_comment(comment: str) -> str:
    """Plain text: control characters (except newlines and tabs) dropped, trimmed, bounded."""
    kept = "".join(ch for ch in comment.replace("\r\n", "\n") if ch.isprintable() or ch in "\n\t")
    kept = kept.strip()
    if len(kept) > MAX_COMMENT_CHARS:
        raise InvalidInput(f"A comment is limited to {MAX_COMMENT_CHARS} characters.", code="comment_too_long")
    return kept


def _plan(customer: Customer) -> str:
    if customer.plan:
        return customer.plan
    return customer.organization.plan if customer.organization_id else ""


@transaction.atomic
def rating_record(
    *, ticket: Ticket, customer: Customer, score: str, comment: str | None = None, via: str = RatedVia.CONVERSATION,
) -> Rating:
    """The requester rates ``ticket`` (solved or closed) Good or Bad, with an optional comment
    (``None`` keeps the comment given before). One rating per ticket: a later call changes it
    and records another ``satisfaction`` event; the same score and comment again changes
    nothing. The snapshot (assignee at the solve, group, plan, channel) is taken anew with
    each change."""
    if score not in Score.values:
        raise InvalidInput("A rating is good or bad.", code="invalid_rating")
    cleaned = None if comment is None else clean_comment(comment)
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("requester__organization").get(pk=ticket.pk)
    if customer.pk != ticket.requester_id:
        raise Forbidden("Only the requester can rate this ticket.", code="not_a_participant")
    if ticket.status not in RATABLE:
        raise Conflict("This conversation is open again: you can rate it once it is solved.", code="not_solved")
    rating = Rating.objects.select_for_update().filter(ticket=ticket).first()
    before = {"rating": rating.score, "comment": rating.comment} if rating else None
    new_comment = cleaned if cleaned is not None else (rating.comment if rating else "")
    if rating and rating.score == score and rating.comment == new_comment:
        return rating
    now = timezone.now()
    survey = Survey.objects.filter(ticket=ticket).only("agent_id").first()
    snapshot = {
        "agent_id": (survey.agent_id if survey else None) or ticket.assignee_id,
        "group_id": ticket.group_id,
        "plan": _plan(ticket.requester),
        "channel": ticket.channel,
        "customer_id": customer.pk,
        "via": via,
    }
    if rating is None:
        rating = Rating.objects.create(ticket=ticket, score=score, comment=new_comment, created_at=now,
                                       rated_at=now, updated_at=now, **snapshot)
    else:
        if rating.score != score:
            rating.rated_at = now
        rating.score, rating.comment, rating.updated_at = score, new_comment, now
        for name, value in snapshot.items():
            setattr(rating, name, value)
        rating.save()
    record_event(ticket=ticket, kind=EventKind.SATISFACTION, actor=customer, before=before,
                 after={"rating": score, "comment": new_comment})
    return rating
