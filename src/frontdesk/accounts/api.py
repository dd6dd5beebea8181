"""Agents and groups, read-only."""

from __future__ import annotations

from ninja import Router, Schema

from . import selectors
from .models import Agent, Group

router = Router(tags=["agents and groups"])


class GroupOut(Schema):
    id: int
    name: str
    tier: int
    description: str


class AgentOut(Schema):
    id: int
    email: str
    name: str
    role: str
    groups: list[GroupOut]


def agent_out(agent: Agent) -> dict:
    return {"id": agent.pk, "email": agent.email, "name": agent.name, "role": agent.role,
            "groups": [group_out(g) for g in agent.groups.all()]}


def group_out(group: Group) -> dict:
    return {"id": group.pk, "name": group.name, "tier": group.tier, "description": group.description}


@router.get("/me", response=AgentOut)
def me(request):
    return agent_out(request.auth)


@router.get("/agents", response=list[AgentOut])
def list_agents(request):
    return [agent_out(agent) for agent in selectors.agent_list()]


@router.get("/agents/{agent_id}", response=AgentOut)
def get_agent(request, agent_id: int):
    return agent_out(selectors.agent_get(agent_id=agent_id))


@router.get("/groups", response=list[GroupOut])
def list_groups(request):
    return [group_out(group) for group in selectors.group_list()]


@router.get("/groups/{group_id}", response=GroupOut)
def get_group(request, group_id: int):
    return group_out(selectors.group_get(group_id=group_id))
