from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    name = "frontdesk.calendars"
    label = "calendars"
    verbose_name = "Business calendars"
