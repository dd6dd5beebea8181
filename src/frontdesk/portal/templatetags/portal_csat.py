"""The conversation page's satisfaction prompt (frontdesk.csat), as one tag in the template."""

from __future__ import annotations

from django import template

from frontdesk.csat.models import MAX_COMMENT_CHARS
from frontdesk.csat.selectors import rating_for_ticket
from frontdesk.csat.services import RATABLE

register = template.Library()


@register.inclusion_tag("portal/_rating_prompt.html", takes_context=True)
def rating_prompt(context, ticket):
    """"How did we do? Good / Bad" once ``ticket`` is solved (or closed), with the current
    rating, changeable. The page's own access check has already let the requester in."""
    ratable = ticket.status in RATABLE and not ticket.merged_into_id
    return {
        "ticket": ticket, "ratable": ratable, "csrf_token": context.get("csrf_token"),
        "rating": rating_for_ticket(ticket=ticket) if ratable else None, "max_comment": MAX_COMMENT_CHARS,
    }
