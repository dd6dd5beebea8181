from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "frontdesk.incidents"
    label = "incidents"
    verbose_name = "Incidents"
