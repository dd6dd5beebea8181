"""Administering SLA policies: create, change, delete, with the one validation.

Editing a policy never touches running timers (their targets were frozen at start); it
applies to timers started afterwards and to tickets re-evaluated after a change.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone

from frontdesk.accounts.models import Agent, Group
from frontdesk.accounts.permissions import check_admin
from frontdesk.calendars.models import BusinessCalendar
from frontdesk.core.errors import Conflict, InvalidInput, NotFound

from .models import SlaPolicy, SlaTimer, TimerState
from .policies import clean_actions, clean_conditions, clean_targets

FIELDS = (
    "name", "position", "is_default", "is_expedited", "active", "conditions", "calendar_id", "targets",
    "warning_share", "warning_actions", "breach_actions", "send_delay_update", "expedite_group_id",
    "expedite_price", "expedite_currency",
)


def _clean(values: dict, *, instance: SlaPolicy | None) -> dict:
    """Validated field values; ``values`` holds only the fields being set."""
    clean: dict = {}
    if "name" in values:
        name = (values["name"] or "").strip()
        if not name or len(name) > 100:
            raise InvalidInput("A policy needs a name of up to 100 characters.", code="invalid_name")
        clash = SlaPolicy.objects.filter(name__iexact=name)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            raise Conflict(f"A policy named {name!r} exists.", code="name_taken")
        clean["name"] = name
    if "position" in values:
        if not isinstance(values["position"], int) or values["position"] < 0:
            raise InvalidInput("position must be a whole number ≥ 0.", code="invalid_position")
        clean["position"] = values["position"]
    for flag in ("is_default", "is_expedited", "active", "send_delay_update"):
        if flag in values:
            clean[flag] = bool(values[flag])
    if "conditions" in values:
        clean["conditions"] = clean_conditions(values["conditions"])
    if "calendar_id" in values:
        calendar_id = values["calendar_id"]
        if not isinstance(calendar_id, int) or not BusinessCalendar.objects.filter(pk=calendar_id).exists():
            raise InvalidInput(f"No business calendar with id {calendar_id}.", code="unknown_calendar")
        clean["calendar_id"] = calendar_id
    if "targets" in values:
        clean["targets"] = clean_targets(values["targets"])
    if "warning_share" in values:
        share = values["warning_share"]
        if isinstance(share, bool) or not isinstance(share, int) or not 1 <= share <= 99:
            raise InvalidInput("warning_share is a percentage between 1 and 99.", code="invalid_warning_share")
        clean["warning_share"] = share
    for field in ("warning_actions", "breach_actions"):
        if field in values:
            clean[field] = clean_actions(values[field], field=field)
    if "expedite_group_id" in values:
        group_id = values["expedite_group_id"]
        if group_id is not None and not Group.objects.filter(pk=group_id).exists():
            raise InvalidInput(f"No group with id {group_id}.", code="unknown_group")
        clean["expedite_group_id"] = group_id
    if "expedite_price" in values:
        price = values["expedite_price"]
        if price is not None:
            try:
                price = Decimal(str(price)).quantize(Decimal("0.01"))
            except InvalidOperation as exc:
                raise InvalidInput("expedite_price must be an amount.", code="invalid_price") from exc
            if price < 0 or price >= Decimal("100000000"):
                raise InvalidInput("expedite_price must be a positive amount.", code="invalid_price")
        clean["expedite_price"] = price
    if "expedite_currency" in values:
        currency = (values["expedite_currency"] or "").strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise InvalidInput("expedite_currency is a three-letter code such as EUR.", code="invalid_currency")
        clean["expedite_currency"] = currency
    return clean


def _save(policy: SlaPolicy) -> SlaPolicy:
    if policy.is_default and (policy.conditions or policy.is_expedited):
        raise InvalidInput("A default policy matches every ticket: it has no conditions and is not the "
                           "expedited policy.", code="invalid_default")
    if policy.is_expedited and SlaPolicy.objects.filter(is_expedited=True).exclude(pk=policy.pk).exists():
        raise Conflict("Another policy is already the expedited policy.", code="expedited_taken")
    if "send_delay_update" not in getattr(policy, "_explicit", ()) and policy.pk is None:
        # The honest update is on by default for premium policies: those for a plan, and the
        # expedited one.
        policy.send_delay_update = bool(policy.is_expedited or (policy.conditions or {}).get("plans"))
    policy.updated_at = timezone.now()
    try:
        with transaction.atomic():
            policy.save()
    except IntegrityError as exc:  # a concurrent create took the name or the expedited slot
        raise Conflict("This policy conflicts with another (name or expedited).", code="conflict") from exc
    return policy


@transaction.atomic
def sla_policy_create(*, actor: Agent, **values) -> SlaPolicy:
    """A new policy; ``name``, ``calendar_id`` and ``targets`` are required."""
    check_admin(actor)
    for required in ("name", "calendar_id", "targets"):
        if required not in values:
            raise InvalidInput(f"{required} is required.", code="missing_field")
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown field {sorted(unknown)[0]!r}.")
    policy = SlaPolicy(**_clean(values, instance=None))
    policy._explicit = set(values)
    return _save(policy)


@transaction.atomic
def sla_policy_update(*, actor: Agent, policy_id: int, **values) -> SlaPolicy:
    """Change the given fields. Running timers keep the targets they started with."""
    check_admin(actor)
    policy = SlaPolicy.objects.select_for_update().filter(pk=policy_id).first()
    if policy is None:
        raise NotFound("No such policy.")
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown field {sorted(unknown)[0]!r}.")
    for name, value in _clean(values, instance=policy).items():
        setattr(policy, name, value)
    return _save(policy)


@transaction.atomic
def sla_policy_delete(*, actor: Agent, policy_id: int) -> None:
    """Delete a policy no timer is running on (deactivate it instead to let them finish)."""
    check_admin(actor)
    policy = SlaPolicy.objects.select_for_update().filter(pk=policy_id).first()
    if policy is None:
        raise NotFound("No such policy.")
    if SlaTimer.objects.filter(policy=policy, state__in=(TimerState.RUNNING, TimerState.PAUSED)).exists():
        raise Conflict("Timers are running on this policy; deactivate it instead.", code="policy_in_use")
    policy.delete()
