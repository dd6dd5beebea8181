"""SLA pages in the workspace; included from frontdesk/desk/urls.py (the ``desk`` namespace)."""

from django.urls import path

from . import views

urlpatterns = [
    path("tickets/<str:reference>/sla/", views.ticket_sla_panel, name="ticket_sla"),
    path("tickets/<str:reference>/sla/expedite/", views.ticket_expedite, name="ticket_expedite"),
    path("reports/sla/", views.report_page, name="sla_report"),
    path("reports/sla/expedited.csv", views.expedites_csv, name="sla_expedites_csv"),
]
