"""Incident pages, included into the desk namespace (desk/urls.py) so the desk's sign-in
middleware guards every one of them."""

from django.urls import path

from . import views, views_affected

urlpatterns = [
    path("incidents/", views.incident_list, name="incidents"),
    path("incidents/new/", views.incident_new, name="incident_new"),
    path("incidents/<int:incident_id>/", views.incident_detail, name="incident"),
    path("incidents/<int:incident_id>/edit/", views.incident_edit, name="incident_edit"),
    path("incidents/<int:incident_id>/status/", views.incident_status, name="incident_status"),
    path("incidents/<int:incident_id>/link/", views.incident_link, name="incident_link"),
    path("incidents/<int:incident_id>/unlink/<str:reference>/", views.incident_unlink, name="incident_unlink"),
    path("incidents/<int:incident_id>/exclude/<str:reference>/", views.incident_exclude, name="incident_exclude"),
    path("incidents/<int:incident_id>/suggestions/", views.incident_suggestions_panel, name="incident_suggestions"),
    path("incidents/<int:incident_id>/affected/", views_affected.affected_panel, name="incident_affected"),
    path("incidents/<int:incident_id>/affected/add/", views_affected.affected_add, name="incident_affected_add"),
    path("incidents/<int:incident_id>/affected/organization/", views_affected.affected_add_organization,
         name="incident_affected_organization"),
    path("incidents/<int:incident_id>/imports/", views_affected.import_upload, name="incident_import_upload"),
    path("incidents/<int:incident_id>/imports/<uuid:public_id>/", views_affected.import_page, name="incident_import"),
    path("incidents/<int:incident_id>/imports/<uuid:public_id>/decide/", views_affected.import_decide,
         name="incident_import_decide"),
    path("tickets/<str:reference>/incident/", views.ticket_link, name="ticket_incident_link"),
    path("incidents/choices/", views.incident_choices, name="incident_choices"),
]

# reach: updates, the incident gesture, resolution (views_reach.py)
from . import views_reach  # noqa: E402

urlpatterns += [
    path("incidents/<int:incident_id>/updates/", views_reach.updates_panel, name="incident_updates"),
    path("incidents/<int:incident_id>/updates/post/", views_reach.update_post, name="incident_update_post"),
    path("incidents/<int:incident_id>/gesture/", views_reach.gesture_panel, name="incident_gesture"),
    path("incidents/<int:incident_id>/gesture/<str:action>/", views_reach.gesture_action,
         name="incident_gesture_action"),
    path("incidents/<int:incident_id>/resolve/", views_reach.resolve_panel, name="incident_resolve"),
    path("incidents/<int:incident_id>/resolve/post/", views_reach.resolve, name="incident_resolve_post"),
]
