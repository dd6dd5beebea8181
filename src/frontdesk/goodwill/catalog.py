"""Catalog and mandate writes (administration): validated here so the API and any other entry
point share the rules. Callers check that the actor is an administrator."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from frontdesk.accounts.models import Agent, Group
from frontdesk.core.errors import InvalidInput, NotFound

from .models import Gesture, Mandate, WebhookEndpoint

_REFERENCES = (("endpoint_id", WebhookEndpoint), ("task_agent_id", Agent), ("task_group_id", Group))


def gesture_save(*, gesture: Gesture, data: dict) -> Gesture:
    """Create (an unsaved ``gesture``) or update a catalog entry from ``data`` (field → value)."""
    data = {**data, "currency": data["currency"].upper()}
    for key, model in _REFERENCES:
        if data.get(key) is not None and not model.objects.filter(pk=data[key]).exists():
            raise InvalidInput(f"{key}: no such object.", code="invalid_reference")
    for key, value in data.items():
        setattr(gesture, key, value)
    try:
        with transaction.atomic():
            gesture.save()
            gesture.refresh_from_db()
    except IntegrityError as exc:
        raise InvalidInput(
            "A gesture needs a unique name, either a fixed value or a min–max range (min ≤ max), "
            "and an endpoint when fulfilled by webhook.", code="invalid_gesture") from exc
    return gesture


def gesture_retire(*, gesture_id: int) -> None:
    """Gestures in the ledger are kept: "deleting" one retires it (``active=False``)."""
    if not Gesture.objects.filter(pk=gesture_id).update(active=False):
        raise NotFound("No such gesture.")


def mandate_create(*, data: dict) -> Mandate:
    data = {**data, "currency": data["currency"].upper()}
    if data["role"] and data["role"] not in ("admin", "agent"):
        raise InvalidInput("role: admin or agent (light agents never grant).", code="invalid_role")
    if data["group_id"] and not Group.objects.filter(pk=data["group_id"]).exists():
        raise InvalidInput("group_id: no such group.", code="invalid_reference")
    if data["agent_id"] and not Agent.objects.filter(pk=data["agent_id"]).exists():
        raise InvalidInput("agent_id: no such agent.", code="invalid_reference")
    try:
        with transaction.atomic():
            mandate = Mandate.objects.create(**data)
            mandate.refresh_from_db()
    except IntegrityError as exc:
        raise InvalidInput("A mandate has exactly one holder (role, group or agent), and each holder "
                           "has at most one mandate.", code="invalid_mandate") from exc
    return mandate


def mandate_delete(*, mandate_id: int) -> None:
    if not Mandate.objects.filter(pk=mandate_id).delete()[0]:
        raise NotFound("No such mandate.")
