"""Satisfaction over the API: the report, ratings (read-only: only customers rate), settings."""

from __future__ import annotations

from datetime import date, datetime

from django.http import Http404
from ninja import Query, Router, Schema

from frontdesk.accounts.permissions import check_admin
from frontdesk.core.errors import NotFound
from frontdesk.core.schemas import StrictIn
from frontdesk.tickets.selectors import ticket_get_for_agent

from . import selectors, services
from .models import CsatSettings, Rating

router = Router(tags=["satisfaction"])


class TallyOut(Schema):
    key: str | int | None
    label: str
    good: int
    bad: int
    total: int
    score: float | None


class RatingOut(Schema):
    ticket: str
    rating: str
    comment: str
    customer_id: int
    agent_id: int | None
    group_id: int | None
    plan: str
    channel: str
    via: str
    rated_at: datetime
    updated_at: datetime


class ReportOut(Schema):
    since: date
    until: date
    period: str
    overall: TallyOut
    by_period: list[TallyOut]
    by_group: list[TallyOut]
    by_agent: list[TallyOut]
    by_plan: list[TallyOut]
    by_channel: list[TallyOut]
    comments: list[RatingOut]


class ReportQuery(Schema):
    group: int | None = None
    agent: int | None = None
    plan: str | None = None
    channel: str | None = None
    since: date | None = None
    until: date | None = None
    period: str = "week"


class SettingsOut(Schema):
    enabled: bool
    delay_minutes: int
    after_automatic_solve: bool
    excluded_channels: list[str]


class SettingsPatch(StrictIn):
    enabled: bool | None = None
    delay_minutes: int | None = None
    after_automatic_solve: bool | None = None
    excluded_channels: list[str] | None = None


def rating_out(rating: Rating) -> dict:
    return {
        "ticket": rating.ticket.reference, "rating": rating.score, "comment": rating.comment,
        "customer_id": rating.customer_id, "agent_id": rating.agent_id, "group_id": rating.group_id,
        "plan": rating.plan, "channel": rating.channel, "via": rating.via, "rated_at": rating.rated_at,
        "updated_at": rating.updated_at,
    }


def settings_out(row: CsatSettings) -> dict:
    return {"enabled": row.enabled, "delay_minutes": row.delay_minutes,
            "after_automatic_solve": row.after_automatic_solve, "excluded_channels": row.excluded_channels}


@router.get("/csat/report", response=ReportOut)
def csat_report(request, query: Query[ReportQuery]):
    """CSAT (good / (good + bad)) over the ratings of the tickets you can see, rated between
    ``since`` and ``until`` (whole days, default the last 30), by period, group, agent, plan,
    channel, with the latest comments."""
    report = selectors.csat_report(agent=request.auth, report=selectors.report_filter(
        since=query.since, until=query.until, period=query.period, group_id=query.group, agent_id=query.agent,
        plan=query.plan, channel=query.channel,
    ))
    return {
        "since": report.filter.first_day,
        "until": report.filter.last_day,
        "period": report.filter.period,
        "overall": report.overall.as_dict(),
        **{name: [t.as_dict() for t in getattr(report, name)]
           for name in ("by_period", "by_group", "by_agent", "by_plan", "by_channel")},
        "comments": [rating_out(r) for r in report.comments],
    }


@router.get("/csat/ratings/{reference}", response=RatingOut)
def ticket_rating(request, reference: str):
    """The rating of one ticket you can see (404 when hidden, missing, or not rated)."""
    try:
        ticket = ticket_get_for_agent(agent=request.auth, reference=reference)
    except NotFound as exc:
        raise Http404 from exc
    rating = selectors.rating_for_ticket(ticket=ticket)
    if rating is None:
        raise NotFound("This ticket has no rating.")
    return rating_out(rating)


@router.get("/csat/settings", response=SettingsOut)
def get_settings(request):
    check_admin(request.auth)
    return settings_out(selectors.csat_settings())


@router.patch("/csat/settings", response=SettingsOut)
def patch_settings(request, payload: SettingsPatch):
    return settings_out(services.csat_settings_update(agent=request.auth, **payload.model_dump(exclude_unset=True)))
