from frontdesk.accounts.models import ApiToken, hash_token
from frontdesk.accounts.services import token_authenticate, token_create, token_revoke


def test_it_stores_only_a_hash_and_authenticates_with_the_raw_token(agent):
    raw = token_create(agent=agent, name="zapier")

    token = ApiToken.objects.get()
    assert raw not in (token.token_hash, token.prefix) and token.token_hash == hash_token(raw)
    assert token_authenticate(raw=raw) == agent
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_it_refuses_revoked_tokens_and_deactivated_agents(agent):
    raw = token_create(agent=agent)
    token_revoke(token=ApiToken.objects.get())
    assert token_authenticate(raw=raw) is None

    raw2 = token_create(agent=agent)
    agent.is_active = False
    agent.save()
    assert token_authenticate(raw=raw2) is None
    assert token_authenticate(raw="fd_guess") is None and token_authenticate(raw="x" * 500) is None
