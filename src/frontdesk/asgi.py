"""ASGI entry, reserved for WebSockets (chat) under /ws/; pages and API are served by WSGI."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontdesk.settings")
application = get_asgi_application()
