"""SLA reporting: per policy, group or plan over a period, the share of first responses,
next responses and resolutions within target, promises kept and broken, and the median and
90th percentile of business minutes to first response and to resolution.

A timer counts in the period it started in. "Within target" means satisfied without a
breach; a timer breached and still running counts as missed. A promise is what the customer
was told for a response (the due time, or the later time of an honest update sent before
the due time passed): kept when the answer came by then, broken when it did not.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.html import escape

from frontdesk.accounts.models import Agent
from frontdesk.accounts.permissions import check_full_agent
from frontdesk.core.errors import InvalidInput

from .models import Metric, SlaTimer, TimerState

GROUPINGS = {"policy": "policy_name", "group": "ticket__group__name", "plan": "plan"}
METRICS = [m.value for m in Metric]


@dataclass
class MetricFigures:
    completed: int = 0
    within_target: int = 0
    share_within_target: float | None = None


@dataclass
class ReportRow:
    key: str
    first_response: MetricFigures = field(default_factory=MetricFigures)
    next_response: MetricFigures = field(default_factory=MetricFigures)
    resolution: MetricFigures = field(default_factory=MetricFigures)
    promises_kept: int = 0
    promises_broken: int = 0
    first_response_minutes_median: float | None = None
    first_response_minutes_p90: float | None = None
    resolution_minutes_median: float | None = None
    resolution_minutes_p90: float | None = None


@dataclass
class SlaReport:
    group_by: str
    start: datetime
    end: datetime
    rows: list[ReportRow]

    def as_dict(self) -> dict:
        return {"group_by": self.group_by, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "rows": [asdict(row) for row in self.rows]}


def percentile(values: list[int], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    if share == 0.5:
        middle = len(ordered) // 2
        return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return float(ordered[max(0, math.ceil(share * len(ordered)) - 1)])


def sla_report(*, agent: Agent, start: datetime, end: datetime, group_by: str = "policy",
               policy: str = "", group_id: int | None = None, plan: str = "") -> SlaReport:
    """The report for timers started in [start, end), one row per ``group_by`` value."""
    check_full_agent(agent)
    if group_by not in GROUPINGS:
        raise InvalidInput(f"group_by is one of {', '.join(GROUPINGS)}.", code="invalid_group_by")
    if end <= start:
        raise InvalidInput("The period must end after it starts.", code="invalid_period")
    timers = SlaTimer.objects.filter(started_at__gte=start, started_at__lt=end)
    if policy:
        timers = timers.filter(policy_name=policy)
    if group_id is not None:
        timers = timers.filter(ticket__group_id=group_id)
    if plan:
        timers = timers.filter(plan=plan.lower())
    now = timezone.now()
    rows: dict[str, ReportRow] = {}
    minutes: dict[tuple[str, str], list[int]] = {}
    for key, metric, state, satisfied_at, breached_at, due_at, revised, sent_at, elapsed in timers.values_list(
            GROUPINGS[group_by], "metric", "state", "satisfied_at", "breached_at", "due_at", "revised_due_at",
            "update_sent_at", "elapsed_minutes").iterator(chunk_size=2000):
        key = key or "(none)"
        row = rows.setdefault(key, ReportRow(key=key))
        figures: MetricFigures = getattr(row, metric)
        satisfied = state == TimerState.SATISFIED
        if satisfied or breached_at:
            figures.completed += 1
            figures.within_target += int(satisfied and breached_at is None)
        if satisfied and elapsed is not None and metric in (Metric.FIRST_RESPONSE, Metric.RESOLUTION):
            minutes.setdefault((key, metric), []).append(elapsed)
        if metric in (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE):
            # An honest update moves the promise only if it went out before the first one
            # was missed; one sent late (the scheduler was behind) is an apology, not a promise.
            promised = revised if revised and (breached_at is None or sent_at < breached_at) else due_at
            if satisfied and promised and satisfied_at <= promised:
                row.promises_kept += 1
            elif promised and ((satisfied and satisfied_at > promised) or (not satisfied and promised <= now
                                                                            and state != TimerState.STOPPED)):
                row.promises_broken += 1
    for key, row in rows.items():
        for metric in METRICS:
            figures = getattr(row, metric)
            if figures.completed:
                figures.share_within_target = round(figures.within_target / figures.completed, 4)
        first = minutes.get((key, Metric.FIRST_RESPONSE), [])
        resolution = minutes.get((key, Metric.RESOLUTION), [])
        row.first_response_minutes_median = percentile(first, 0.5)
        row.first_response_minutes_p90 = percentile(first, 0.9)
        row.resolution_minutes_median = percentile(resolution, 0.5)
        row.resolution_minutes_p90 = percentile(resolution, 0.9)
    return SlaReport(group_by=group_by, start=start, end=end, rows=[rows[k] for k in sorted(rows)])


CHART_COLOURS = {"first_response": "#2f6fb3", "next_response": "#6aa84f", "resolution": "#b45f06"}


def report_chart_svg(report: SlaReport) -> str:
    """A horizontal bar chart (share within target per metric and row) as SVG markup: drawn
    on the server with presentation attributes only, so the page needs no script or style."""
    bar, gap, label_width, width = 14, 22, 180, 420
    height = 40 + len(report.rows) * (3 * bar + gap) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="sla-chart" role="img" '
             f'viewBox="0 0 {label_width + width + 70} {height}" width="100%" '
             f'aria-label="Share within target per {escape(report.group_by)}">']
    for i, (metric, colour) in enumerate(CHART_COLOURS.items()):
        x = label_width + i * 140
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{x + 16}" y="16" font-size="12">{escape(Metric(metric).label)}</text>')
    y = 34
    for row in report.rows:
        parts.append(f'<text x="0" y="{y + bar * 2}" font-size="12">{escape(row.key[:28])}</text>')
        for metric, colour in CHART_COLOURS.items():
            share = getattr(row, metric).share_within_target
            length = round((share or 0) * width, 1)
            parts.append(f'<rect x="{label_width}" y="{y}" width="{width}" height="{bar - 2}" fill="#eeeeee"/>'
                         f'<rect x="{label_width}" y="{y}" width="{length}" height="{bar - 2}" fill="{colour}">'
                         f'<title>{escape(row.key)}: {escape(Metric(metric).label)} '
                         f'{"no data" if share is None else f"{share:.0%}"}</title></rect>'
                         f'<text x="{label_width + width + 6}" y="{y + bar - 4}" font-size="11">'
                         f'{"–" if share is None else f"{share:.0%}"}</text>')
            y += bar
        y += gap
    parts.append("</svg>")
    return "".join(parts)
