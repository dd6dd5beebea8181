"""portal.services: issuing, resolving and revoking conversation links."""

from __future__ import annotations

import pytest
from django.core import signing

from frontdesk.customers.services import customer_create
from frontdesk.portal.models import ConversationLink
from frontdesk.portal.services import (
    TOKEN_SALT,
    link_issue,
    link_resolve,
    link_revoke,
    link_revoke_all,
    link_url,
)
from frontdesk.tickets.services import ticket_create, ticket_merge


def test_it_resolves_a_fresh_token_to_its_ticket_and_customer(ticket, customer):
    resolved = link_resolve(token=link_issue(ticket=ticket))

    assert resolved.ticket == ticket and resolved.link.customer == customer


def test_it_stores_only_a_hash_of_the_nonce(ticket):
    token = link_issue(ticket=ticket)

    link = ConversationLink.objects.get()
    nonce = signing.loads(token, salt=TOKEN_SALT)["n"]
    assert nonce not in link.nonce_hash and len(link.nonce_hash) == 64
    assert nonce not in str(link.__dict__)


def test_it_builds_the_absolute_url_from_the_base_url(ticket, settings):
    settings.FRONTDESK_BASE_URL = "https://help.acme.test"

    assert link_url("abc") == "https://help.acme.test/c/abc/"


def test_it_refuses_tampered_malformed_and_foreign_tokens(ticket):
    token = link_issue(ticket=ticket)
    payload, _, rest = token.partition(":")
    tampered = payload[:-1] + ("A" if payload[-1] != "A" else "B") + ":" + rest
    other_salt = signing.dumps(signing.loads(token, salt=TOKEN_SALT), salt="something.else")

    for bad in [tampered, token[:-2], "", "x" * 1000, "nonsense", other_salt, token + "x"]:
        assert link_resolve(token=bad) is None, bad


def test_it_refuses_a_signed_token_whose_nonce_does_not_match(ticket):
    link_issue(ticket=ticket)
    link = ConversationLink.objects.get()
    forged = signing.dumps({"l": link.pk, "n": "guessed"}, salt=TOKEN_SALT)  # would need the secret key

    assert link_resolve(token=forged) is None


def test_it_refuses_an_expired_token(ticket, settings):
    token = link_issue(ticket=ticket)
    settings.FRONTDESK_CONVERSATION_LINK_DAYS = -1

    assert link_resolve(token=token) is None


def test_it_revokes_one_link_without_touching_the_others(ticket):
    first, second = link_issue(ticket=ticket), link_issue(ticket=ticket)

    link_revoke(link=link_resolve(token=first).link)

    assert link_resolve(token=first) is None
    assert link_resolve(token=second) is not None


def test_it_revokes_every_link_of_a_ticket(ticket, customer):
    tokens = [link_issue(ticket=ticket) for _ in range(3)]
    other = ticket_create(subject="Other", requester=customer, body="Another question")
    other_token = link_issue(ticket=other)

    assert link_revoke_all(ticket=ticket) == 3

    assert all(link_resolve(token=token) is None for token in tokens)
    assert link_resolve(token=other_token) is not None


def test_it_follows_a_merge_to_the_surviving_ticket(ticket, customer, agent):
    target = ticket_create(subject="Duplicate", requester=customer, body="Same problem", group=ticket.group)
    token = link_issue(ticket=ticket)

    ticket_merge(source=ticket, target=target, actor=agent)

    assert link_resolve(token=token).ticket == target


def test_it_stops_when_a_merge_leads_to_another_customers_ticket(ticket, agent):
    stranger = customer_create(name="Someone Else", emails=["else@example.org"])
    foreign = ticket_create(subject="Theirs", requester=stranger, body="Private", group=ticket.group)
    token = link_issue(ticket=ticket)

    ticket_merge(source=ticket, target=foreign, actor=agent)

    assert link_resolve(token=token) is None


def test_it_only_issues_links_to_the_requester(ticket):
    stranger = customer_create(name="Someone Else", emails=["else@example.org"])

    with pytest.raises(ValueError):
        link_issue(ticket=ticket, customer=stranger)
    assert not ConversationLink.objects.exists()


def test_it_keeps_working_after_the_customer_is_merged_into_another(ticket, customer):
    from frontdesk.customers.services import customer_merge

    token = link_issue(ticket=ticket)
    survivor = customer_create(name="Maria L.", emails=["maria.lopez@work.example"])

    customer_merge(source=customer, target=survivor)

    resolved = link_resolve(token=token)
    assert resolved.ticket == ticket and resolved.link.customer == survivor
