"""Reads on agents and groups (every agent may see the team)."""

from __future__ import annotations

from django.db.models import QuerySet

from frontdesk.core.errors import NotFound

from .models import Agent, Group


def agent_list() -> QuerySet[Agent]:
    return Agent.objects.filter(is_active=True).prefetch_related("groups").order_by("id")


def agent_get(*, agent_id: int) -> Agent:
    agent = Agent.objects.prefetch_related("groups").filter(pk=agent_id).first()
    if agent is None:
        raise NotFound("No such agent.")
    return agent


def group_list() -> QuerySet[Group]:
    return Group.objects.order_by("tier", "name")


def group_get(*, group_id: int) -> Group:
    group = Group.objects.filter(pk=group_id).first()
    if group is None:
        raise NotFound("No such group.")
    return group
