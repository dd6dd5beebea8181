"""The app's settings: ladder policies (global default + inbox/plan overrides), the
solved→closed period and post-solve check-ins. Admins change them (pages and API)."""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from frontdesk.accounts.models import Agent
from frontdesk.accounts.permissions import check_admin
from frontdesk.core.errors import Conflict, InvalidInput, NotFound
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.services import normalize_tags

from .models import FollowupSettings, LadderPolicy, LadderScope

MAX_LADDER_DAYS = 365
MAX_TEXT = 5000


def followup_settings() -> FollowupSettings:
    """The settings row (created with defaults on first use)."""
    row, _ = FollowupSettings.objects.get_or_create(pk=1)
    return row


def close_solved_after_hours() -> int:
    """The solved→closed period in force: the settings row, else the environment."""
    hours = FollowupSettings.objects.filter(pk=1).values_list("close_solved_after_hours", flat=True).first()
    return settings.FRONTDESK_CLOSE_SOLVED_AFTER_HOURS if hours is None else hours


def _clean_text(value: str, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"{field} cannot be empty.", code="invalid_text")
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{field} is limited to {MAX_TEXT} characters.", code="invalid_text")
    try:  # the placeholders must be ours, or sending would fail days later
        value.format_map({"name": "", "subject": "", "reference": ""})
    except (KeyError, ValueError, IndexError) as exc:
        raise InvalidInput(
            f"{field} may use only {{name}}, {{subject}} and {{reference}} (write {{{{ }}}} for braces).",
            code="invalid_text",
        ) from exc
    return value


@transaction.atomic
def followup_settings_update(
    *, agent: Agent, close_solved_after_hours: int | None | object = ..., check_in_enabled: bool | None = None,
    check_in_days: int | None = None, check_in_plans: Iterable[str] | None = None,
    check_in_tags: Iterable[str] | None = None, check_in_text: str | None = None,
) -> FollowupSettings:
    """Change the settings row; omitted arguments keep their value, ``close_solved_after_hours=None``
    returns to the environment's default."""
    check_admin(agent)
    row = FollowupSettings.objects.select_for_update().filter(pk=1).first() or followup_settings()
    if close_solved_after_hours is not ...:
        if close_solved_after_hours is not None and not 1 <= int(close_solved_after_hours) <= 24 * 365:
            raise InvalidInput("The solved→closed period is 1 hour to 365 days.", code="invalid_period")
        row.close_solved_after_hours = close_solved_after_hours
    if check_in_enabled is not None:
        row.check_in_enabled = check_in_enabled
    if check_in_days is not None:
        if not 1 <= check_in_days <= MAX_LADDER_DAYS:
            raise InvalidInput("Check-ins are sent 1 to 365 days after the solve.", code="invalid_period")
        row.check_in_days = check_in_days
    if check_in_plans is not None:
        row.check_in_plans = sorted({p.strip() for p in check_in_plans if p and p.strip()})
    if check_in_tags is not None:
        row.check_in_tags = normalize_tags(check_in_tags)
    if check_in_text is not None:
        row.check_in_text = _clean_text(check_in_text, "The check-in text")
    row.updated_at = timezone.now()
    row.save()
    return row


# ---- ladder policies ----

def default_policy() -> LadderPolicy:
    policy = LadderPolicy.objects.filter(scope=LadderScope.GLOBAL).first()
    if policy is None:
        try:
            with transaction.atomic():
                policy = LadderPolicy.objects.create(scope=LadderScope.GLOBAL)
        except IntegrityError:  # created meanwhile by someone else
            policy = LadderPolicy.objects.get(scope=LadderScope.GLOBAL)
    return policy


def ticket_plan(ticket: Ticket) -> str:
    """The plan a ticket is served under: its requester's, else its organization's."""
    requester_plan = ticket.requester.plan if ticket.requester_id else ""
    if requester_plan:
        return requester_plan
    return ticket.organization.plan if ticket.organization_id else ""


def ticket_inbox_id(ticket: Ticket) -> int | None:
    """The inbox the conversation runs through (where the customer last wrote, else the
    default inbox), found through the app registry: this app does not import ``mail``."""
    if not apps.is_installed("frontdesk.mail"):
        return None
    inbound = apps.get_model("mail", "InboundMessage")
    inbox_id = (
        inbound.objects.filter(ticket=ticket, inbox__isnull=False)
        .order_by("-received_at", "-id").values_list("inbox_id", flat=True).first()
    )
    if inbox_id is None:
        inbox_id = apps.get_model("mail", "Inbox").objects.filter(is_default=True).values_list("pk", flat=True).first()
    return inbox_id


