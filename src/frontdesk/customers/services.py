"""Writes on customers and organizations."""

from __future__ import annotations

import operator
import re
import zoneinfo
from collections.abc import Iterable
from functools import reduce

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from frontdesk.core.errors import Conflict, InvalidInput

from .models import ContactKind, ContactPoint, Customer, Organization

CUSTOMER_FIELDS = {"name", "organization", "locale", "time_zone", "address", "preferences",
                   "plan", "notes"}
ORGANIZATION_FIELDS = {"name", "external_id", "domains", "plan", "notes"}


def normalize_contact(*, kind: str, value: str) -> str:
    value = value.strip()
    if kind == ContactKind.EMAIL:
        value = value.lower()
        try:
            validate_email(value)
        except ValidationError as exc:
            raise InvalidInput(f"{value!r} is not a valid email address.") from exc
    elif kind == ContactKind.PHONE:
        digits = re.sub(r"[^\d+]", "", value)
        if not re.fullmatch(r"\+?\d{4,20}", digits):
            raise InvalidInput(f"{value!r} is not a valid phone number.")
        value = digits
    elif kind == ContactKind.EXTERNAL:
        if not value:
            raise InvalidInput("An external id cannot be empty.")
    else:
        raise InvalidInput(f"Unknown contact kind {kind!r}.")
    return value


def check_customer_fields(fields: dict) -> None:
    if unknown := set(fields) - CUSTOMER_FIELDS:
        raise InvalidInput(f"Unknown customer fields: {', '.join(sorted(unknown))}.")
    if tz := fields.get("time_zone"):
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput(f"Unknown time zone {tz!r}.", code="invalid_time_zone") from exc
    if "preferences" in fields and not isinstance(fields["preferences"], dict):
        raise InvalidInput("Preferences must be an object of key/value pairs.")


def _contact_points(
    emails: Iterable[str], phones: Iterable[str], external_ids: Iterable[str]
) -> list[tuple[str, str]]:
    points = []
    for kind, values in (
        (ContactKind.EMAIL, emails), (ContactKind.PHONE, phones), (ContactKind.EXTERNAL, external_ids)
    ):
        for value in values:
            normalized = normalize_contact(kind=kind, value=value)
            if (kind, normalized) not in points:
                points.append((kind, normalized))
    return points


def _add_contact_points(customer: Customer, points: list[tuple[str, str]], *, new: bool = False) -> None:
    """Attach new contact points; the first of each kind becomes primary. A value that
    belongs to another customer is a conflict (merge the customers instead). For a ``new``
    customer the unique constraint alone detects that (no lookups: it has no points yet)."""
    if new:
        ContactPoint.objects.bulk_create([
            ContactPoint(customer=customer, kind=kind, value=value,
                         is_primary=all(k != kind for k, _ in points[:index]))
            for index, (kind, value) in enumerate(points)
        ])
        return
    kinds_with_primary = set(
        customer.contact_points.filter(is_primary=True).values_list("kind", flat=True)
    )
    for kind, value in points:
        owner = ContactPoint.objects.filter(kind=kind, value=value).values_list("customer_id", flat=True).first()
        if owner is not None and owner != customer.pk:
            raise Conflict(f"{value} already belongs to customer {owner}.", code="contact_point_taken")
        if owner is None:
            ContactPoint.objects.create(
                customer=customer, kind=kind, value=value, is_primary=kind not in kinds_with_primary
            )
            kinds_with_primary.add(kind)


@transaction.atomic
def customer_create(
    *,
    name: str = "",
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    external_ids: Iterable[str] = (),
    **fields,
) -> Customer:
    check_customer_fields(fields)
    points = _contact_points(emails, phones, external_ids)
    customer = Customer.objects.create(name=name.strip(), **fields)
    try:
        with transaction.atomic():
            _add_contact_points(customer, points, new=True)
    except IntegrityError as exc:  # an address of another customer (merge them instead)
        taken = ContactPoint.objects.filter(
            reduce(operator.or_, (models.Q(kind=kind, value=value) for kind, value in points))
        ).exclude(customer=customer).first()
        detail = f"{taken.value} already belongs to customer {taken.customer_id}." if taken else (
            "A contact point of this customer was just taken.")
        raise Conflict(detail, code="contact_point_taken") from exc
    return customer


@transaction.atomic
def customer_update(
    *,
    customer: Customer,
    add_emails: Iterable[str] = (),
    add_phones: Iterable[str] = (),
    add_external_ids: Iterable[str] = (),
    **fields,
) -> Customer:
    check_customer_fields(fields)
    for field, value in fields.items():
        setattr(customer, field, value.strip() if field == "name" else value)
    customer.save()
    _add_contact_points(customer, _contact_points(add_emails, add_phones, add_external_ids))
    return customer


def customer_get_or_create_by_email(*, email: str, name: str = "") -> Customer:
    """The customer owning this address (following merges), or a new one."""
    return email_point_get_or_create(email=email, name=name).customer


def email_point_get_or_create(*, email: str, name: str = "") -> ContactPoint:
    """The contact point of this address with its customer, created with a new customer if
    unknown. The mail pipeline needs both: who wrote, and whether we may write back."""
    email = normalize_contact(kind=ContactKind.EMAIL, value=email)
    return email_points_get_or_create(emails={email: name})[email]


