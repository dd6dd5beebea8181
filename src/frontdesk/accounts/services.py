"""Writes on agents, groups and tokens."""

from __future__ import annotations

import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from frontdesk.core.errors import Conflict, InvalidInput

from .models import Agent, ApiToken, Group, Role, Tier, hash_token, validate_time_zone

TOKEN_PREFIX = "fd_"


def group_get_or_create(*, name: str, tier: int = Tier.L1) -> Group:
    name = name.strip()
    if not name:
        raise InvalidInput("A group needs a name.")
    group, _ = Group.objects.get_or_create(name=name, defaults={"tier": tier})
    return group


@transaction.atomic
def agent_create(
    *,
    email: str,
    name: str,
    role: str = Role.AGENT,
    password: str | None = None,
    group_names: list[str] | tuple[str, ...] = (),
) -> Agent:
    email = email.strip().lower()
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.")
    if Agent.objects.filter(email=email).exists():
        raise Conflict(f"An agent with email {email} already exists.", code="agent_exists")
    agent = Agent(email=email, name=name.strip() or email, role=role)
    if password:
        try:
            validate_password(password, user=agent)
        except ValidationError as exc:
            raise InvalidInput(" ".join(exc.messages), code="weak_password") from exc
    agent.set_password(password)  # None → unusable password: token or reset only
    agent.save()
    agent.groups.set([group_get_or_create(name=group_name) for group_name in group_names])
    return agent


def agent_set_time_zone(*, agent: Agent, time_zone: str) -> Agent:
    """The agent's own time zone (an IANA name), or ``""`` for the instance's."""
    time_zone = (time_zone or "").strip()
    try:
        validate_time_zone(time_zone)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), code="invalid_time_zone") from exc
    agent.time_zone = time_zone
    agent.save(update_fields=["time_zone"])
    return agent


def token_create(*, agent: Agent, name: str = "") -> str:
    """Create an API token and return it in clear text: the only time it is visible."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(
        agent=agent, name=name, prefix=raw[:10], token_hash=hash_token(raw)
    )
    return raw


def token_authenticate(*, raw: str) -> Agent | None:
    """The active agent owning this unrevoked token, else None."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("agent")
        .filter(token_hash=hash_token(raw), revoked_at__isnull=True, agent__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    # Write last-use at most once a minute: a token used for every request must not
    # turn every read into a write.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.agent


def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
