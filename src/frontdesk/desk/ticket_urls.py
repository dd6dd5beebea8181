"""Ticket pages, attachments, and (through customer_urls) customer and organization pages."""

from django.urls import include, path, re_path

from . import ticket_views

urlpatterns = [
    path("tickets/<str:reference>/", ticket_views.ticket_page, name="ticket"),
    path("tickets/<str:reference>/messages/", ticket_views.ticket_send, name="ticket_send"),
    path("tickets/<str:reference>/messages/new/", ticket_views.ticket_new_messages, name="ticket_new_messages"),
    path("tickets/<str:reference>/presence/", ticket_views.ticket_presence, name="ticket_presence"),
    re_path(
        r"^tickets/(?P<reference>[^/]+)/(?P<change>status|priority|group|assignee|tags)/$",
        ticket_views.ticket_change, name="ticket_change",
    ),
    path("attachments/<str:public_id>/", ticket_views.attachment_download, name="attachment"),
    path("", include("frontdesk.desk.customer_urls")),
]
