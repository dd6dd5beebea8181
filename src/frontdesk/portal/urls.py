"""Routes of the customer side, mounted by frontdesk/urls.py under /help/ and /c/."""

from django.urls import path

from . import survey_views, views

help_patterns = [
    path("", views.help_page, name="portal-help"),
    path("sent/", views.help_sent, name="portal-help-sent"),
]

conversation_patterns = [
    path("new-link/", views.link_request, name="portal-link-request"),
    path("new-link/sent/", views.link_requested, name="portal-link-requested"),
    path("t/<str:reference>/", views.conversation, name="portal-conversation"),
    path("t/<str:reference>/reply/", views.conversation_reply, name="portal-conversation-reply"),
    path("t/<str:reference>/solve/", views.conversation_solve, name="portal-conversation-solve"),
    path("t/<str:reference>/reopen/", views.conversation_reopen, name="portal-conversation-reopen"),
    path("t/<str:reference>/rating/", survey_views.conversation_rate, name="portal-conversation-rate"),
    path("rate/<str:token>/", survey_views.survey_link, name="portal-survey"),
    path("t/<str:reference>/files/<str:public_id>/", views.conversation_attachment,
         name="portal-conversation-attachment"),
    # Last: a token is anything else. Signed tokens contain ':' but never '/'.
    path("<str:token>/", views.conversation_enter, name="portal-conversation-enter"),
]
