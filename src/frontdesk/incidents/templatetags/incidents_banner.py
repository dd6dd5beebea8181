"""The ticket page's incident banner: ``{% load incidents_banner %}{% incident_banner ticket %}``.

Two queries whatever the ticket (its links with their incidents; the open incidents a full
agent could link it to), so the ticket page's query count stays flat."""

from __future__ import annotations

from django import template

from frontdesk.incidents.models import Incident, IncidentStatus
from frontdesk.incidents.selectors import incident_links_for_ticket

register = template.Library()


@register.inclusion_tag("incidents/_ticket_banner.html", takes_context=True)
def incident_banner(context, ticket):
    """The ticket page has checked the agent may see ``ticket``."""
    agent = context["request"].user
    links = incident_links_for_ticket(ticket=ticket)
    can_write = agent.is_active and not agent.is_light
    linked = {link.incident_id for link in links}
    choices = [incident for incident in open_incidents() if incident.pk not in linked] if can_write else []
    return {"ticket": ticket, "links": links, "can_write": can_write, "choices": choices,
            "csrf_token": context.get("csrf_token"), "return_to": context["request"].get_full_path()}


@register.simple_tag
def open_incidents():
    """Incidents a selection can be linked to (the inbox's and search page's bulk bars)."""
    open_ones = Incident.objects.exclude(status=IncidentStatus.RESOLVED).only("pk", "title")
    return list(open_ones.order_by("-started_at")[:50])
