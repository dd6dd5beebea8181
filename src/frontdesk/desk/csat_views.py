"""Satisfaction pages of the workspace (frontdesk.csat): the CSAT report and the survey
settings. Thin: parse → selector/service → render. Signing in is enforced for /desk/ by
``desk.middleware``; the report shows the ratings of the tickets the agent can see, the
settings are for administrators."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from frontdesk.accounts.selectors import agent_list, group_list
from frontdesk.core.errors import DomainError, Forbidden
from frontdesk.csat.selectors import PERIODS, csat_report, csat_settings, report_filter
from frontdesk.csat.services import MAX_DELAY_MINUTES, csat_settings_update
from frontdesk.tickets.models import Channel

CHART_HEIGHT = 100


class ReportForm(forms.Form):
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    period = forms.ChoiceField(choices=[(p, p.capitalize()) for p in PERIODS], initial="week", required=False)
    group = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    agent = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    plan = forms.CharField(required=False, max_length=100)
    channel = forms.ChoiceField(choices=[("", "All channels"), *Channel.choices], required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = [("", "All groups"), *((g.pk, g.name) for g in group_list())]
        self.fields["agent"].choices = [("", "All agents"), *((a.pk, a.name) for a in agent_list())]


def _chart(tallies) -> list[dict]:
    """SVG bar geometry per period (attributes, not inline styles: the CSP forbids those)."""
    bars = []
    for index, tally in enumerate(tallies):
        height = round(CHART_HEIGHT * (tally.score or 0) / 100)
        bars.append({"x": index * 24 + 4, "height": height, "y": CHART_HEIGHT - height, "tally": tally})
    return bars


def csat_report_page(request):
    form = ReportForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    try:
        report = csat_report(agent=request.user, report=report_filter(
            since=data.get("since"), until=data.get("until"), period=data.get("period") or "week",
            group_id=data.get("group"), agent_id=data.get("agent"), plan=data.get("plan"),
            channel=data.get("channel"),
        ))
    except Forbidden as exc:
        raise PermissionDenied(exc.detail) from exc
    except DomainError as exc:
        form.add_error(None, exc.detail)
        report = csat_report(agent=request.user, report=report_filter())
    return render(request, "desk/csat/report.html", {
        "desk_section": "csat", "form": form, "report": report, "bars": _chart(report.by_period),
        "chart_width": max(len(report.by_period), 1) * 24 + 8, "chart_height": CHART_HEIGHT,
        "breakdowns": [("Group", report.by_group), ("Agent", report.by_agent), ("Plan", report.by_plan),
                       ("Channel", report.by_channel)],
        "can_configure": request.user.is_admin,
    })


class SettingsForm(forms.Form):
    enabled = forms.BooleanField(label="Send satisfaction surveys", required=False)
    delay_minutes = forms.IntegerField(
        label="Minutes after the solve", min_value=0, max_value=MAX_DELAY_MINUTES,
        help_text="Time for an agent to reopen a ticket solved by mistake before the survey goes out.",
    )
    after_automatic_solve = forms.BooleanField(
        label="Also after an automatic solve", required=False,
        help_text="For example a ticket solved because the customer did not answer the reminders.",
    )
    excluded_channels = forms.MultipleChoiceField(
        label="No survey email for these channels", choices=Channel.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
    )


@require_http_methods(["GET", "POST"])
def csat_settings_page(request):
    if not request.user.is_admin:
        raise PermissionDenied("Only an administrator can change the survey settings.")
    row = csat_settings()
    if request.method == "POST":
        form = SettingsForm(request.POST)
        if form.is_valid():
            try:
                csat_settings_update(agent=request.user, **form.cleaned_data)
            except DomainError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(request, "Survey settings saved.")
                return redirect("desk:csat_settings")
    else:
        form = SettingsForm(initial={
            "enabled": row.enabled, "delay_minutes": row.delay_minutes,
            "after_automatic_solve": row.after_automatic_solve, "excluded_channels": row.excluded_channels,
        })
    return render(request, "desk/csat/settings.html", {"desk_section": "csat", "form": form},
                  status=400 if form.is_bound else 200)
