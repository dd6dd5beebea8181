"""Satisfaction in the workspace (frontdesk.csat): a ticket's rating in its side panel, a
customer's ratings in the customer panel and profile. One tag each in the templates."""

from __future__ import annotations

from django import template

from frontdesk.csat.models import Survey
from frontdesk.csat.selectors import rating_for_ticket, ratings_of_customer

register = template.Library()


@register.inclusion_tag("desk/csat/_ticket_rating.html")
def ticket_rating(ticket):
    """The ticket page has checked the agent may see ``ticket``."""
    rating = rating_for_ticket(ticket=ticket)
    survey = None if rating else Survey.objects.filter(ticket=ticket).only("sent_at", "send_at").first()
    return {"rating": rating, "survey": survey}


@register.inclusion_tag("desk/csat/_customer_ratings.html", takes_context=True)
def customer_ratings(context, customer):
    """The customer's latest ratings, of the tickets the signed-in agent may see."""
    return {"ratings": ratings_of_customer(agent=context["request"].user, customer_id=customer.pk)}
