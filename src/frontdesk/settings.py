"""Frontdesk settings: environment variables only (12-factor), read here and nowhere else.

See README.md ("Configuration") for the full list. Every value has a default that runs
Frontdesk on one machine with SQLite in ``FRONTDESK_HOME``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from csp import constants as csp
from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_secret(name: str) -> str:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE`` (Docker/K8s secrets)."""
    if path := os.environ.get(f"{name}_FILE"):
        return Path(path).read_text().strip()
    return os.environ.get(name, "")


def _secret_key(home: Path) -> str:
    """The configured key, else one generated once into FRONTDESK_HOME (mode 0600)."""
    if key := env_secret("FRONTDESK_SECRET_KEY"):
        return key
    key_file = home / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


def database_from_url(url: str, home: Path) -> dict:
    """Translate ``DATABASE_URL`` into a Django DATABASES entry (sqlite:/// or postgres://)."""
    if not url:
        url = f"sqlite:///{home / 'frontdesk.sqlite3'}"
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # As dj-database-url: sqlite:///relative.db, sqlite:////absolute/path.db
        path = unquote(url.removeprefix("sqlite:///")) or str(home / "frontdesk.sqlite3")
        return {
            "ENGINE": "frontdesk.core.db.sqlite",  # Django's, plus a fair write lock (see its docstring)
            "NAME": path,
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue on the
                # busy timeout instead of failing with "database is locked" mid-transaction.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA busy_timeout=20000;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA cache_size=-64000;"
                ),
            },
            # Keep connections: reconnecting re-runs the PRAGMAs and drops SQLite's page cache
            # (measured 1.5 ms per API call in bench/api_latency.py).
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
            "TEST": {"NAME": os.environ.get("FRONTDESK_TEST_SQLITE_NAME") or None},
        }
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        conn_max_age = int(options.pop("conn_max_age", "60"))
        # A database host that vanished must fail a request in seconds (503), not hang it.
        options.setdefault("connect_timeout", "5")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "frontdesk",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": conn_max_age,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    raise ImproperlyConfigured(
        f"DATABASE_URL scheme {parts.scheme!r} is not supported (use sqlite:/// or postgres://)"
    )


FRONTDESK_HOME = Path(env_str("FRONTDESK_HOME", ".frontdesk")).resolve()
FRONTDESK_HOME.mkdir(parents=True, exist_ok=True)

SECRET_KEY = _secret_key(FRONTDESK_HOME)
DEBUG = env_bool("FRONTDESK_DEBUG", False)

FRONTDESK_BASE_URL = env_str("FRONTDESK_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
FRONTDESK_MAIL_DOMAIN = env_str("FRONTDESK_MAIL_DOMAIN", urlsplit(FRONTDESK_BASE_URL).hostname)
# Outbound relay, e.g. smtp://user:pass@host:587?starttls=1 or smtps://host:465; unset: the
# local outbox folder FRONTDESK_HOME/outbox (visible in the admin).
FRONTDESK_SMTP_URL = env_secret("FRONTDESK_SMTP_URL")
# Ceilings on automatic mail (acknowledgements) to one address, across all tickets.
FRONTDESK_AUTOREPLY_PER_HOUR = env_int("FRONTDESK_AUTOREPLY_PER_HOUR", 10)
FRONTDESK_AUTOREPLY_PER_DAY = env_int("FRONTDESK_AUTOREPLY_PER_DAY", 30)
# More inbound messages than this on one ticket within a minute is treated as a mail loop.
FRONTDESK_LOOP_MESSAGES_PER_MINUTE = env_int("FRONTDESK_LOOP_MESSAGES_PER_MINUTE", 20)
REDIS_URL = env_str("REDIS_URL")
# Every agent must sign in with an authenticator code (TOTP); agents without one enrol first.
# Per agent: Agent.requires_two_factor (admin).
FRONTDESK_REQUIRE_2FA = env_bool("FRONTDESK_REQUIRE_2FA", False)

ALLOWED_HOSTS = [
    host.strip()
    for host in env_str(
        "FRONTDESK_ALLOWED_HOSTS",
        f"{urlsplit(FRONTDESK_BASE_URL).hostname},localhost,127.0.0.1,[::1]",
    ).split(",")
    if host.strip()
]
CSRF_TRUSTED_ORIGINS = [FRONTDESK_BASE_URL]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# No inline script or style runs on our pages: scripts are files under /static/ or carry the
# request's nonce (django-csp). Customer-written HTML is sanitized too, this is the second wall.
CONTENT_SECURITY_POLICY = {
    # The OpenAPI browser (django-ninja's Swagger page) loads its assets from a CDN.
    "EXCLUDE_URL_PREFIXES": ["/api/v1/docs"],
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE],
        "style-src": [csp.SELF],
        "img-src": [csp.SELF, "data:"],
        "font-src": [csp.SELF],
        "connect-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.NONE],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    },
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = FRONTDESK_BASE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "django_htmx",
    "template_partials",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "frontdesk.core",
    "frontdesk.accounts",
    "frontdesk.customers",
    "frontdesk.tickets",
    "frontdesk.search",
    "frontdesk.notifications",
    "frontdesk.calendars",
    "frontdesk.goodwill",
    "frontdesk.followups",
    "frontdesk.csat",
    "frontdesk.sla",
    "frontdesk.incidents",
    "frontdesk.mail",
    "frontdesk.portal",
    "frontdesk.desk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "frontdesk.desk.middleware.DeskAccessMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "frontdesk.api.json_errors_middleware",
]

