"""Agents (the users of Frontdesk), their roles, support groups with tiers, API tokens."""

from __future__ import annotations

import functools
import hashlib
import zoneinfo

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


@functools.cache
def time_zone_names() -> frozenset[str]:
    """The IANA time zone names this machine knows (system zoneinfo or the tzdata package)."""
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    """An IANA name such as Asia/Tokyo; empty means the instance's (``FRONTDESK_TIME_ZONE``)."""
    if value and value not in time_zone_names():
        raise ValidationError(f"Unknown time zone {value!r} (use an IANA name such as Europe/Berlin).",
                              code="invalid_time_zone")


class Role(models.TextChoices):
    ADMIN = "admin", "Administrator"
    AGENT = "agent", "Agent"
    LIGHT = "light", "Light agent (read and note only)"


class Tier(models.IntegerChoices):
    L1 = 1, "Tier 1"
    L2 = 2, "Tier 2"
    L3 = 3, "Tier 3"


class Group(models.Model):
    """A support team tickets are routed to; ``tier`` orders escalation (1 → 2 → 3)."""

    name = models.CharField(max_length=100, unique=True)
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, default=Tier.L1)
    description = models.TextField(blank=True)
    lead = models.ForeignKey(
        "accounts.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="led_groups",
        help_text="Who hears about this group's escalations, missed targets and bad ratings.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tier", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(tier__in=[1, 2, 3]), name="group_tier_valid")
        ]

    def __str__(self) -> str:
        return self.name


class AgentManager(BaseUserManager["Agent"]):
    def create_user(self, email: str, password: str | None = None, **fields) -> Agent:
        agent = self.model(email=self.normalize_email(email).lower(), **fields)
        agent.set_password(password)
        agent.save(using=self._db)
        return agent

    def create_superuser(self, email: str, password: str | None = None, **fields) -> Agent:
        fields["role"] = Role.ADMIN
        return self.create_user(email, password, **fields)


class Agent(AbstractBaseUser):
    """A person working in the helpdesk. Permissions follow from ``role`` alone."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.AGENT)
    groups = models.ManyToManyField(Group, related_name="agents", blank=True)
    is_active = models.BooleanField(default=True)
    requires_two_factor = models.BooleanField(
        default=False,
        help_text="Must sign in with an authenticator code; without one, enrolment comes first.",
    )
    date_joined = models.DateTimeField(default=timezone.now)
    time_zone = models.CharField(
        max_length=64, blank=True, validators=[validate_time_zone],
        help_text="IANA name, e.g. Asia/Tokyo: the workspace shows times in it. Empty: the instance's "
                  "time zone (FRONTDESK_TIME_ZONE).",
    )

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    objects = AgentManager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="agent_role_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_light(self) -> bool:
        return self.role == Role.LIGHT

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The zone the workspace shows this agent's times in: theirs, else the instance's (also
        when theirs is no longer known to the machine's time zone database)."""
        if self.time_zone and self.time_zone in time_zone_names():
            return zoneinfo.ZoneInfo(self.time_zone)
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)

    # Django admin integration: administrators manage everything there, nobody else enters.
    @property
    def is_staff(self) -> bool:
        return self.is_active and self.is_admin

    @property
    def is_superuser(self) -> bool:
        return self.is_staff

    def has_perm(self, perm: str, obj=None) -> bool:
        return self.is_staff

    def has_perms(self, perm_list, obj=None) -> bool:
        return self.is_staff

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_staff

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email


def hash_token(raw: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough and keeps lookups indexable.
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the REST API; only its SHA-256 is stored."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a token.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.agent.email})"
