"""Sign-in, sign-out, password and two-factor pages of the workspace."""

from django.contrib import auth
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

login_view = LoginView.as_view(template_name="desk/login.html", redirect_authenticated_user=True)


@require_POST
def logout_view(request):
    auth.logout(request)
    return redirect("desk:login")


def account(request):
    return render(request, "desk/layout.html", {})
