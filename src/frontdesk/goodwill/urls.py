"""Goodwill pages, included into the desk namespace (desk/urls.py) so the desk's sign-in
middleware guards every one of them."""

from django.urls import path

from . import views

urlpatterns = [
    path("tickets/<str:reference>/goodwill/", views.ticket_panel, name="goodwill_ticket"),
    path("customers/<int:customer_id>/goodwill/", views.customer_panel, name="goodwill_customer"),
    path("approvals/", views.approvals, name="goodwill_approvals"),
    path("approvals/<int:grant_id>/decide/", views.approval_decide, name="goodwill_decide"),
    path("approvals/link/<str:token>/", views.approval_link, name="goodwill_link"),
    path("goodwill/attention/", views.attention, name="goodwill_attention"),
    path("goodwill/attention/<int:grant_id>/", views.attention_act, name="goodwill_attention_act"),
    path("goodwill/reports/", views.report_page, name="goodwill_reports"),
]
