"""Workspace pages: thin views over selectors and services."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required(login_url="desk:login")
def inbox(request, slug: str = "mine"):
    return render(request, "desk/layout.html", {"desk_section": "inbox"})


@login_required(login_url="desk:login")
def search(request):
    return render(request, "desk/layout.html", {"search_query": request.GET.get("q", "")})
