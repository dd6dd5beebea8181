"""Role checks shared by every app: what a role may do, independent of which ticket."""

from __future__ import annotations

from frontdesk.core.errors import Forbidden

from .models import Agent


def check_full_agent(agent: Agent) -> None:
    """Light agents read and add notes; every other change needs a full agent."""
    if not agent.is_active:
        raise Forbidden("This agent account is deactivated.")
    if agent.is_light:
        raise Forbidden("Light agents can read and add internal notes only.")


def check_admin(agent: Agent) -> None:
    if not (agent.is_active and agent.is_admin):
        raise Forbidden("Only an administrator can do this.")
