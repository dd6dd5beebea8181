"""Which policy applies to a ticket, and what a valid policy looks like.

Matching reads the ticket as it is now (plan, organization, channel, group, tags); the
checks here are the one validation shared by the services, the API and the admin.
"""

from __future__ import annotations

from dataclasses import dataclass

from frontdesk.accounts.models import Group
from frontdesk.core.errors import InvalidInput
from frontdesk.customers.models import Organization
from frontdesk.tickets.models import Channel, Priority, Ticket
from frontdesk.tickets.services import normalize_tags

from .models import ActionKind, Metric, SlaPolicy

CONDITION_KEYS = ("plans", "organization_ids", "channels", "group_ids", "tags")
MAX_TARGET_MINUTES = 525_600  # a year of business minutes: anything above is a typo
PRIORITY_STEPS = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


@dataclass(frozen=True)
class TicketFacts:
    """What policy conditions look at, read once per evaluation."""

    plan: str
    organization_id: int | None
    channel: str
    group_id: int | None
    tags: frozenset[str]


def ticket_facts(ticket: Ticket) -> TicketFacts:
    requester = ticket.requester
    organization = ticket.organization or requester.organization
    plan = requester.plan or (organization.plan if organization else "")
    return TicketFacts(
        plan=plan.strip().lower(),
        organization_id=ticket.organization_id or requester.organization_id,
        channel=ticket.channel,
        group_id=ticket.group_id,
        tags=frozenset(ticket.tags.values_list("name", flat=True)),
    )


def policy_matches(policy: SlaPolicy, facts: TicketFacts) -> bool:
    if policy.is_default:
        return True
    conditions = policy.conditions or {}
    if (plans := conditions.get("plans")) and facts.plan not in {p.lower() for p in plans}:
        return False
    if (orgs := conditions.get("organization_ids")) and facts.organization_id not in orgs:
        return False
    if (channels := conditions.get("channels")) and facts.channel not in channels:
        return False
    if (groups := conditions.get("group_ids")) and facts.group_id not in groups:
        return False
    if (tags := conditions.get("tags")) and not facts.tags.intersection(tags):
        return False
    return True


def active_policies() -> list[SlaPolicy]:
    """Active policies in the order they are tried (position, id; default policies last)."""
    return list(SlaPolicy.objects.filter(active=True).select_related("calendar").order_by(
        "is_default", "position", "id"))


def policy_for_ticket(ticket: Ticket, *, expedited: bool = False,
                      policies: list[SlaPolicy] | None = None) -> SlaPolicy | None:
    """The expedited policy for an expedited ticket (if one is active), else the first active
    policy whose conditions match, in order (position, id; default policies last).
    ``policies``: ``active_policies()`` when the caller already has them (many tickets)."""
    policies = active_policies() if policies is None else policies
    if not policies:
        return None  # no need for the ticket's facts (a query for its tags)
    if expedited:
        for policy in policies:
            if policy.is_expedited:
                return policy
    facts = ticket_facts(ticket)
    for policy in policies:
        if not policy.is_expedited and policy_matches(policy, facts):
            return policy
    return None


def raised(priority: str) -> str:
    index = PRIORITY_STEPS.index(priority) if priority in PRIORITY_STEPS else 1
    return PRIORITY_STEPS[min(index + 1, len(PRIORITY_STEPS) - 1)]


# --- validation ------------------------------------------------------------------------

