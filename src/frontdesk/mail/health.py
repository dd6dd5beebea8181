"""Mail's part of /healthz: is the SMTP listener alive (its heartbeat file)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

# The SMTP listener rewrites this file every 10 s (frontdesk/mail/smtp.py) and removes it on
# a clean stop. It describes a listener sharing this FRONTDESK_HOME, i.e. on this machine.
SMTP_STALE_AFTER = timedelta(seconds=60)


def smtp_status_path() -> Path:
    return settings.FRONTDESK_HOME / "smtp.status"


def smtp_report() -> dict:
    try:
        beat = json.loads(smtp_status_path().read_text())
        updated_at = datetime.fromisoformat(beat["updated_at"])
    except FileNotFoundError:
        return {"status": "not_running"}
    except (OSError, ValueError, KeyError, TypeError):
        return {"status": "stale", "address": None}
    fresh = timezone.now() - updated_at <= SMTP_STALE_AFTER
    return {"status": "ok" if fresh else "stale", "address": beat.get("address")}
