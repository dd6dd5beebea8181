"""Customer and organization pages of the workspace (included by ticket_urls)."""

from django.urls import path

from . import customer_views as views

urlpatterns = [
    path("customers/", views.customer_list, name="customers"),
    path("customers/<int:customer_id>/", views.customer_detail, name="customer"),
    path("customers/<int:customer_id>/edit/", views.customer_edit, name="customer_edit"),
    path("customers/<int:customer_id>/notes/", views.customer_notes, name="customer_notes"),
    path("customers/<int:customer_id>/merge/", views.customer_merge, name="customer_merge"),
    path("organizations/", views.organization_list, name="organizations"),
    path("organizations/<int:organization_id>/", views.organization_detail, name="organization"),
    path("organizations/<int:organization_id>/edit/", views.organization_edit, name="organization_edit"),
    path("organizations/<int:organization_id>/merge/", views.organization_merge, name="organization_merge"),
]
