"""django-helpdesk for ``helpdesk_compare.py``: its own virtualenv, a minimal Django site around
it, its database (seeded from the same rows as Frontdesk's), and its ``get_email`` run.

Everything django-helpdesk runs happens in subprocesses with bench/.helpdesk-venv's Python
(bench/helpdesk_site.py); this module runs in Frontdesk's virtualenv and never imports it.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
VENV = BENCH_DIR / ".helpdesk-venv"
SITE = BENCH_DIR / ".data" / "helpdesk-site"
HELPDESK_VERSION = "2.6.1"  # the latest PyPI release when this bench was written
SITE_SCRIPT = BENCH_DIR / "helpdesk_site.py"

SETTINGS = '''"""Written by bench/helpdesk_setup.py: a minimal production-like site around django-helpdesk."""
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent.parent
SECRET_KEY = (HERE / "secret_key").read_text().strip()
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.messages", "django.contrib.staticfiles", "django.contrib.sites", "django.contrib.humanize",
    "rest_framework", "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware", "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware", "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware", "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "hdsite.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [], "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.debug", "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth", "django.contrib.messages.context_processors.messages",
    ]},
}]
WSGI_APPLICATION = "hdsite.wsgi.application"
url = urlsplit(os.environ["HD_DATABASE_URL"])
if url.scheme == "sqlite":
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": url.path,
                             "OPTIONS": {"timeout": 20}}}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": url.path.lstrip("/"),
                             "USER": unquote(url.username or ""), "PASSWORD": unquote(url.password or ""),
                             "HOST": url.hostname or "", "PORT": url.port or ""}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
SITE_ID = 1
STATIC_URL = "/static/"
MEDIA_ROOT = str(HERE / "media")
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/helpdesk/"
# Mail it sends (acknowledgements, notifications) is written to files, as Frontdesk's outbox.
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ.get("HD_OUTBOX", str(HERE / "outbox"))
DEFAULT_FROM_EMAIL = "support@bench.test"
HELPDESK_TEAMS_MODE_ENABLED = False  # needs pinax-teams, an optional extra
'''

URLS = '''from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import include, path


def livez(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("helpdesk/", include("helpdesk.urls", namespace="helpdesk")),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("admin/", admin.site.urls),
    path("livez", livez),
]
'''

WSGI = '''import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdsite.settings")
application = get_wsgi_application()
'''


def ensure_venv() -> Path:
    """bench/.helpdesk-venv with django-helpdesk and the same gunicorn as Frontdesk's, once."""
    python = VENV / "bin" / "python"
    gunicorn = metadata.version("gunicorn")
    marker = VENV / f".installed-{HELPDESK_VERSION}-{gunicorn}"
    if marker.exists():
        return python
    if not python.exists():
        print(f"creating {VENV}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    print(f"installing django-helpdesk=={HELPDESK_VERSION} and gunicorn=={gunicorn} into {VENV}", flush=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"django-helpdesk=={HELPDESK_VERSION}",
                    f"gunicorn=={gunicorn}", "psycopg2-binary"], check=True)
    marker.touch()
    return python


def write_site() -> Path:
    package = SITE / "hdsite"
    package.mkdir(parents=True, exist_ok=True)
    for name, text in {"__init__.py": "", "settings.py": SETTINGS, "urls.py": URLS, "wsgi.py": WSGI}.items():
        (package / name).write_text(text)
    if not (SITE / "secret_key").exists():
        (SITE / "secret_key").write_text(secrets.token_urlsafe(50))
    return SITE


def database_url(kind: str, tickets: int) -> str:
    """django-helpdesk's own database: a SQLite file in the site folder, or, when DATABASE_URL
    names a PostgreSQL database, the same server and name with ``_helpdesk`` appended."""
    if kind == "sqlite":
        return f"sqlite:///{SITE / f'helpdesk-{tickets}.sqlite3'}"
    url = os.environ["DATABASE_URL"]
    return url.rstrip("/") + "_helpdesk"


def env_for(url: str, **extra: str) -> dict:
    return {**os.environ, "HD_DATABASE_URL": url, "PYTHONPATH": str(SITE),
            "DJANGO_SETTINGS_MODULE": "hdsite.settings", **extra}


