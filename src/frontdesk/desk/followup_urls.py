"""Workspace URLs of the followups app (views in ``followup_views``)."""

from django.urls import path, re_path

from . import followup_views

urlpatterns = [
    path("follow-ups/", followup_views.follow_up_page, name="follow_ups"),
    re_path(r"^follow-ups/(?P<pk>\d+)/(?P<action>done|cancel|reschedule)/$", followup_views.follow_up_action,
            name="follow_up_action"),
    path("settings/follow-ups/", followup_views.followup_settings, name="followup_settings"),
    path("tickets/<str:reference>/follow-ups/", followup_views.ticket_follow_ups, name="ticket_follow_ups"),
    path("tickets/<str:reference>/follow-ups/promise/", followup_views.ticket_promise, name="ticket_promise"),
    path("tickets/<str:reference>/snooze/", followup_views.ticket_snooze, name="ticket_snooze"),
    path("tickets/<str:reference>/solve-confirmed/", followup_views.ticket_solve_confirmed,
         name="ticket_solve_confirmed"),
]
