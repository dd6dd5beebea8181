from django import template

from frontdesk.notifications.selectors import UNREAD_COUNT_CAP, unread_count

register = template.Library()


@register.inclusion_tag("desk/_notifications_link.html", takes_context=True)
def notifications_link(context):
    """The header's bell: the signed-in agent's unread count (one capped, indexed count)."""
    request = context["request"]
    count = unread_count(agent=request.user) if request.user.is_authenticated else 0
    label = f"{UNREAD_COUNT_CAP}+" if count > UNREAD_COUNT_CAP else str(count)
    return {"count": count, "label": label, "current": context.get("desk_section") == "notifications"}
