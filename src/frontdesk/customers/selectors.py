"""Reads on customers and organizations. Every agent may look customers up."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from frontdesk.core.errors import NotFound

from .models import Customer, Organization


def customer_list(*, query: str = "", organization_id: int | None = None) -> QuerySet[Customer]:
    customers = (
        Customer.objects.filter(merged_into__isnull=True)
        .select_related("organization").prefetch_related("contact_points")
    )
    if query:
        customers = customers.filter(
            Q(name__icontains=query) | Q(contact_points__value__icontains=query.lower())
        ).distinct()
    if organization_id is not None:
        customers = customers.filter(organization_id=organization_id)
    return customers.order_by("id")


def _follow_merges(queryset: QuerySet, pk: int, *, missing: str, follow: bool):
    """The row with this pk or, when ``follow``, the row it was merged into (transitively), so
    old ids keep working for reads. Merges themselves must not follow: acting on the successor
    of a stale id would merge a different record than the one named."""
    seen = set()
    while True:
        row = queryset.filter(pk=pk).first()
        if row is None:
            raise NotFound(missing)
        if not follow or row.merged_into_id is None or row.pk in seen:
            return row
        seen.add(row.pk)
        pk = row.merged_into_id


def customer_get(*, customer_id: int, follow_merges: bool = True) -> Customer:
    queryset = Customer.objects.select_related("organization").prefetch_related("contact_points")
    return _follow_merges(queryset, customer_id, missing="No such customer.", follow=follow_merges)


def organization_list(*, query: str = "") -> QuerySet[Organization]:
    organizations = Organization.objects.filter(merged_into__isnull=True)
    if query:
        organizations = organizations.filter(name__icontains=query)
    return organizations.order_by("id")


def organization_get(*, organization_id: int, follow_merges: bool = True) -> Organization:
    return _follow_merges(
        Organization.objects.all(), organization_id, missing="No such organization.", follow=follow_merges
    )
