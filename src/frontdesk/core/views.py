from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
@never_cache
def livez(request):
    """The process answers; touches nothing else (load balancers, baseline benchmark)."""
    return HttpResponse("ok", content_type="text/plain")


@require_GET
def home(request):
    """The site's front door is the customers' help center; agents go to /desk/."""
    return redirect("/help/")
