import pytest

from frontdesk.core.errors import Conflict, InvalidInput
from frontdesk.tickets.models import Status
from frontdesk.tickets.services import ticket_create, ticket_merge


@pytest.fixture
def duplicate(customer, support):
    return ticket_create(subject="Charged 2x", requester=customer, body="Again!", group=support,
                         tags=["urgent-billing"])


def test_it_closes_the_source_and_points_it_at_the_target(ticket, duplicate, agent):
    ticket_merge(source=duplicate, target=ticket, actor=agent)

    duplicate.refresh_from_db()
    assert duplicate.status == Status.CLOSED and duplicate.merged_into == ticket
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["billing", "urgent-billing"]
    assert ticket.events.filter(kind="merged", after__reference=duplicate.reference).exists()
    assert duplicate.events.filter(kind="merged_into", after__reference=ticket.reference).exists()


def test_it_refuses_merging_into_itself_or_a_closed_ticket(ticket, duplicate, agent):
    with pytest.raises(InvalidInput):
        ticket_merge(source=ticket, target=ticket, actor=agent)
    ticket_merge(source=duplicate, target=ticket, actor=agent)
    with pytest.raises(Conflict):
        ticket_merge(source=ticket, target=duplicate, actor=agent)
