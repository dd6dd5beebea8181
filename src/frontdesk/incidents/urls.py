"""Incident pages, included into the desk namespace (desk/urls.py) so the desk's sign-in
middleware guards every one of them."""

from django.urls import path

from . import views

urlpatterns = [
    path("incidents/", views.incident_list, name="incidents"),
    path("incidents/<int:incident_id>/", views.incident_detail, name="incident"),
]
