from django.apps import AppConfig


class GoodwillConfig(AppConfig):
    name = "frontdesk.goodwill"
    label = "goodwill"
    verbose_name = "Goodwill"