def email_points_get_or_create(*, emails: dict[str, str]) -> dict[str, ContactPoint]:
    """``email_point_get_or_create`` for many addresses (``{address: display name}``, addresses
    already normalised by ``normalize_contact``): one query when all are known, a few bulk
    inserts for the new ones. Keyed by address."""
    if not emails:
        return {}
    points = ContactPoint.objects.select_related("customer").filter(kind=ContactKind.EMAIL)
    found = {point.value: point for point in points.filter(value__in=list(emails))}
    if missing := [email for email in emails if email not in found]:
        try:
            with transaction.atomic():
                found.update(_create_email_customers({email: emails[email] for email in missing}))
        except IntegrityError:  # some were created concurrently: one at a time, taking theirs
            for email in missing:
                try:
                    with transaction.atomic():
                        found.update(_create_email_customers({email: emails[email]}))
                except IntegrityError:
                    pass
            taken = [email for email in missing if email not in found]
            found.update({point.value: point for point in points.filter(value__in=taken)} if taken else {})
    return found


def _create_email_customers(emails: dict[str, str]) -> dict[str, ContactPoint]:
    """A new customer per address, that address its primary email → the new points, with
    their customers (as written: nothing to read back)."""
    customers = Customer.objects.bulk_create([Customer(name=name.strip()[:200]) for name in emails.values()])
    points = ContactPoint.objects.bulk_create([
        ContactPoint(customer=customer, kind=ContactKind.EMAIL, value=email, is_primary=True)
        for customer, email in zip(customers, emails, strict=True)
    ])
    return {point.value: point for point in points}


def contact_point_mark_undeliverable(*, email: str) -> int:
    """A permanent bounce: no more automatic mail to this address until it is fixed."""
    return ContactPoint.objects.filter(
        kind=ContactKind.EMAIL, value=email.strip().lower(), undeliverable_since__isnull=True
    ).update(undeliverable_since=timezone.now())


def _repoint_references(model: type[models.Model], *, source, target) -> None:
    """Point every foreign key and many-to-many link to ``source`` at ``target`` instead.

    Generic over ``_meta.related_objects`` so that apps built on top (tickets, goodwill…)
    follow a merge without this app importing them. A many-to-many link moves by its through
    row; where the owner already links ``target`` too, the source's row goes (no duplicates).
    """
    for relation in model._meta.related_objects:
        if relation.related_model is model:
            continue
        if relation.one_to_many:
            relation.related_model._base_manager.filter(**{relation.field.name: source}).update(
                **{relation.field.name: target}
            )
        elif relation.many_to_many:
            through = relation.through._base_manager
            to_us, owner = relation.field.m2m_reverse_field_name(), relation.field.m2m_field_name()
            linked_to_target = through.filter(**{to_us: target}).values(owner)
            through.filter(**{to_us: source, f"{owner}__in": linked_to_target}).delete()
            through.filter(**{to_us: source}).update(**{to_us: target})


@transaction.atomic
def customer_merge(*, source: Customer, target: Customer) -> Customer:
    """Fold ``source`` into ``target``: contact points, tickets and history move; source remains
    as a pointer so old links resolve."""
    if source.pk == target.pk:
        raise InvalidInput("A customer cannot be merged into itself.")
    if source.merged_into_id or target.merged_into_id:
        raise Conflict("One of these customers was already merged.", code="already_merged")
    _repoint_references(Customer, source=source, target=target)
    for field in ("locale", "time_zone", "address", "plan", "organization"):
        if not getattr(target, field) and getattr(source, field):
            setattr(target, field, getattr(source, field))
    target.preferences = {**source.preferences, **target.preferences}
    if source.notes:
        target.notes = "\n\n".join(filter(None, [target.notes, source.notes]))
    target.save()
    Customer.objects.filter(pk=source.pk).update(merged_into=target)
    source.refresh_from_db()
    return target


def customer_delete(*, customer: Customer) -> None:
    try:
        with transaction.atomic():
            customer.delete()
    except models.ProtectedError as exc:
        raise Conflict(
            "This customer has tickets; merge them into another customer instead.",
            code="customer_has_tickets",
        ) from exc


def check_organization_fields(fields: dict) -> None:
    if unknown := set(fields) - ORGANIZATION_FIELDS:
        raise InvalidInput(f"Unknown organization fields: {', '.join(sorted(unknown))}.")
    if "name" in fields and not str(fields["name"]).strip():
        raise InvalidInput("An organization needs a name.")
    if "domains" in fields:
        fields["domains"] = sorted({d.strip().lower() for d in fields["domains"] if d.strip()})


def organization_create(*, name: str, **fields) -> Organization:
    fields["name"] = name.strip()
    check_organization_fields(fields)
    return Organization.objects.create(**fields)


def organization_update(*, organization: Organization, **fields) -> Organization:
    check_organization_fields(fields)
    for field, value in fields.items():
        setattr(organization, field, value)
    organization.save()
    return organization


@transaction.atomic
def organization_merge(*, source: Organization, target: Organization) -> Organization:
    if source.pk == target.pk:
        raise InvalidInput("An organization cannot be merged into itself.")
    if source.merged_into_id or target.merged_into_id:
        raise Conflict("One of these organizations was already merged.", code="already_merged")
    _repoint_references(Organization, source=source, target=target)
    target.domains = sorted(set(target.domains) | set(source.domains))
    target.save()
    Organization.objects.filter(pk=source.pk).update(merged_into=target)
    return target


def organization_delete(*, organization: Organization) -> None:
    """Delete an organization; its customers stay, without an organization."""
    organization.delete()
