"""Satisfaction in the workspace (frontdesk.csat): a ticket's rating in its side panel, a
customer's ratings in the customer panel and profile. One tag each in the templates."""

from __future__ import annotations

from django import template
from django.core.exceptions import ObjectDoesNotExist

from frontdesk.csat.selectors import ratings_of_customer
from frontdesk.tickets.models import Ticket

register = template.Library()


@register.inclusion_tag("desk/csat/_ticket_rating.html")
def ticket_rating(ticket):
    """The ticket page has checked the agent may see ``ticket``. Its rating and survey (both
    one-to-one with the ticket) in one query."""
    row = (
        Ticket.objects.filter(pk=ticket.pk).select_related("rating", "survey")
        .only("pk", *(f"rating__{name}" for name in RATING_SHOWN), "survey__sent_at", "survey__send_at")
        .first()
    )
    rating = _one_to_one(row, "rating")
    return {"rating": rating, "survey": None if rating else _one_to_one(row, "survey")}


RATING_SHOWN = ("score", "comment", "rated_at", "customer")


def _one_to_one(row, name: str):
    try:
        return getattr(row, name) if row is not None else None
    except ObjectDoesNotExist:
        return None


@register.inclusion_tag("desk/csat/_customer_ratings.html", takes_context=True)
def customer_ratings(context, customer):
    """The customer's latest ratings, of the tickets the signed-in agent may see."""
    return {"ratings": ratings_of_customer(agent=context["request"].user, customer_id=customer.pk)}
