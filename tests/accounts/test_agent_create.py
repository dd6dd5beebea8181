import pytest

from frontdesk.accounts.models import Role
from frontdesk.accounts.services import agent_create
from frontdesk.core.errors import Conflict, InvalidInput


def test_it_creates_an_agent_with_an_argon2_password_and_groups(db):
    agent = agent_create(email="New@Example.com", name="New", password="a long passphrase 42",
                         group_names=["Support", "Tier 2"])

    assert agent.email == "new@example.com" and agent.role == Role.AGENT
    assert agent.password.startswith("argon2")
    assert agent.check_password("a long passphrase 42")
    assert sorted(agent.groups.values_list("name", flat=True)) == ["Support", "Tier 2"]


def test_it_refuses_duplicates_weak_passwords_and_unknown_roles(agent):
    with pytest.raises(Conflict):
        agent_create(email="SAM@example.com", name="Sam again")
    with pytest.raises(InvalidInput):
        agent_create(email="x@example.com", name="X", password="short")
    with pytest.raises(InvalidInput):
        agent_create(email="y@example.com", name="Y", role="root")


def test_it_lets_only_active_admins_into_the_django_admin(admin, agent, light):
    assert admin.is_staff and admin.has_perm("tickets.view_ticket")
    assert not agent.is_staff and not light.has_module_perms("tickets")
