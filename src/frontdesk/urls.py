from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from frontdesk.api import api
from frontdesk.core import views as core_views
from frontdesk.health import healthz
from frontdesk.portal import urls as portal_urls

admin.site.site_header = "Frontdesk administration"
admin.site.site_title = "Frontdesk"

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("desk/", include("frontdesk.desk.urls")),
    path("help/", include(portal_urls.help_patterns)),
    path("c/", include(portal_urls.conversation_patterns)),
    path("help/", include("frontdesk.incidents.public_views")),  # /help/status
    path("healthz", healthz, name="healthz"),
    path("livez", core_views.livez, name="livez"),
    # Pages outside our layout (admin, API docs, plain errors) still get the icon browsers ask for.
    path("favicon.ico", RedirectView.as_view(url=static("frontdesk/favicon.svg"), permanent=True)),
    path("", core_views.home, name="home"),
]

handler500 = "frontdesk.core.views.server_error"
