"""Reads on customers and organizations. Every agent may look customers up."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from frontdesk.core.errors import NotFound

from .models import Customer, Organization


def customer_list(*, query: str = "", organization_id: int | None = None) -> QuerySet[Customer]:
    customers = Customer.objects.filter(merged_into__isnull=True).prefetch_related("contact_points")
    if query:
        customers = customers.filter(
            Q(name__icontains=query) | Q(contact_points__value__icontains=query.lower())
        ).distinct()
    if organization_id is not None:
        customers = customers.filter(organization_id=organization_id)
    return customers.order_by("id")


def customer_get(*, customer_id: int) -> Customer:
    """The customer, following merge pointers so old ids keep working."""
    seen = set()
    while True:
        customer = (
            Customer.objects.select_related("organization")
            .prefetch_related("contact_points").filter(pk=customer_id).first()
        )
        if customer is None:
            raise NotFound("No such customer.")
        if customer.merged_into_id is None or customer.pk in seen:
            return customer
        seen.add(customer.pk)
        customer_id = customer.merged_into_id


def organization_list(*, query: str = "") -> QuerySet[Organization]:
    organizations = Organization.objects.filter(merged_into__isnull=True)
    if query:
        organizations = organizations.filter(name__icontains=query)
    return organizations.order_by("id")


def organization_get(*, organization_id: int) -> Organization:
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        raise NotFound("No such organization.")
    return organization
