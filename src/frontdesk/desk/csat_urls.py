"""Satisfaction pages of the workspace (included by desk/urls.py)."""

from django.urls import path

from . import csat_views

urlpatterns = [
    path("reports/csat/", csat_views.csat_report_page, name="csat_report"),
    path("settings/csat/", csat_views.csat_settings_page, name="csat_settings"),
]
