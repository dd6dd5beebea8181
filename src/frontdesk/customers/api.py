"""Customers and organizations: CRUD and merge. Reads for every agent; writes for full
agents; deletes for administrators."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Query, Router, Schema, Status

from frontdesk.accounts.permissions import check_admin, check_full_agent
from frontdesk.core.schemas import StrictIn, id_page

from . import selectors, services
from .models import ContactKind, Customer

router = Router(tags=["customers and organizations"])

Name = Field(default="", max_length=200)
Notes = Field(default="", max_length=20_000)
ContactValues = Field(default_factory=list, max_length=20)


class ContactPointOut(Schema):
    kind: str
    value: str
    is_primary: bool


class CustomerOut(Schema):
    id: int
    name: str
    emails: list[str]
    phones: list[str]
    external_ids: list[str]
    contact_points: list[ContactPointOut]
    organization_id: int | None
    locale: str
    time_zone: str
    address: str
    preferences: dict[str, Any]
    plan: str
    notes: str
    merged_into_id: int | None
    created_at: datetime
    updated_at: datetime


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None


class CustomerIn(StrictIn):
    name: str = Name
    emails: list[str] = ContactValues
    phones: list[str] = ContactValues
    external_ids: list[str] = ContactValues
    organization_id: int | None = None
    locale: str = Field(default="", max_length=20)
    time_zone: str = Field(default="", max_length=64)
    address: str = Field(default="", max_length=2000)
    preferences: dict[str, Any] = Field(default_factory=dict, max_length=100)
    plan: str = Field(default="", max_length=100)
    notes: str = Notes


class CustomerPatch(StrictIn):
    """Only the fields sent change. Contact points listed under ``add_*`` are added."""

    name: str = Name
    add_emails: list[str] = ContactValues
    add_phones: list[str] = ContactValues
    add_external_ids: list[str] = ContactValues
    organization_id: int | None = None
    locale: str = Field(default="", max_length=20)
    time_zone: str = Field(default="", max_length=64)
    address: str = Field(default="", max_length=2000)
    preferences: dict[str, Any] = Field(default_factory=dict, max_length=100)
    plan: str = Field(default="", max_length=100)
    notes: str = Notes


class MergeIn(StrictIn):
    into: int


class OrganizationOut(Schema):
    id: int
    name: str
    external_id: str
    domains: list[str]
    plan: str
    notes: str
    merged_into_id: int | None
    created_at: datetime
    updated_at: datetime


class OrganizationPage(Schema):
    items: list[OrganizationOut]
    next_cursor: str | None


class OrganizationIn(StrictIn):
    name: str = Field(min_length=1, max_length=200)
    external_id: str = Field(default="", max_length=200)
    domains: list[str] = Field(default_factory=list, max_length=50)
    plan: str = Field(default="", max_length=100)
    notes: str = Notes


class OrganizationPatch(StrictIn):
    name: str = Field(default="", min_length=1, max_length=200)
    external_id: str = Field(default="", max_length=200)
    domains: list[str] = Field(default_factory=list, max_length=50)
    plan: str = Field(default="", max_length=100)
    notes: str = Notes


def customer_out(customer: Customer) -> dict:
    points = list(customer.contact_points.all())
    by_kind = {kind: [p.value for p in points if p.kind == kind] for kind in ContactKind.values}
    return {
        "id": customer.pk, "name": customer.name,
        "emails": by_kind[ContactKind.EMAIL], "phones": by_kind[ContactKind.PHONE],
        "external_ids": by_kind[ContactKind.EXTERNAL],
        "contact_points": [{"kind": p.kind, "value": p.value, "is_primary": p.is_primary} for p in points],
        "organization_id": customer.organization_id, "locale": customer.locale,
        "time_zone": customer.time_zone, "address": customer.address,
        "preferences": customer.preferences, "plan": customer.plan, "notes": customer.notes,
        "merged_into_id": customer.merged_into_id,
        "created_at": customer.created_at, "updated_at": customer.updated_at,
    }


def _with_organization(fields: dict) -> dict:
    """Swap ``organization_id`` for the organization (404 if it does not exist)."""
    if "organization_id" in fields:
        org_id = fields.pop("organization_id")
        fields["organization"] = (
            selectors.organization_get(organization_id=org_id) if org_id is not None else None
        )
    return fields


@router.get("/customers", response=CustomerPage)
def list_customers(request, q: str = "", organization_id: int | None = None,
                   cursor: str | None = None, limit: int = Query(25, ge=1, le=100)):
    rows, next_cursor = id_page(
        selectors.customer_list(query=q[:200], organization_id=organization_id),
        cursor=cursor, limit=limit,
    )
    return {"items": [customer_out(c) for c in rows], "next_cursor": next_cursor}


@router.post("/customers", response={201: CustomerOut})
def create_customer(request, payload: CustomerIn):
    check_full_agent(request.auth)
    customer = services.customer_create(**_with_organization(payload.model_dump()))
    return Status(201, customer_out(selectors.customer_get(customer_id=customer.pk)))


@router.get("/customers/{customer_id}", response=CustomerOut)
def get_customer(request, customer_id: int):
    return customer_out(selectors.customer_get(customer_id=customer_id))


@router.patch("/customers/{customer_id}", response=CustomerOut)
def update_customer(request, customer_id: int, payload: CustomerPatch):
    check_full_agent(request.auth)
    customer = selectors.customer_get(customer_id=customer_id)
    changes = _with_organization(payload.model_dump(exclude_unset=True))
    services.customer_update(customer=customer, **changes)
    return customer_out(selectors.customer_get(customer_id=customer.pk))


@router.delete("/customers/{customer_id}", response={204: None})
def delete_customer(request, customer_id: int):
    check_admin(request.auth)
    services.customer_delete(customer=selectors.customer_get(customer_id=customer_id))
    return Status(204, None)


@router.post("/customers/{customer_id}/merge", response=CustomerOut)
def merge_customer(request, customer_id: int, payload: MergeIn):
    check_full_agent(request.auth)
    source = selectors.customer_get(customer_id=customer_id, follow_merges=False)
    target = selectors.customer_get(customer_id=payload.into, follow_merges=False)
    services.customer_merge(source=source, target=target)
    return customer_out(selectors.customer_get(customer_id=target.pk))


@router.get("/organizations", response=OrganizationPage)
def list_organizations(request, q: str = "", cursor: str | None = None,
                       limit: int = Query(25, ge=1, le=100)):
    rows, next_cursor = id_page(selectors.organization_list(query=q[:200]), cursor=cursor, limit=limit)
    return {"items": rows, "next_cursor": next_cursor}


@router.post("/organizations", response={201: OrganizationOut})
def create_organization(request, payload: OrganizationIn):
    check_full_agent(request.auth)
    return Status(201, services.organization_create(**payload.model_dump()))


@router.get("/organizations/{organization_id}", response=OrganizationOut)
def get_organization(request, organization_id: int):
    return selectors.organization_get(organization_id=organization_id)


@router.patch("/organizations/{organization_id}", response=OrganizationOut)
def update_organization(request, organization_id: int, payload: OrganizationPatch):
    check_full_agent(request.auth)
    organization = selectors.organization_get(organization_id=organization_id)
    return services.organization_update(
        organization=organization, **payload.model_dump(exclude_unset=True)
    )


@router.delete("/organizations/{organization_id}", response={204: None})
def delete_organization(request, organization_id: int):
    check_admin(request.auth)
    services.organization_delete(
        organization=selectors.organization_get(organization_id=organization_id)
    )
    return Status(204, None)


@router.post("/organizations/{organization_id}/merge", response=OrganizationOut)
def merge_organization(request, organization_id: int, payload: MergeIn):
    check_full_agent(request.auth)
    source = selectors.organization_get(organization_id=organization_id, follow_merges=False)
    target = selectors.organization_get(organization_id=payload.into, follow_merges=False)
    return services.organization_merge(source=source, target=target)
