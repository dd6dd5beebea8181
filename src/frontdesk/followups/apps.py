from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    name = "frontdesk.followups"
    label = "followups"
    verbose_name = "Follow-ups"
