from django.apps import AppConfig


class CsatConfig(AppConfig):
    name = "frontdesk.csat"
    label = "csat"
    verbose_name = "Customer satisfaction"
