"""The workspace's door: every view in the ``desk`` namespace needs a signed-in, active agent
who has passed two-factor sign-in when they have (or must have) an authenticator.

A middleware rather than a decorator per view, so no workspace page can forget it. Views that
must stay reachable before that (sign-in, the code step, enrolment, sign-out) carry
``desk_public`` and check who is asking themselves.

It also shows the workspace in the agent's time zone: for a signed-in agent's page it
activates ``Agent.zone`` (theirs, else ``FRONTDESK_TIME_ZONE``), so ``|date`` and
``localtime`` render there and form inputs are read there; deactivated after every request.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from .two_factor import has_totp_device, two_factor_required


def desk_public(view):
    """Reachable without signing in (the sign-in pages themselves)."""
    view.desk_public = True
    return view


def _redirect(request, url: str):
    if getattr(request, "htmx", False):
        # An htmx swap would put the login page inside the inbox: send the whole page there.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


class DeskAccessMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()  # the next request on this thread starts from the default

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or "desk" not in match.namespaces or getattr(view_func, "desk_public", False):
            return None
        user = request.user
        if not user.is_authenticated or not user.is_active:  # inactive sessions are dropped by auth
            login_url = reverse("desk:login")
            return _redirect(request, f"{login_url}?{urlencode({'next': request.get_full_path()})}")
        if user.is_verified():
            timezone.activate(user.zone)
            return None
        # Signed in with a password only (e.g. through /admin/login/): the code step first.
        if has_totp_device(user):
            url = reverse("desk:login_verify")
            return _redirect(request, f"{url}?{urlencode({'next': request.get_full_path()})}")
        if two_factor_required(user):
            return _redirect(request, reverse("desk:two_factor"))
        timezone.activate(user.zone)
        return None
