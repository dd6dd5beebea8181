from django.apps import AppConfig


class DeskConfig(AppConfig):
    """The agent workspace: login, layout and navigation, the inbox, search, ticket pages."""

    name = "frontdesk.desk"
    label = "desk"
    verbose_name = "Agent workspace"

    def ready(self) -> None:
        from .people import connect_invalidation

        connect_invalidation()  # the per-process copy of groups and agents (people.py)
