from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The customer side: the contact page and form, signed conversation pages."""

    name = "frontdesk.portal"
    label = "portal"
    verbose_name = "Customer portal"
