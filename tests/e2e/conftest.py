"""End-to-end tests: real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright;
no browser download) against pytest-django's live server.

Every test here needs ``@pytest.mark.django_db(transaction=True)`` (the live server runs in
another thread) and gets a ``page`` whose console errors, page errors, dialogs and CSP
violations are collected in ``page_problems``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Playwright's sync API keeps an event loop in the test thread; Django refuses ORM calls from
# such a thread unless told that this is deliberate. Test-only.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("FRONTDESK_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# Runs before any page script: records what the CSP blocked, which a test can then assert on.
_CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (./scripts/test does, as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


class PageProblems(list):
    """Console errors, uncaught page errors, dialogs (alert/confirm/prompt) and CSP violations."""

    def csp_violations(self, page) -> list[str]:
        return page.evaluate("window.__cspViolations || []")


@pytest.fixture
def page_problems():
    return PageProblems()


def _open_page(browser, base_url: str, problems: PageProblems, **context_options):
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900}, **context_options)
    context.add_init_script(_CSP_RECORDER)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("console", lambda msg: msg.type == "error" and problems.append(f"console: {msg.text}"))
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))

    def on_dialog(dialog):
        problems.append(f"dialog: {dialog.type} {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return context, page


@pytest.fixture
def page(browser, live_server, page_problems):
    context, page = _open_page(browser, live_server.url, page_problems)
    yield page
    context.close()


@pytest.fixture
def new_page(browser, live_server, page_problems):
    """Another browser profile (own cookies): a second agent, or the customer."""
    contexts = []

    def open_page(**context_options):
        context, page = _open_page(browser, live_server.url, page_problems, **context_options)
        contexts.append(context)
        return page

    yield open_page
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot into docs/screenshots/ (shown in the README).

    ``caret="initial"``: to hide the text caret Playwright injects a style element, which our
    CSP blocks (a console error, a page problem) and whose leftovers htmx may copy around.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, caret="initial")
    return path


def settled(page) -> None:
    """Wait until htmx has finished a swap: it wires up swapped-in forms when the swap settles
    (20 ms later), and a robot, unlike a person, can act inside that gap."""
    from playwright.sync_api import expect

    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")).to_have_count(0)


@pytest.fixture
def login_as(live_server):
    """``login_as(page, agent)``: sign that browser profile in as ``agent`` without the login
    form (a Django ``force_login`` session, handed to the browser as its session cookie)."""
    from django.conf import settings
    from django.test import Client

    def sign_in(page, agent) -> None:
        client = Client()
        client.force_login(agent)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
        )

    return sign_in


@pytest.fixture
def mail_home(settings, live_server, tmp_path) -> Path:
    """Mail goes to the local outbox of a fresh home, and links in it point at the live server."""
    from django.core.cache import cache

    settings.FRONTDESK_HOME = tmp_path / "home"
    settings.FRONTDESK_SMTP_URL = ""
    settings.FRONTDESK_BASE_URL = live_server.url
    cache.clear()
    yield settings.FRONTDESK_HOME
    cache.clear()


@pytest.fixture
def inbox(support):
    """The default inbox, routed to Support."""
    from frontdesk.mail.models import Inbox

    return Inbox.objects.create(name="Acme Support", address="support@acme.test", group=support,
                                from_name="Acme Support", is_default=True)
