"""Follow-ups, snoozes, resolution counts and the app's settings over the API; the same
services as the workspace. Follow-ups on tickets the caller cannot see answer 404."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Query, Router, Schema, Status

from frontdesk.accounts.permissions import check_admin
from frontdesk.accounts.selectors import agent_get
from frontdesk.core.errors import InvalidInput, NotFound
from frontdesk.core.schemas import StrictIn
from frontdesk.tickets.selectors import ticket_get_for_agent
from frontdesk.tickets.services import MAX_BODY_CHARS

from . import config, selectors, services
from .models import FollowUp, FollowUpState, LadderPolicy

router = Router(tags=["followups"])

KindName = Literal["reminder", "scheduled_send"]


class PersonOut(Schema):
    id: int
    name: str
    email: str


class FollowUpOut(Schema):
    id: int
    ticket: str
    kind: KindName
    state: Literal["scheduled", "due", "done", "sent", "cancelled"]
    due_at: datetime
    note: str
    body: str
    cancel_if_customer_writes: bool
    owner: PersonOut | None
    created_by: PersonOut | None
    created_at: datetime
    cancel_reason: str


def _person(agent) -> dict | None:
    return {"id": agent.pk, "name": agent.name, "email": agent.email} if agent else None


def follow_up_out(item: FollowUp) -> dict:
    return {
        "id": item.pk, "ticket": item.ticket.reference, "kind": item.kind, "state": item.state,
        "due_at": item.due_at, "note": item.note, "body": item.body,
        "cancel_if_customer_writes": item.cancel_if_customer_writes, "owner": _person(item.owner),
        "created_by": _person(item.created_by), "created_at": item.created_at, "cancel_reason": item.cancel_reason,
    }


class FollowUpIn(StrictIn):
    ticket: str = Field(max_length=16)
    due_at: datetime
    note: str = Field(default="", max_length=services.MAX_NOTE)
    kind: KindName = "reminder"
    body: str = Field(default="", max_length=MAX_BODY_CHARS)
    owner_id: int | None = None
    cancel_if_customer_writes: bool | None = None


class FollowUpPatch(StrictIn):
    due_at: datetime | None = None
    note: str | None = Field(default=None, max_length=services.MAX_NOTE)
    state: Literal["done", "cancelled"] | None = None


class FollowUpQuery(Schema):
    scope: Literal["mine", "team"] = "mine"
    when: Literal["due", "upcoming", "all"] = "all"
    ticket: str | None = None
    include_closed: bool = False


@router.get("/followups/follow-ups", response=list[FollowUpOut])
def list_follow_ups(request, query: Query[FollowUpQuery]):
    ticket = ticket_get_for_agent(agent=request.auth, reference=query.ticket) if query.ticket else None
    states = tuple(FollowUpState.values) if query.include_closed else services.OPEN_FOLLOW_UP_STATES
    items = selectors.follow_up_list(agent=request.auth, scope=query.scope, when=query.when, ticket=ticket,
                                     states=states)
    return [follow_up_out(item) for item in items]


@router.post("/followups/follow-ups", response={201: FollowUpOut})
def create_follow_up(request, payload: FollowUpIn):
    ticket = ticket_get_for_agent(agent=request.auth, reference=payload.ticket)
    owner = None
    if payload.owner_id is not None:
        try:
            owner = agent_get(agent_id=payload.owner_id)
        except NotFound as exc:
            raise InvalidInput("No such agent.", code="invalid_owner") from exc
    item = services.followup_create(
        ticket=ticket, created_by=request.auth, owner=owner, due_at=payload.due_at, note=payload.note,
        kind=payload.kind, body=payload.body, cancel_if_customer_writes=payload.cancel_if_customer_writes,
    )
    return Status(201, follow_up_out(item))


@router.get("/followups/follow-ups/{follow_up_id}", response=FollowUpOut)
def get_follow_up(request, follow_up_id: int):
    return follow_up_out(selectors.follow_up_get_for_agent(agent=request.auth, follow_up_id=follow_up_id))


@router.patch("/followups/follow-ups/{follow_up_id}", response=FollowUpOut)
def change_follow_up(request, follow_up_id: int, payload: FollowUpPatch):
    item = selectors.follow_up_get_for_agent(agent=request.auth, follow_up_id=follow_up_id)
    if payload.state == "done":
        services.followup_mark_done(follow_up=item, agent=request.auth)
    elif payload.state == "cancelled":
        services.followup_cancel(follow_up=item, agent=request.auth)
    elif payload.due_at is not None:
        services.followup_reschedule(follow_up=item, agent=request.auth, due_at=payload.due_at, note=payload.note)
    else:
        raise InvalidInput("Give a new due_at, or a state (done, cancelled).")
    return follow_up_out(selectors.follow_up_get_for_agent(agent=request.auth, follow_up_id=follow_up_id))


@router.delete("/followups/follow-ups/{follow_up_id}", response=FollowUpOut)
def cancel_follow_up(request, follow_up_id: int):
    item = selectors.follow_up_get_for_agent(agent=request.auth, follow_up_id=follow_up_id)
    services.followup_cancel(follow_up=item, agent=request.auth)
    return follow_up_out(selectors.follow_up_get_for_agent(agent=request.auth, follow_up_id=follow_up_id))


# ---- snooze ----

class SnoozeIn(StrictIn):
    until: datetime
    note: str = Field(default="", max_length=200)


class SnoozeOut(Schema):
    ticket: str
    snoozed: bool
    until: datetime | None = None
    note: str = ""


@router.get("/followups/snooze/{reference}", response=SnoozeOut)
def get_snooze(request, reference: str):
    ticket = ticket_get_for_agent(agent=request.auth, reference=reference)
    snooze = selectors.snooze_of(ticket=ticket)
    return {"ticket": ticket.reference, "snoozed": snooze is not None, "until": snooze.until if snooze else None,
            "note": snooze.note if snooze else ""}


@router.put("/followups/snooze/{reference}", response=SnoozeOut)
def snooze_ticket(request, reference: str, payload: SnoozeIn):
    ticket = ticket_get_for_agent(agent=request.auth, reference=reference, write=True)
    snooze = services.ticket_snooze(ticket=ticket, agent=request.auth, until=payload.until, note=payload.note)
    return {"ticket": ticket.reference, "snoozed": True, "until": snooze.until, "note": snooze.note}


@router.delete("/followups/snooze/{reference}", response=SnoozeOut)
def unsnooze_ticket(request, reference: str):
    ticket = ticket_get_for_agent(agent=request.auth, reference=reference, write=True)
    services.ticket_unsnooze(ticket=ticket, agent=request.auth)
    return {"ticket": ticket.reference, "snoozed": False}


# ---- resolutions ----

class ResolutionQuery(Schema):
    since: datetime | None = None
    until: datetime | None = None
    period: Literal["day", "week", "month"] = "month"


class ResolutionRow(Schema):
    period: datetime
    confirmed: int
    silent: int
    agent: int
    total: int


@router.get("/followups/resolutions", response=list[ResolutionRow])
def resolutions(request, query: Query[ResolutionQuery]):
    """Solves per period: confirmed by the customer, silent (the ladder), by an agent."""
    return selectors.resolution_counts(agent=request.auth, since=query.since, until=query.until, period=query.period)


# ---- settings (administrators) ----

class SettingsOut(Schema):
    close_solved_after_hours: int
    close_solved_after_hours_override: int | None
    check_in_enabled: bool
    check_in_days: int
    check_in_plans: list[str]
    check_in_tags: list[str]
    check_in_text: str


class SettingsIn(StrictIn):
    close_solved_after_hours: int | None = Field(default=None, ge=1, le=24 * 365)
    use_default_close_period: bool = False
    check_in_enabled: bool | None = None
    check_in_days: int | None = Field(default=None, ge=1, le=365)
    check_in_plans: list[str] | None = Field(default=None, max_length=100)
    check_in_tags: list[str] | None = Field(default=None, max_length=100)
    check_in_text: str | None = Field(default=None, max_length=config.MAX_TEXT)


def settings_out() -> dict:
    row = config.followup_settings()
    return {"close_solved_after_hours": config.close_solved_after_hours(),
            "close_solved_after_hours_override": row.close_solved_after_hours,
            "check_in_enabled": row.check_in_enabled, "check_in_days": row.check_in_days,
            "check_in_plans": row.check_in_plans, "check_in_tags": row.check_in_tags,
            "check_in_text": row.check_in_text}


@router.get("/followups/settings", response=SettingsOut)
def get_settings(request):
    check_admin(request.auth)
    return settings_out()


@router.put("/followups/settings", response=SettingsOut)
def put_settings(request, payload: SettingsIn):
    data = payload.model_dump(exclude_unset=True)
    close = None if data.pop("use_default_close_period", False) else data.pop("close_solved_after_hours", ...)
    data.pop("close_solved_after_hours", None)
    config.followup_settings_update(agent=request.auth, close_solved_after_hours=close, **data)
    return settings_out()


class LadderOut(Schema):
    id: int
    scope: Literal["global", "inbox", "plan"]
    inbox_id: int | None
    plan: str
    enabled: bool
    first_reminder_days: int
    second_reminder_days: int
    solve_after_days: int
    calendar_id: int | None
    reminder_text: str
    solve_text: str


class LadderIn(StrictIn):
    scope: Literal["global", "inbox", "plan"] = "global"
    inbox_id: int | None = None
    plan: str = Field(default="", max_length=100)
    enabled: bool = True
    first_reminder_days: int = Field(default=2, ge=0, le=365)
    second_reminder_days: int = Field(default=4, ge=0, le=365)
    solve_after_days: int = Field(default=7, ge=0, le=365)
    calendar_id: int | None = None
    reminder_text: str | None = Field(default=None, max_length=config.MAX_TEXT)
    solve_text: str | None = Field(default=None, max_length=config.MAX_TEXT)


def ladder_out(policy: LadderPolicy) -> dict:
    return {field: getattr(policy, field) for field in LadderOut.model_fields if field != "id"} | {"id": policy.pk}


@router.get("/followups/ladders", response=list[LadderOut])
def list_ladders(request):
    check_admin(request.auth)
    config.default_policy()
    return [ladder_out(p) for p in LadderPolicy.objects.order_by("scope", "plan", "inbox_id", "pk")]


@router.post("/followups/ladders", response={201: LadderOut})
def create_ladder(request, payload: LadderIn):
    if payload.scope == "global":
        raise InvalidInput("The default ladder exists already: change it with PUT /followups/ladders/{id}.")
    policy = config.ladder_policy_save(agent=request.auth, **payload.model_dump())
    return Status(201, ladder_out(policy))


@router.put("/followups/ladders/{policy_id}", response=LadderOut)
def update_ladder(request, policy_id: int, payload: LadderIn):
    check_admin(request.auth)
    policy = LadderPolicy.objects.filter(pk=policy_id).first()
    if policy is None:
        raise NotFound("No such ladder policy.")
    return ladder_out(config.ladder_policy_save(agent=request.auth, policy=policy, **payload.model_dump()))


@router.delete("/followups/ladders/{policy_id}", response={204: None})
def delete_ladder(request, policy_id: int):
    config.ladder_policy_delete(agent=request.auth, policy_id=policy_id)
    return Status(204, None)
