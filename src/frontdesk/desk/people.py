"""Groups and agents as the workspace's choices show them, held per process.

Every ticket page (side panel, names in the timeline) and every inbox page (filter and bulk
bar) lists the groups and agents. They change rarely, so each process keeps one copy and
checks a version stamp in the shared cache (one cache read) instead of querying them:

* key ``desk:people:version`` in the default cache (Redis or the file cache: shared by every
  process), a random token;
* the copy is reloaded when the stamp differs from the one it was loaded under, when the
  stamp is missing (cache cleared, culled, or down), and at the latest after ``MAX_AGE``
  seconds (a change made while the cache was down could not move the stamp);
* any save or delete of an agent or a group and any change of group membership — through
  services, the admin or a shell — writes a new stamp at once and again after its
  transaction commits (``connect_invalidation``, from ``DeskConfig.ready``), so a process
  that reloaded between the change and its commit reloads once more.

What a stale copy could show is a choice; every change is still checked by its service.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from frontdesk.accounts.models import Agent, Group, Role

VERSION_KEY = "desk:people:version"
MAX_AGE = 60.0  # seconds


@dataclass(frozen=True)
class People:
    """Every group and every agent (active or not) with their groups: plain values."""

    groups: list[tuple[int, str, int]]  # (id, name, tier) in (tier, name) order
    agents: list[tuple[int, str, str, str, bool]]  # (id, name, email, role, is_active) in id order
    memberships: dict[int, frozenset[int]]  # agent id → group ids
    names_by_email: dict[str, str] = field(default_factory=dict)

    def assignable(self) -> list[tuple[int, str]]:
        """(id, name) of active full agents (who can be assigned tickets), by name."""
        return sorted(((pk, name) for pk, name, _, role, active in self.agents if active and role != Role.LIGHT),
                      key=lambda pair: (pair[1], pair[0]))


def load_people() -> People:
    """Two queries of plain values."""
    groups = list(Group.objects.order_by("tier", "name").values_list("pk", "name", "tier"))
    agents: dict[int, tuple] = {}
    memberships: dict[int, set[int]] = {}
    rows = Agent.objects.order_by("pk").values_list("pk", "name", "email", "role", "is_active", "groups__pk")
    for pk, name, email, role, is_active, group_id in rows:
        agents[pk] = (pk, name, email, role, is_active)
        groups_of = memberships.setdefault(pk, set())
        if group_id is not None:
            groups_of.add(group_id)
    return People(
        groups=groups, agents=list(agents.values()),
        memberships={pk: frozenset(ids) for pk, ids in memberships.items()},
        names_by_email={email: name for _, name, email, _, _ in agents.values()},
    )


_lock = threading.Lock()
_held: tuple[str, float, People] | None = None  # (version, loaded at (monotonic), people)


def people() -> People:
    """The current groups and agents (see the module's docstring)."""
    global _held
    version = cache.get(VERSION_KEY)
    if version is None:
        fresh = uuid.uuid4().hex
        version = fresh if cache.add(VERSION_KEY, fresh, timeout=None) else cache.get(VERSION_KEY) or fresh
    held = _held
    if held is not None and held[0] == version and time.monotonic() - held[1] < MAX_AGE:
        return held[2]
    loaded = load_people()  # read after the stamp: a change after this read moves the stamp again
    with _lock:
        _held = (version, time.monotonic(), loaded)
    return loaded


def people_changed(**_kwargs) -> None:
    """Move the stamp now (this process and others see it on their next page) and once more
    when the change commits (a process that reloaded in between reloads again)."""
    global _held
    _held = None
    cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
    transaction.on_commit(lambda: cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None))


def connect_invalidation() -> None:
    for model in (Agent, Group):
        post_save.connect(people_changed, sender=model, dispatch_uid=f"desk-people-save-{model.__name__}")
        post_delete.connect(people_changed, sender=model, dispatch_uid=f"desk-people-delete-{model.__name__}")
    m2m_changed.connect(people_changed, sender=Agent.groups.through, dispatch_uid="desk-people-membership")