def _strings(value, *, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InvalidInput(f"{field} must be a list of names.", code="invalid_conditions")
    return [v.strip() for v in value]


def _ids(value, *, field: str) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise InvalidInput(f"{field} must be a list of ids.", code="invalid_conditions")
    return sorted(set(value))


def clean_conditions(conditions) -> dict:
    """Conditions with every referenced organization and group checked to exist."""
    conditions = conditions or {}
    if not isinstance(conditions, dict):
        raise InvalidInput("Conditions must be an object.", code="invalid_conditions")
    unknown = set(conditions) - set(CONDITION_KEYS)
    if unknown:
        raise InvalidInput(
            f"Unknown condition {', '.join(sorted(unknown))}; use {', '.join(CONDITION_KEYS)}.",
            code="invalid_conditions",
        )
    clean: dict = {}
    if plans := _strings(conditions.get("plans", []), field="plans"):
        clean["plans"] = [p.lower() for p in plans]
    if orgs := _ids(conditions.get("organization_ids", []), field="organization_ids"):
        found = set(Organization.objects.filter(pk__in=orgs).values_list("pk", flat=True))
        if missing := [o for o in orgs if o not in found]:
            raise InvalidInput(f"No organization with id {missing[0]}.", code="unknown_organization")
        clean["organization_ids"] = orgs
    if channels := _strings(conditions.get("channels", []), field="channels"):
        if bad := [c for c in channels if c not in Channel.values]:
            raise InvalidInput(f"Unknown channel {bad[0]!r}; choose from {', '.join(Channel.values)}.",
                               code="invalid_conditions")
        clean["channels"] = sorted(set(channels))
    if groups := _ids(conditions.get("group_ids", []), field="group_ids"):
        found = set(Group.objects.filter(pk__in=groups).values_list("pk", flat=True))
        if missing := [g for g in groups if g not in found]:
            raise InvalidInput(f"No group with id {missing[0]}.", code="unknown_group")
        clean["group_ids"] = groups
    if tags := _strings(conditions.get("tags", []), field="tags"):
        clean["tags"] = normalize_tags(tags)
    return clean


def clean_targets(targets) -> dict:
    """``{metric: {priority: minutes}}`` with positive whole minutes; at least one target."""
    if not isinstance(targets, dict) or not targets:
        raise InvalidInput("A policy needs at least one target.", code="invalid_targets")
    clean: dict = {}
    for metric, per_priority in targets.items():
        if metric not in Metric.values:
            raise InvalidInput(f"Unknown metric {metric!r}; use {', '.join(Metric.values)}.", code="invalid_targets")
        if not isinstance(per_priority, dict):
            raise InvalidInput(f"Targets for {metric} must map priorities to minutes.", code="invalid_targets")
        for priority, minutes in per_priority.items():
            if priority not in Priority.values:
                raise InvalidInput(f"Unknown priority {priority!r} in {metric}.", code="invalid_targets")
            if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
                raise InvalidInput(
                    f"The {metric} target for {priority} must be a positive number of business minutes.",
                    code="invalid_targets",
                )
            if minutes > MAX_TARGET_MINUTES:
                raise InvalidInput(f"The {metric} target for {priority} is too large.", code="invalid_targets")
        if per_priority:
            clean[metric] = {p: int(m) for p, m in per_priority.items()}
    if not clean:
        raise InvalidInput("A policy needs at least one target.", code="invalid_targets")
    return clean


def clean_actions(actions, *, field: str) -> list[dict]:
    if actions is None:
        return []
    if not isinstance(actions, list):
        raise InvalidInput(f"{field} must be a list.", code="invalid_actions")
    clean = []
    for action in actions:
        kind = action.get("kind") if isinstance(action, dict) else None
        if kind not in ActionKind.values:
            raise InvalidInput(f"Unknown action {kind!r} in {field}; use {', '.join(ActionKind.values)}.",
                               code="invalid_actions")
        extra = set(action) - {"kind", "group_id", "tag"}
        if extra:
            raise InvalidInput(f"Unknown field {sorted(extra)[0]!r} in an action.", code="invalid_actions")
        item: dict = {"kind": kind}
        if kind == ActionKind.MOVE_TO_GROUP:
            group_id = action.get("group_id")
            if not isinstance(group_id, int) or not Group.objects.filter(pk=group_id).exists():
                raise InvalidInput(f"{field}: move_to_group needs an existing group_id.", code="unknown_group")
            item["group_id"] = group_id
        if kind == ActionKind.ADD_TAG:
            tag = action.get("tag")
            if not isinstance(tag, str) or not tag.strip():
                raise InvalidInput(f"{field}: add_tag needs a tag.", code="invalid_actions")
            item["tag"] = normalize_tags([tag])[0]
        clean.append(item)
    return clean
