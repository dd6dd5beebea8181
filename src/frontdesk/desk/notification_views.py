"""The agent's own notifications: the list, opening one (marks it read), marking all read."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from frontdesk.notifications.models import Notification
from frontdesk.notifications.selectors import notifications_for
from frontdesk.notifications.services import notifications_mark_read


def notification_list(request: HttpRequest):
    return render(request, "desk/notifications.html", {
        "desk_section": "notifications", "notifications": notifications_for(agent=request.user),
    })


@require_POST
def notification_open(request: HttpRequest, pk: int):
    # Only the agent's own: someone else's id is a 404, as a missing one.
    notification = get_object_or_404(Notification.objects.select_related("ticket"), pk=pk, agent=request.user)
    notifications_mark_read(agent=request.user, ids=[notification.pk])
    link = notification.link
    if link and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}):
        return redirect(link)
    return redirect("desk:notifications")


@require_POST
def notifications_read_all(request: HttpRequest):
    notifications_mark_read(agent=request.user)
    return redirect("desk:notifications")
