"""Reads of the satisfaction app, shared by the pages and the API.

Who sees ratings: every active agent sees the ratings of the tickets they can see
(``tickets_visible_to``: an administrator all of them); reports are built from that same set,
so an agent's numbers and comments never reveal a ticket hidden from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import connections
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr, TruncDate
from django.utils import timezone

from frontdesk.accounts.models import Agent, Group
from frontdesk.core.errors import Forbidden, InvalidInput
from frontdesk.tickets.models import Channel, Ticket
from frontdesk.tickets.selectors import tickets_visible_to

from .models import CsatSettings, Rating, Score

PERIODS = ("day", "week", "month")
DEFAULT_REPORT_DAYS = 30
MAX_COMMENTS = 100


def csat_settings() -> CsatSettings:
    """The settings row, created with the defaults on first use."""
    row, _ = CsatSettings.objects.get_or_create(pk=1)
    return row


def rating_for_ticket(*, ticket: Ticket) -> Rating | None:
    """The ticket's rating. The caller has already checked the reader may see the ticket."""
    return Rating.objects.filter(ticket=ticket).first()


def ratings_visible_to(*, agent: Agent) -> QuerySet[Rating]:
    if not agent.is_active:
        raise Forbidden("This agent account is deactivated.")
    if agent.is_admin:
        return Rating.objects.all()
    return Rating.objects.filter(ticket__in=tickets_visible_to(agent=agent).values("pk"))


def ratings_of_customer(*, agent: Agent, customer_id: int, limit: int = 10) -> list[Rating]:
    """A customer's latest ratings, of tickets ``agent`` may see: score, comment, rating time
    and the ticket's reference (what the workspace lists on every ticket page; other fields
    load when read)."""
    return list(
        ratings_visible_to(agent=agent).filter(customer_id=customer_id)
        .select_related("ticket").only("score", "comment", "rated_at", "ticket__reference")
        .order_by("-rated_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class ReportFilter:
    first_day: date
    last_day: date
    since: datetime  # first_day's start
    until: datetime  # the end of last_day (exclusive)
    period: str = "week"
    group_id: int | None = None
    agent_id: int | None = None
    plan: str | None = None
    channel: str | None = None


def report_filter(
    *, since: date | None = None, until: date | None = None, period: str = "week",
    group_id: int | None = None, agent_id: int | None = None, plan: str | None = None, channel: str | None = None,
) -> ReportFilter:
    """Dates are whole days (``until`` included) in the server's time zone; default: the
    last 30 days."""
    if period not in PERIODS:
        raise InvalidInput(f"period must be one of {', '.join(PERIODS)}.", code="invalid_period")
    today = timezone.localdate()
    until = until or today
    since = since or until - timedelta(days=DEFAULT_REPORT_DAYS - 1)
    if since > until:
        raise InvalidInput("since must not be after until.", code="invalid_range")
    zone = timezone.get_current_timezone()
    return ReportFilter(
        first_day=since, last_day=until,
        since=datetime.combine(since, time.min, tzinfo=zone),
        until=datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone),
        period=period, group_id=group_id, agent_id=agent_id, plan=plan or None, channel=channel or None,
    )


@dataclass
class Tally:
    key: str | int | None
    label: str
    good: int = 0
    bad: int = 0

    @property
    def total(self) -> int:
        return self.good + self.bad

    @property
    def score(self) -> float | None:
        """CSAT: good / (good + bad), as a percentage with one decimal; None without ratings."""
        return round(100 * self.good / self.total, 1) if self.total else None

    def as_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "good": self.good, "bad": self.bad,
                "total": self.total, "score": self.score}


@dataclass
class Report:
    filter: ReportFilter
    overall: Tally
    by_period: list[Tally] = field(default_factory=list)
    by_group: list[Tally] = field(default_factory=list)
    by_agent: list[Tally] = field(default_factory=list)
    by_plan: list[Tally] = field(default_factory=list)
    by_channel: list[Tally] = field(default_factory=list)
    comments: list[Rating] = field(default_factory=list)


_COUNTS = {"good": Count("id", filter=Q(score=Score.GOOD)), "bad": Count("id", filter=Q(score=Score.BAD))}


def _period_start(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())  # weeks start on Monday (ISO 8601)
    if period == "month":
        return day.replace(day=1)
    return day