def policy_for(ticket: Ticket) -> LadderPolicy:
    """The ladder policy of ``ticket``: its inbox's override, else its plan's, else the default."""
    overrides = LadderPolicy.objects.exclude(scope=LadderScope.GLOBAL)
    if overrides.exists():
        inbox_id = ticket_inbox_id(ticket)
        if inbox_id is not None and (found := overrides.filter(scope=LadderScope.INBOX, inbox_id=inbox_id).first()):
            return found
        plan = ticket_plan(ticket)
        if plan and (found := overrides.filter(scope=LadderScope.PLAN, plan=plan).first()):
            return found
    return default_policy()


def _check_days(first: int, second: int, solve: int) -> None:
    for value in (first, second, solve):
        if not 0 <= value <= MAX_LADDER_DAYS:
            raise InvalidInput(f"Days are 0 (skip the step) to {MAX_LADDER_DAYS}.", code="invalid_ladder")
    chosen = [d for d in (first, second, solve) if d]
    if chosen != sorted(set(chosen)):
        raise InvalidInput(
            "Each step must come after the one before: first reminder < second reminder < solve.",
            code="invalid_ladder",
        )


@transaction.atomic
def ladder_policy_save(
    *, agent: Agent, policy: LadderPolicy | None = None, scope: str = LadderScope.GLOBAL,
    inbox_id: int | None = None, plan: str = "", enabled: bool = True, first_reminder_days: int = 2,
    second_reminder_days: int = 4, solve_after_days: int = 7, calendar_id: int | None = None,
    reminder_text: str | None = None, solve_text: str | None = None,
) -> LadderPolicy:
    """Create (``policy`` None) or change a ladder policy. The default's scope cannot change."""
    check_admin(agent)
    if policy is None:
        if scope == LadderScope.GLOBAL:
            policy = default_policy()
        else:
            policy = LadderPolicy(scope=scope)
    if scope not in LadderScope.values:
        raise InvalidInput(f"Unknown scope {scope!r}.", code="invalid_ladder")
    if policy.pk and policy.scope != scope:
        raise InvalidInput("A policy's scope cannot change; add a new one.", code="invalid_ladder")
    plan = (plan or "").strip()
    if scope == LadderScope.INBOX:
        if not inbox_id:
            raise InvalidInput("Choose the inbox this ladder is for.", code="invalid_ladder")
        plan = ""
    elif scope == LadderScope.PLAN:
        if not plan:
            raise InvalidInput("Name the plan this ladder is for.", code="invalid_ladder")
        inbox_id = None
    else:
        inbox_id, plan = None, ""
    _check_days(first_reminder_days, second_reminder_days, solve_after_days)
    if calendar_id is not None:
        calendar_model = apps.get_model("calendars", "BusinessCalendar")
        if not calendar_model.objects.filter(pk=calendar_id).exists():
            raise InvalidInput("No such business calendar.", code="invalid_ladder")
    policy.inbox_id, policy.plan, policy.enabled = inbox_id, plan, enabled
    policy.first_reminder_days = first_reminder_days
    policy.second_reminder_days = second_reminder_days
    policy.solve_after_days = solve_after_days
    policy.calendar_id = calendar_id
    if reminder_text is not None:
        policy.reminder_text = _clean_text(reminder_text, "The reminder text")
    if solve_text is not None:
        policy.solve_text = _clean_text(solve_text, "The closing note")
    policy.updated_at = timezone.now()
    try:
        with transaction.atomic():
            policy.save()
    except IntegrityError as exc:
        raise Conflict("There is already a ladder for this inbox or plan.", code="ladder_exists") from exc
    return policy


@transaction.atomic
def ladder_policy_delete(*, agent: Agent, policy_id: int) -> None:
    check_admin(agent)
    policy = LadderPolicy.objects.filter(pk=policy_id).first()
    if policy is None:
        raise NotFound("No such ladder policy.")
    if policy.scope == LadderScope.GLOBAL:
        raise Conflict("The default ladder cannot be deleted; switch it off instead.", code="ladder_default")
    policy.delete()