def run_site(url: str, *args: str, timeout: float = 3600, **extra: str) -> dict:
    """Run a helpdesk_site.py command; its last stdout line is JSON."""
    done = subprocess.run([str(VENV / "bin" / "python"), str(SITE_SCRIPT), *args], env=env_for(url, **extra),
                          stdout=subprocess.PIPE, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"helpdesk_site.py {args[0]} failed with {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def export_frontdesk(path: Path) -> dict:
    """Frontdesk's seeded tickets and messages as JSON lines (one ticket with its messages a
    line), for django-helpdesk's seeder: the same rows, texts and times on both sides."""
    from django.db.models import Max

    from frontdesk.accounts.models import Agent, Group
    from frontdesk.customers.models import ContactPoint
    from frontdesk.tickets.models import Message, Ticket

    top = Ticket.objects.aggregate(top=Max("id"))["top"] or 0
    if path.exists() and json.loads(path.open().readline()).get("top") == top:
        return json.loads(path.open().readline())
    groups = dict(Group.objects.values_list("id", "name"))
    agents = {pk: n for n, pk in enumerate(Agent.objects.order_by("id").values_list("id", flat=True))}
    emails = dict(ContactPoint.objects.filter(kind="email", is_primary=True).values_list("customer_id", "value"))
    head = {"top": top, "groups": sorted(groups.values()), "agents": len(agents)}
    columns = ("id", "subject", "status", "priority", "created_at", "updated_at", "requester_id", "group_id",
               "assignee_id")
    started, written = time.perf_counter(), 0
    tmp = path.with_suffix(".part")
    with tmp.open("w") as out:
        out.write(json.dumps(head) + "\n")
        for low in range(0, top + 1, 5000):
            window = {"id__gte": low, "id__lt": low + 5000}
            messages: dict[int, list] = {}
            for ticket_id, visibility, created, text, agent in (
                    Message.objects.filter(**{f"ticket__{k}": v for k, v in window.items()})
                    .order_by("ticket_id", "created_at", "id")
                    .values_list("ticket_id", "visibility", "created_at", "body_text", "author_agent_id")):
                messages.setdefault(ticket_id, []).append(
                    [visibility != "internal", created.isoformat(), text, agents.get(agent)])
            for row in Ticket.objects.filter(**window).order_by("id").values_list(*columns):
                pk, subject, status, priority, created, updated, requester, group, assignee = row
                out.write(json.dumps({
                    "subject": subject, "status": status, "priority": priority, "created": created.isoformat(),
                    "updated": updated.isoformat(), "email": emails.get(requester, f"customer{requester}@bench.test"),
                    "group": groups.get(group), "assignee": agents.get(assignee), "messages": messages.get(pk, []),
                }) + "\n")
                written += 1
    tmp.replace(path)
    print(f"exported {written:,} Frontdesk tickets for django-helpdesk in {time.perf_counter() - started:.0f} s",
          flush=True)
    return head


def ensure_seeded(kind: str, tickets: int) -> tuple[str, dict]:
    """The helpdesk database, seeded once from Frontdesk's rows; (its url, its counts)."""
    url = database_url(kind, tickets)
    if kind != "sqlite":
        sys.path.insert(0, str(BENCH_DIR))
        import seed

        seed.ensure_postgres_database(url)
    counts = run_site(url, "count") if has_tables(url) else {"tickets": 0}
    if counts["tickets"] == 0:
        export = SITE / f"frontdesk-{kind}-{tickets}.jsonl"
        export_frontdesk(export)
        print(f"seeding django-helpdesk from {export} (bulk_create; once, later runs reuse it)", flush=True)
        counts = run_site(url, "seed", str(export))
        print(f"django-helpdesk seeded: {counts}", flush=True)
        export.unlink(missing_ok=True)
    return url, counts


def has_tables(url: str) -> bool:
    if url.startswith("sqlite:"):
        import sqlite3

        path = Path(url.removeprefix("sqlite://"))
        if not path.exists():
            return False
        db = sqlite3.connect(path)
        try:
            return bool(db.execute("SELECT 1 FROM sqlite_master WHERE name = 'helpdesk_ticket'").fetchone())
        finally:
            db.close()
    import psycopg

    sys.path.insert(0, str(BENCH_DIR))
    import seed

    name, params = seed.postgres_params(url)
    with psycopg.connect(dbname=name, **params) as db:
        return bool(db.execute("SELECT to_regclass('helpdesk_ticket')").fetchone()[0])


def start_server(url: str, port: int, workers: int, log: Path) -> subprocess.Popen:
    """django-helpdesk under the same gunicorn settings as ``frontdesk web`` (sync workers)."""
    command = [str(VENV / "bin" / "gunicorn"), "hdsite.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--worker-class", "sync", "--timeout", "60", "--graceful-timeout", "10",
               "--keep-alive", "5", "--chdir", str(SITE)]
    with log.open("wb") as handle:
        return subprocess.Popen(command, env=env_for(url), stdout=handle, stderr=subprocess.STDOUT)