ROOT_URLCONF = "frontdesk.urls"
WSGI_APPLICATION = "frontdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    }
]

DATABASES = {"default": database_from_url(env_str("DATABASE_URL"), FRONTDESK_HOME)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.Agent"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

CACHES = (
    {"default": {
        # Django's Redis backend that degrades to "no cache" while Redis is down (core/cache.py);
        # short socket timeouts so a vanished Redis costs a page at most a second.
        "BACKEND": "frontdesk.core.cache.ResilientRedisCache", "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }}
    if REDIS_URL
    # Without Redis: files in FRONTDESK_HOME, shared by every process of this machine —
    # ``frontdesk web`` runs several gunicorn workers, and presence, typing, inbox counts and
    # throttles must be the same whichever worker answers (a per-process memory cache was not).
    else {"default": {
        # Django's FileBasedCache, checking its size at most every 10 s (core/cache.py).
        "BACKEND": "frontdesk.core.cache.FileCache",
        "LOCATION": str(FRONTDESK_HOME / "cache"), "OPTIONS": {"MAX_ENTRIES": 5000},
    }}
)

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

LANGUAGE_CODE = "en"
# The instance's time zone: the workspace shows times in it for agents who chose none
# (Agent.time_zone), and it is the default business calendar's. An IANA name.
TIME_ZONE = env_str("FRONTDESK_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = FRONTDESK_HOME / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Serve straight from the app folders: `frontdesk run` works without a collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Attachments live outside any served folder and are only reachable through
# permission-checked views (RELIABILITY.md rule 6).
FRONTDESK_ATTACHMENTS_DIR = FRONTDESK_HOME / "attachments"
FRONTDESK_MAX_ATTACHMENT_BYTES = env_int("FRONTDESK_MAX_ATTACHMENT_BYTES", 25 * 1024 * 1024)
# JSON bodies carry attachments as base64 (4/3 of the file size) plus the message.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int(
    "FRONTDESK_MAX_REQUEST_BYTES", FRONTDESK_MAX_ATTACHMENT_BYTES * 4 // 3 + 2 * 1024 * 1024
)
# The customer side (/help/, /c/<token>/). Phone and hours are shown on the contact page when
# set. A conversation link in an email works for FRONTDESK_CONVERSATION_LINK_DAYS; a browser
# that opened one keeps access for FRONTDESK_PORTAL_SESSION_HOURS. The contact form refuses
# submissions faster than FRONTDESK_CONTACT_MIN_SECONDS after the page was served (bots).
FRONTDESK_SUPPORT_PHONE = env_str("FRONTDESK_SUPPORT_PHONE")
FRONTDESK_SUPPORT_HOURS = env_str("FRONTDESK_SUPPORT_HOURS")
FRONTDESK_CONVERSATION_LINK_DAYS = env_int("FRONTDESK_CONVERSATION_LINK_DAYS", 90)
FRONTDESK_PORTAL_SESSION_HOURS = env_int("FRONTDESK_PORTAL_SESSION_HOURS", 12)
FRONTDESK_CONTACT_MIN_SECONDS = env_int("FRONTDESK_CONTACT_MIN_SECONDS", 3)
FRONTDESK_CLOSE_SOLVED_AFTER_HOURS = env_int("FRONTDESK_CLOSE_SOLVED_AFTER_HOURS", 96)
# Satisfaction survey links (Good / Bad) in email work for this many days.
FRONTDESK_CSAT_LINK_DAYS = env_int("FRONTDESK_CSAT_LINK_DAYS", 30)
FRONTDESK_SCHEDULER_INTERVAL = env_int("FRONTDESK_SCHEDULER_INTERVAL", 5)
# Task workers lower their CPU priority by this much (os.nice) so the web server and the SMTP
# listener stay responsive while a backlog is worked off; 0 keeps the normal priority.
FRONTDESK_WORKER_NICE = env_int("FRONTDESK_WORKER_NICE", 5)
FRONTDESK_TASK_MAX_ATTEMPTS = env_int("FRONTDESK_TASK_MAX_ATTEMPTS", 6)
# Workers beat every FRONTDESK_WORKER_HEARTBEAT seconds; a task still running after its worker
# has been silent for FRONTDESK_WORKER_DEAD_AFTER seconds is handed back to the queue.
FRONTDESK_WORKER_HEARTBEAT = env_int("FRONTDESK_WORKER_HEARTBEAT", 5)
FRONTDESK_WORKER_DEAD_AFTER = env_int("FRONTDESK_WORKER_DEAD_AFTER", 60)
FRONTDESK_WEB_WORKERS = env_int("FRONTDESK_WEB_WORKERS", 2)
# Incident broadcasts and gestures go out in chunks of FRONTDESK_BROADCAST_CHUNK customers, at
# most FRONTDESK_BROADCAST_PER_MINUTE customers a minute for the whole instance, all incidents
# together (later chunks wait their turn in the queue: incidents.MailPace); resolved incidents
# stay on /help/status for FRONTDESK_STATUS_PAGE_RESOLVED_DAYS days.
FRONTDESK_BROADCAST_CHUNK = env_int("FRONTDESK_BROADCAST_CHUNK", 200)
FRONTDESK_BROADCAST_PER_MINUTE = env_int("FRONTDESK_BROADCAST_PER_MINUTE", 6000)
FRONTDESK_STATUS_PAGE_RESOLVED_DAYS = env_int("FRONTDESK_STATUS_PAGE_RESOLVED_DAYS", 7)

# Inbound SMTP listener (`frontdesk smtp`). Oversized messages and headers get 552, recipients
# beyond the limit 452, connections beyond the per-IP cap 421; a silent client is dropped.
FRONTDESK_SMTP_MAX_BYTES = env_int("FRONTDESK_SMTP_MAX_BYTES", 25 * 1024 * 1024)
FRONTDESK_SMTP_MAX_HEADER_BYTES = env_int("FRONTDESK_SMTP_MAX_HEADER_BYTES", 64 * 1024)
FRONTDESK_SMTP_MAX_RECIPIENTS = env_int("FRONTDESK_SMTP_MAX_RECIPIENTS", 50)
FRONTDESK_SMTP_MAX_CONN_PER_IP = env_int("FRONTDESK_SMTP_MAX_CONN_PER_IP", 20)
FRONTDESK_SMTP_TIMEOUT = env_int("FRONTDESK_SMTP_TIMEOUT", 60)
# STARTTLS is offered when both are set (PEM files).
FRONTDESK_SMTP_TLS_CERT = env_str("FRONTDESK_SMTP_TLS_CERT")
FRONTDESK_SMTP_TLS_KEY = env_str("FRONTDESK_SMTP_TLS_KEY")
# IMAP polling always verifies the server's certificate; this PEM file (a private CA) is
# trusted in addition to the system's CAs.
FRONTDESK_IMAP_CA_FILE = env_str("FRONTDESK_IMAP_CA_FILE")

# Goodwill gestures (frontdesk.goodwill). Limits convert to the base currency with the exchange
# rates configured in the admin. An approval request reminds its approvers after
# APPROVAL_HOURS, then every REMINDER_HOURS (from the second time on, administrators too).
# Suggestion rules: plans worth keeping; N tickets in a calendar month (0 turns a rule off).
FRONTDESK_GOODWILL_BASE_CURRENCY = env_str("FRONTDESK_GOODWILL_BASE_CURRENCY", "EUR").upper()
FRONTDESK_GOODWILL_APPROVAL_HOURS = env_int("FRONTDESK_GOODWILL_APPROVAL_HOURS", 4)
FRONTDESK_GOODWILL_REMINDER_HOURS = env_int("FRONTDESK_GOODWILL_REMINDER_HOURS", 4)
FRONTDESK_GOODWILL_LINK_HOURS = env_int("FRONTDESK_GOODWILL_LINK_HOURS", 72)
FRONTDESK_GOODWILL_HIGH_VALUE_PLANS = [
    p.strip() for p in env_str("FRONTDESK_GOODWILL_HIGH_VALUE_PLANS", "Enterprise,Premium").split(",") if p.strip()
]
FRONTDESK_GOODWILL_TICKETS_PER_MONTH = env_int("FRONTDESK_GOODWILL_TICKETS_PER_MONTH", 3)
# Incident severities that suggest a gesture on their linked tickets (empty: the rule is off).
FRONTDESK_GOODWILL_INCIDENT_SEVERITIES = [
    s.strip().lower() for s in env_str("FRONTDESK_GOODWILL_INCIDENT_SEVERITIES", "major,critical").split(",")
    if s.strip()
]
# Outbound requests (webhooks…) to private/loopback addresses are refused by the SSRF guard
# (frontdesk/core/ssrf.py) unless the host, address or network is listed here (comma-separated).
FRONTDESK_WEBHOOK_ALLOW_PRIVATE = [
    p.strip() for p in env_str("FRONTDESK_WEBHOOK_ALLOW_PRIVATE").split(",") if p.strip()
]

# Ninja: one error format; we render our own errors (see frontdesk/api.py).
NINJA_PAGINATION_MAX_LIMIT = 100

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("FRONTDESK_LOG_LEVEL", "INFO")},
    # aiosmtpd ("mail.log") logs every SMTP command at INFO.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "mail.log": {"level": "WARNING"}},
}
