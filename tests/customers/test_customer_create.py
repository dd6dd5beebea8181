import pytest
from django.db import IntegrityError

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


def test_it_creates_unknown_addresses_without_reading_them_back(customer, django_assert_num_queries):
    from frontdesk.customers.models import ContactPoint, Customer
    from frontdesk.customers.services import email_points_get_or_create

    # the look-up, then a savepoint around one insert per table
    with django_assert_num_queries(5):
        points = email_points_get_or_create(emails={"maria@example.net": "", "una@bulk.example": " Una "})

    assert points["maria@example.net"].customer == customer
    una = points["una@bulk.example"]
    assert una == ContactPoint.objects.get(value="una@bulk.example") and una.is_primary
    assert una.customer == Customer.objects.get(name="Una") and una.customer.pk


def test_it_retries_one_address_at_a_time_when_the_batch_collides(db, monkeypatch):
    """A concurrent insert of one address fails the batch: each address is then created alone."""
    from frontdesk.customers import services
    from frontdesk.customers.services import email_points_get_or_create

    real_create = services._create_email_customers
    calls = []

    def colliding(emails):
        calls.append(sorted(emails))
        if len(calls) == 1:
            raise IntegrityError("UNIQUE constraint failed")
        return real_create(emails)

    monkeypatch.setattr(services, "_create_email_customers", colliding)
    points = email_points_get_or_create(emails={"race@example.org": "Rae", "calm@example.org": "Calm"})

    assert calls == [["calm@example.org", "race@example.org"], ["race@example.org"], ["calm@example.org"]]
    assert {value: point.customer.name for value, point in points.items()} == {
        "race@example.org": "Rae", "calm@example.org": "Calm"}
    assert all(point.pk for point in points.values())
