import pytest

from frontdesk.core.errors import Conflict, InvalidInput
from frontdesk.customers.models import ContactKind
from frontdesk.customers.services import customer_create, customer_get_or_create_by_email


def test_it_creates_a_customer_with_normalized_contact_points(db):
    customer = customer_create(
        name=" Aiko ", emails=["Aiko@Example.JP"], phones=["+81 90-1234-5678"], external_ids=["crm-7"],
        time_zone="Asia/Tokyo", preferences={"contact": "phone"},
    )

    points = {(p.kind, p.value, p.is_primary) for p in customer.contact_points.all()}
    assert points == {("email", "aiko@example.jp", True), ("phone", "+819012345678", True),
                      ("external", "crm-7", True)}
    assert customer.name == "Aiko" and customer.primary_email == "aiko@example.jp"


def test_it_refuses_an_address_that_belongs_to_someone_else(customer):
    with pytest.raises(Conflict):
        customer_create(name="Copy", emails=["MARIA@example.net"])


@pytest.mark.parametrize("fields", [
    {"emails": ["not-an-email"]}, {"phones": ["call me"]}, {"time_zone": "Mars/Olympus"},
])
def test_it_refuses_invalid_values(db, fields):
    with pytest.raises(InvalidInput):
        customer_create(name="X", **fields)


def test_it_finds_or_creates_by_email(customer):
    assert customer_get_or_create_by_email(email="Maria@Example.net") == customer
    new = customer_get_or_create_by_email(email="new@example.org", name="New Person")
    assert new != customer and new.contact_points.get().kind == ContactKind.EMAIL
