from django.urls import include, path

from . import auth_views, views

app_name = "desk"

urlpatterns = [
    path("login/", auth_views.login_view, name="login"),
    path("logout/", auth_views.logout_view, name="logout"),
    path("account/", auth_views.account, name="account"),
    path("", views.inbox, name="inbox"),
    path("views/<slug:slug>/", views.inbox, name="view"),
    path("search/", views.search, name="search"),
    path("", include("frontdesk.desk.ticket_urls")),
]
