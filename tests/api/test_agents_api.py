"""/api/v1/me, /agents, /groups: who the caller is, and the team (read-only)."""

from __future__ import annotations

import pytest

from frontdesk.accounts.models import Agent
from frontdesk.accounts.services import agent_create

from .helpers import assert_error


@pytest.mark.parametrize(("who", "role", "groups"), [
    ("admin", "admin", []),
    ("agent", "agent", ["Support"]),
    ("light", "light", ["Support"]),
    ("outsider", "agent", ["Billing"]),
])
def test_it_tells_the_caller_who_they_are(api_as, persona, who, role, groups):
    me = persona(who)
    response = api_as(me).get("/me")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == me.pk
    assert body["email"] == me.email
    assert body["name"] == me.name
    assert body["role"] == role
    assert [g["name"] for g in body["groups"]] == groups
    assert set(body) == {"id", "email", "name", "role", "groups"}  # no password, no tokens


def test_it_needs_a_token_for_me(api_as, db):
    assert_error(api_as(None).get("/me"), 401, "unauthorized")


def test_it_lists_active_agents_with_their_groups(api_as, admin, agent, light, outsider, tier2):
    gone = agent_create(email="gone@example.com", name="Gone", group_names=["Support"])
    Agent.objects.filter(pk=gone.pk).update(is_active=False)
    both = agent_create(email="two@example.com", name="Two Hats",
                        group_names=["Support", "Tier 2"])
    response = api_as(light).get("/agents")
    assert response.status_code == 200, response.content
    agents = {a["email"]: a for a in response.json()}
    assert set(agents) == {admin.email, agent.email, light.email, outsider.email, both.email}
    assert [a["id"] for a in response.json()] == sorted(a["id"] for a in response.json())
    assert {g["name"] for g in agents[both.email]["groups"]} == {"Support", "Tier 2"}
    assert agents[light.email]["role"] == "light"
    assert agents[outsider.email]["groups"] == [
        {"id": outsider.groups.get().pk, "name": "Billing", "tier": 1, "description": ""}]


def test_it_shows_one_agent(api_as, outsider, agent):
    response = api_as(outsider).get(f"/agents/{agent.pk}")
    assert response.status_code == 200
    assert response.json()["email"] == agent.email
    assert [g["name"] for g in response.json()["groups"]] == ["Support"]


@pytest.mark.parametrize("path", ["/agents/424242", "/groups/424242"])
def test_it_answers_404_for_an_unknown_agent_or_group(api_as, agent, path):
    assert_error(api_as(agent).get(path), 404, "not_found")


@pytest.mark.parametrize("path", ["/agents/sam", "/groups/support"])
def test_it_refuses_a_non_numeric_id(api_as, agent, path):
    assert_error(api_as(agent).get(path), 422, "validation_error")


def test_it_lists_groups_by_tier_then_name(api_as, agent, support, billing, tier2):
    response = api_as(agent).get("/groups")
    assert response.status_code == 200
    assert [(g["name"], g["tier"]) for g in response.json()] == [
        ("Billing", 1), ("Support", 1), ("Tier 2", 2)]


def test_it_shows_one_group(api_as, light, tier2):
    response = api_as(light).get(f"/groups/{tier2.pk}")
    assert response.json() == {"id": tier2.pk, "name": "Tier 2", "tier": 2, "description": ""}


@pytest.mark.parametrize("path", ["/agents", "/groups", "/agents/1", "/groups/1"])
def test_it_needs_a_token_for_the_team(api_as, agent, path):
    assert_error(api_as(None).get(path), 401, "unauthorized")


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/agents"), ("post", "/groups"), ("delete", "/agents/1"), ("patch", "/groups/1"),
])
def test_it_offers_no_writes_on_the_team(api_as, admin, method, path):
    api = api_as(admin)
    agents = Agent.objects.count()
    response = getattr(api, method)(path, {"name": "x"}) if method != "delete" else api.delete(path)
    assert response.status_code == 405
    assert Agent.objects.count() == agents
