from django.urls import include, path

from . import auth_views, notification_views, views

app_name = "desk"

urlpatterns = [
    path("login/", auth_views.login_view, name="login"),
    path("login/verify/", auth_views.login_verify, name="login_verify"),
    path("logout/", auth_views.logout_view, name="logout"),
    path("account/", auth_views.account, name="account"),
    path("account/password/", auth_views.password_change, name="password_change"),
    path("account/two-factor/", auth_views.two_factor, name="two_factor"),
    path("", views.inbox, name="inbox"),
    path("views/<slug:slug>/", views.inbox, name="view"),
    path("views/", views.view_save, name="view_save"),
    path("views/<slug:slug>/delete/", views.view_delete, name="view_delete"),
    path("bulk/", views.bulk, name="bulk"),
    path("search/", views.search, name="search"),
    path("reports/", views.reports, name="reports"),
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("notifications/read/", notification_views.notifications_read_all, name="notifications_read_all"),
    path("notifications/<int:pk>/", notification_views.notification_open, name="notification_open"),
    path("", include("frontdesk.goodwill.urls")),
    path("", include("frontdesk.desk.followup_urls")),
    path("", include("frontdesk.desk.ticket_urls")),
    path("", include("frontdesk.desk.csat_urls")),
    path("", include("frontdesk.sla.urls")),
    path("", include("frontdesk.incidents.urls")),
]