def _add(tallies: dict, key, good: int, bad: int) -> None:
    tally = tallies.setdefault(key, Tally(key=key, label=""))
    tally.good += good
    tally.bad += bad


def _labelled(tally: Tally) -> Tally:
    tally.label = str(tally.key)
    return tally


def _ranked(tallies: dict, labels: dict) -> list[Tally]:
    for key, tally in tallies.items():
        tally.label = labels.get(key) or (str(key) if key else "—")
    return sorted(tallies.values(), key=lambda t: (-t.total, t.label))


def _channel_label(value: str) -> str:
    try:
        return str(Channel(value).label)
    except ValueError:
        return value


def _day_counts(ratings: QuerySet[Rating]) -> list[tuple[date, int, int]]:
    """(local day, good, bad) of ``ratings``. PostgreSQL truncates in the database. Django's
    SQLite date functions run in Python once per row (1.2 s for 50,000 ratings), so there the
    stored UTC text is cut to the hour natively and the hours are turned into local days here
    (exact for zones with whole-hour offsets; in a :30/:45 zone a rating within that part of
    an hour from midnight may count on the neighbouring day)."""
    zone = timezone.get_current_timezone()
    if connections[ratings.db].vendor != "sqlite":
        rows = ratings.annotate(day=TruncDate("rated_at", tzinfo=zone)).values("day").annotate(**_COUNTS)
        return [(row["day"], row["good"], row["bad"]) for row in rows.order_by()]
    hours = ratings.annotate(hour=Substr("rated_at", 1, 13)).values("hour").annotate(**_COUNTS).order_by()
    return [
        (datetime.strptime(row["hour"], "%Y-%m-%d %H").replace(tzinfo=UTC).astimezone(zone).date(),
         row["good"], row["bad"])
        for row in hours
    ]


def csat_report(*, agent: Agent, report: ReportFilter) -> Report:
    """CSAT over the ratings ``agent`` may see, rated within the filter's days, broken down by
    period, group, agent, plan and channel, with the latest comments."""
    ratings = ratings_visible_to(agent=agent).filter(rated_at__gte=report.since, rated_at__lt=report.until)
    if report.group_id is not None:
        ratings = ratings.filter(group_id=report.group_id)
    if report.agent_id is not None:
        ratings = ratings.filter(agent_id=report.agent_id)
    if report.plan is not None:
        ratings = ratings.filter(plan=report.plan)
    if report.channel is not None:
        ratings = ratings.filter(channel=report.channel)
    # Two grouped passes instead of one scan per breakdown: every breakdown column at once
    # (a few dozen rows), then the days (``_day_counts``); the rest is summed here.
    rows = ratings.values("group_id", "agent_id", "plan", "channel").annotate(**_COUNTS).order_by()
    overall = Tally(key=None, label="All")
    breakdowns: dict[str, dict] = {name: {} for name in ("period", "group", "agent", "plan", "channel")}
    for row in rows:
        good, bad = row["good"], row["bad"]
        overall.good += good
        overall.bad += bad
        for name in ("group", "agent"):
            _add(breakdowns[name], row[f"{name}_id"], good, bad)
        _add(breakdowns["plan"], row["plan"], good, bad)
        _add(breakdowns["channel"], row["channel"], good, bad)
    for day, good, bad in _day_counts(ratings):
        _add(breakdowns["period"], _period_start(day, report.period).isoformat(), good, bad)
    group_names = dict(Group.objects.filter(pk__in=[k for k in breakdowns["group"] if k]).values_list("pk", "name"))
    agent_names = dict(Agent.objects.filter(pk__in=[k for k in breakdowns["agent"] if k]).values_list("pk", "name"))
    return Report(
        filter=report,
        overall=overall,
        by_period=[_labelled(breakdowns["period"][key]) for key in sorted(breakdowns["period"])],
        by_group=_ranked(breakdowns["group"], group_names),
        by_agent=_ranked(breakdowns["agent"], agent_names),
        by_plan=_ranked(breakdowns["plan"], {}),
        by_channel=_ranked(breakdowns["channel"], {key: _channel_label(key) for key in breakdowns["channel"]}),
        comments=list(
            ratings.exclude(comment="").select_related("ticket", "agent", "group", "customer")
            .order_by("-rated_at", "-id")[:MAX_COMMENTS]
        ),
    )
