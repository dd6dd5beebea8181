"""Sign-in, sign-out, password and two-factor pages of the workspace.

Sign-in is two steps for agents with an authenticator: the password step only records a
short-lived *pending* agent in the session; ``auth.login`` happens after the code step. So a
half-signed-in browser holds no authenticated session at all (for the pages or the API).
"""

from __future__ import annotations

import time

from django import forms
from django.contrib import auth, messages
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.http import HttpRequest
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from frontdesk.accounts.models import Agent
from frontdesk.accounts.services import agent_set_time_zone
from frontdesk.core.errors import DomainError

from .account_forms import TimeZoneForm
from .middleware import desk_public
from .throttle import Throttled, login_failure_record, login_failures_clear, login_throttle_check
from .two_factor import (
    totp_device_confirm,
    totp_device_confirmed,
    totp_device_remove,
    totp_device_start,
    totp_qr_data_uri,
    totp_secret,
    totp_verify,
    two_factor_required,
)

PENDING_KEY = "desk_pending_sign_in"
PENDING_SECONDS = 5 * 60


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code from your authenticator app", max_length=12,
        widget=forms.TextInput(attrs={
            "autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True,
            "pattern": "[0-9 ]*",
        }),
    )


def _next_url(request: HttpRequest, candidate: str | None) -> str:
    """Where to go after signing in: a same-site path only (an off-site ``next`` is ignored)."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ) and candidate.startswith("/") and not candidate.startswith("//"):
        return candidate
    return resolve_url("desk:inbox")


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _throttled(request, template: str, context: dict, wait: Throttled):
    context["throttled_minutes"] = wait.minutes
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(wait.retry_after)
    return response


def _pending_agent(request: HttpRequest) -> tuple[Agent | None, dict]:
    pending = request.session.get(PENDING_KEY) or {}
    if not pending or pending.get("at", 0) < time.time() - PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None, {}
    agent = Agent.objects.filter(pk=pending.get("agent"), is_active=True).first()
    return agent, pending


def _complete_sign_in(request: HttpRequest, agent: Agent, device, next_url: str | None):
    """Log in (when only pending) and mark the session as verified by ``device``."""
    request.session.pop(PENDING_KEY, None)
    if not request.user.is_authenticated or request.user.pk != agent.pk:
        auth.login(request, agent, backend="django.contrib.auth.backends.ModelBackend")
    if device is not None:
        otp_login(request, device)
    return redirect(_next_url(request, next_url))


@desk_public
@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request):
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.user.is_authenticated and request.user.is_verified():
        return redirect(_next_url(request, next_url))
    form = AuthenticationForm(request, data=request.POST or None)
    form.fields["username"].label = "Email"
    form.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})
    context = {"form": form, "next": next_url}
    if request.method != "POST":
        return render(request, "desk/login.html", context)
    username = request.POST.get("username", "")
    try:
        login_throttle_check(username=username, ip=_client_ip(request))
    except Throttled as wait:
        return _throttled(request, "desk/login.html", context, wait)
    if not form.is_valid():
        login_failure_record(username=username, ip=_client_ip(request))
        return render(request, "desk/login.html", context, status=200)
    agent = form.get_user()
    login_failures_clear(username=username)
    if totp_device_confirmed(agent) is None and not two_factor_required(agent):
        return _complete_sign_in(request, agent, None, next_url)
    request.session.cycle_key()
    request.session[PENDING_KEY] = {"agent": agent.pk, "at": time.time(), "next": next_url}
    if totp_device_confirmed(agent) is not None:
        return redirect("desk:login_verify")
    return redirect("desk:two_factor")


@desk_public
@csrf_protect
@never_cache
def login_verify(request):
    """The second step: a code from the agent's authenticator."""
    agent, pending = _pending_agent(request)
    next_url = pending.get("next") or request.GET.get("next") or ""
    if agent is None and request.user.is_authenticated:
        if request.user.is_verified() or totp_device_confirmed(request.user) is None:
            return redirect(_next_url(request, next_url))
        agent = request.user  # signed in with a password elsewhere (admin): the code step still
    if agent is None:
        return redirect("desk:login")
    form = CodeForm(request.POST or None)
    context = {"form": form, "agent": agent}
    if request.method == "POST" and form.is_valid():
        try:
            login_throttle_check(username=agent.email, ip=_client_ip(request))
            device = totp_verify(agent=agent, code=form.cleaned_data["code"])
        except Throttled as wait:
            return _throttled(request, "desk/login_verify.html", context, wait)
        except DomainError as error:
            login_failure_record(username=agent.email, ip=_client_ip(request))
            form.add_error("code", error.detail)
        else:
            login_failures_clear(username=agent.email)
            return _complete_sign_in(request, agent, device, next_url)
    return render(request, "desk/login_verify.html", context)


@desk_public
@require_POST
def logout_view(request):
    auth.logout(request)
    messages.success(request, "You are signed out.")
    return redirect("desk:login")


def account(request):
    form = TimeZoneForm(request.POST or None, initial={"time_zone": request.user.time_zone})
    if request.method == "POST" and form.is_valid():
        agent_set_time_zone(agent=request.user, time_zone=form.cleaned_data["time_zone"])
        messages.success(request, "Time zone saved.")
        return redirect("desk:account")
    return render(request, "desk/account.html", {
        "device": totp_device_confirmed(request.user),
        "required": two_factor_required(request.user),
        "time_zone_form": form,
    })


@sensitive_post_parameters()
def password_change(request):
    """Changing the password signs out every other session of this agent (their session hash
    no longer matches) and keeps this one."""
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        agent = form.save()
        auth.update_session_auth_hash(request, agent)
        messages.success(request, "Password changed. Your other sessions are signed out.")
        return redirect("desk:account")
    return render(request, "desk/password_change.html", {"form": form})


@desk_public
@csrf_protect
@never_cache
def two_factor(request):
    """Set up an authenticator (or, when set up, turn it off). Reached from the account page,
    or straight after the password step when two-factor sign-in is required but missing."""
    pending_agent, pending = _pending_agent(request)
    if request.user.is_authenticated:
        agent = request.user
        if totp_device_confirmed(agent) is not None and not agent.is_verified():
            return redirect("desk:login_verify")
    elif pending_agent is not None:
        agent = pending_agent
    else:
        return redirect("desk:login")
    device = totp_device_confirmed(agent)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        try:
            login_throttle_check(username=agent.email, ip=_client_ip(request))
            if device is None:
                device = totp_device_confirm(agent=agent, code=code)
                messages.success(request, "Two-factor sign-in is on.")
                return _complete_sign_in(request, agent, device, pending.get("next") or reverse("desk:account"))
            if request.POST.get("action") == "remove":
                totp_device_remove(agent=agent, code=code)
                messages.success(request, "Two-factor sign-in is off.")
                return redirect("desk:account")
        except Throttled as wait:
            return _throttled(request, "desk/two_factor.html", {"form": form, "agent": agent}, wait)
        except DomainError as error:
            login_failure_record(username=agent.email, ip=_client_ip(request))
            form.add_error("code", error.detail)
    context = {"form": form, "agent": agent, "device": device, "required": two_factor_required(agent),
               "pending": not request.user.is_authenticated}
    if device is None:
        pending_device = totp_device_start(agent=agent)
        context.update(qr=totp_qr_data_uri(pending_device), secret=totp_secret(pending_device))
    return render(request, "desk/two_factor.html", context)
