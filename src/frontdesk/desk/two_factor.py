"""Two-factor sign-in with authenticator apps (TOTP, django-otp).

An agent has at most one confirmed TOTP device. Enrolment creates an unconfirmed device,
shows its secret (as a QR code and as text) and confirms it with a first valid code.
"""

from __future__ import annotations

import base64
from urllib.parse import quote, urlencode

import segno
from django.conf import settings
from django.db import transaction
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from frontdesk.accounts.models import Agent
from frontdesk.core.errors import Conflict, InvalidInput

ISSUER = "Frontdesk"


def two_factor_required(agent: Agent) -> bool:
    return bool(settings.FRONTDESK_REQUIRE_2FA or agent.requires_two_factor)


def totp_device_confirmed(agent: Agent) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=agent, confirmed=True).order_by("id").first()


def has_totp_device(agent: Agent) -> bool:
    """Whether the agent has a confirmed authenticator (asked on every workspace request of a
    password-only session: a bare EXISTS)."""
    return TOTPDevice.objects.filter(user_id=agent.pk, confirmed=True).exists()


def totp_device_start(*, agent: Agent) -> TOTPDevice:
    """The agent's pending (unconfirmed) device, created on first call: reloading the
    enrolment page shows the same secret, so a scanned code keeps working."""
    if totp_device_confirmed(agent) is not None:
        raise Conflict("Two-factor sign-in is already set up.", code="two_factor_enabled")
    device = TOTPDevice.objects.filter(user=agent, confirmed=False).order_by("-id").first()
    return device or TOTPDevice.objects.create(user=agent, name="Authenticator app", confirmed=False)


def totp_device_confirm(*, agent: Agent, code: str) -> TOTPDevice:
    """Confirm the pending device with a code from the app; other pending devices go."""
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=agent, confirmed=False).order_by("-id").first()
        if device is None:
            raise InvalidInput("Start the set-up again: no pending authenticator.", code="no_pending_device")
        if verify_token(agent, device.persistent_id, _digits(code)) is None:
            raise InvalidInput("That code is not valid. Check the app's clock and try the current code.",
                               code="invalid_code")
        device.refresh_from_db()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=agent, confirmed=False).delete()
    return device


def totp_verify(*, agent: Agent, code: str) -> TOTPDevice:
    """The agent's confirmed device if ``code`` is valid for it (django-otp throttles
    repeated failures per device, with growing delays)."""
    device = totp_device_confirmed(agent)
    if device is None:
        raise InvalidInput("Two-factor sign-in is not set up.", code="no_device")
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        raise InvalidInput("Too many wrong codes: wait a minute and try again.", code="code_throttled")
    verified = verify_token(agent, device.persistent_id, _digits(code))
    if verified is None:
        raise InvalidInput("That code is not valid.", code="invalid_code")
    return verified


def totp_device_remove(*, agent: Agent, code: str) -> None:
    """Turn two-factor sign-in off (proved with a current code); refused where required."""
    if two_factor_required(agent):
        raise Conflict("Two-factor sign-in is required for your account.", code="two_factor_required")
    totp_verify(agent=agent, code=code)
    TOTPDevice.objects.filter(user=agent).delete()


def totp_secret(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it typed in: base32, in groups of four."""
    raw = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def totp_config_url(device: TOTPDevice) -> str:
    """The otpauth:// URL authenticator apps scan (Key Uri Format)."""
    params = urlencode({
        "secret": base64.b32encode(device.bin_key).decode().rstrip("="),
        "issuer": ISSUER, "algorithm": "SHA1", "digits": device.digits, "period": device.step,
    })
    return f"otpauth://totp/{quote(ISSUER + ':' + device.user.email)}?{params}"


def totp_qr_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// URL as an SVG QR code in a data: URI (the CSP allows data: images)."""
    return segno.make(totp_config_url(device), error="m").svg_data_uri(scale=5, border=2)


def _digits(code: str) -> str:
    return "".join(ch for ch in (code or "") if ch.isdigit())
