import pytest

from frontdesk.core.errors import Conflict
from frontdesk.customers.selectors import customer_get
from frontdesk.customers.services import customer_create, customer_merge, organization_create
from frontdesk.tickets.services import ticket_create


def test_it_moves_contact_points_and_tickets_to_the_target(ticket, customer):
    org = organization_create(name="Lopez Travel")
    duplicate = customer_create(name="M. Lopez", emails=["m.lopez@work.example"], organization=org,
                                preferences={"channel": "sms"})
    other_ticket = ticket_create(subject="Invoice", requester=duplicate, body="copy please")

    customer_merge(source=duplicate, target=customer)

    customer.refresh_from_db()
    other_ticket.refresh_from_db()
    assert other_ticket.requester == customer
    assert other_ticket.messages.get().author_customer == customer
    assert set(customer.contact_points.values_list("value", flat=True)) == {
        "maria@example.net", "m.lopez@work.example"}
    assert customer.organization == org and customer.preferences == {"channel": "sms"}
    assert customer_get(customer_id=duplicate.pk) == customer


def test_it_refuses_merging_twice(customer):
    duplicate = customer_create(name="Dup")
    customer_merge(source=duplicate, target=customer)
    duplicate.refresh_from_db()

    with pytest.raises(Conflict):
        customer_merge(source=duplicate, target=customer)


def test_it_keeps_a_merged_customer_copied_on_tickets(ticket, customer, agent):
    from frontdesk.tickets.services import ticket_set_ccs

    work = customer_create(name="Jo at work", emails=["jo@work.example"])
    home = customer_create(name="Jo at home", emails=["jo@home.example"])
    both = ticket_create(subject="Shared", requester=customer, body="cc both", ccs=[work, home])
    ticket_set_ccs(ticket=ticket, actor=agent, customers=[work])

    customer_merge(source=work, target=home)

    assert list(ticket.ccs.all()) == [home]
    assert list(both.ccs.all()) == [home]  # linked once, not twice
    assert home.cc_tickets.count() == 2 and not work.cc_tickets.exists()
