"""The REST API v1: authentication, one mapping of errors to HTTP, a router per app.

Every error has the shape ``{"error": code, "detail": text}``.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import APIKeyCookie, HttpBearer

from frontdesk.accounts.api import router as accounts_router
from frontdesk.accounts.services import token_authenticate
from frontdesk.calendars.api import router as calendars_router
from frontdesk.core.errors import DomainError
from frontdesk.core.views import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS
from frontdesk.csat.api import router as csat_router
from frontdesk.customers.api import router as customers_router
from frontdesk.followups.api import router as followups_router
from frontdesk.goodwill.api import router as goodwill_router
from frontdesk.incidents.api import router as incidents_router
from frontdesk.incidents.api_reach import router as incidents_reach_router
from frontdesk.mail.api import router as mail_router
from frontdesk.search.api import router as search_router
from frontdesk.sla.api import router as sla_router
from frontdesk.tickets.api import router as tickets_router

logger = logging.getLogger(__name__)


class BearerToken(HttpBearer):
    """``Authorization: Bearer fd_…`` — for integrations and scripts."""

    def authenticate(self, request, token):
        agent = token_authenticate(raw=token)
        if agent is not None:
            request.user = agent
        return agent


class AgentSession(APIKeyCookie):
    """The workspace's own session cookie (CSRF-checked), so pages can call the API."""

    param_name = "sessionid"

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None


api = NinjaAPI(
    title="Frontdesk API",
    version="1",
    description="Tickets, customers, organizations, agents and groups. "
    "Authenticate with `Authorization: Bearer <token>` (`frontdesk token create --agent EMAIL`).",
    auth=[BearerToken(), AgentSession()],
    urls_namespace="api-v1",
)


def client_location(loc) -> list[str]:
    """("body", "payload", "attachments", 0, "path") → ["attachments", "0", "path"]: drop where
    the value came from and, for bodies, the handler's parameter name; keep field names."""
    parts = [str(part) for part in loc]
    if parts[:1] == ["body"]:
        return parts[2:]
    return parts[1:]


def error(request, status: int, code: str, detail: str, **extra):
    return api.create_response(request, {"error": code, "detail": detail, **extra}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    return error(request, exc.status, exc.code, exc.detail)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    problems = []
    for item in exc.errors:
        where = ".".join(client_location(item.get("loc", ()))) or "body"
        problems.append(f"{where}: {item.get('msg', 'invalid')}")
    fields = [
        {"loc": [str(p) for p in item.get("loc", ())], "msg": item.get("msg", "")}
        for item in exc.errors
    ]
    return error(request, 422, "validation_error", "; ".join(problems), fields=fields)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request, exc):
    return error(request, 401, "unauthorized", "Send a valid token: Authorization: Bearer <token>.")


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return error(request, 404, "not_found", "Not found.")


@api.exception_handler(PermissionDenied)
def on_permission_denied(request, exc):
    return error(request, 403, "forbidden", str(exc) or "Not allowed.")


@api.exception_handler(RequestDataTooBig)
def on_too_big(request, exc):
    return error(request, 413, "too_large", "The request body is too large.")


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return error(request, exc.status_code, "http_error", str(exc))


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def on_database_unavailable(request, exc):
    logger.warning("database unavailable on %s %s: %s", request.method, request.path, exc)
    response = error(request, 503, "database_unavailable", DATABASE_UNAVAILABLE)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@api.exception_handler(Exception)
def on_unexpected(request, exc):
    logger.exception("unhandled API error on %s %s", request.method, request.path)
    return error(request, 500, "server_error", "Something went wrong on our side; it was logged.")


def json_errors_middleware(get_response):
    """Routing misses under /api/ (unknown path, wrong method) are answered by Django, not by
    the API: give them the API's error format too."""

    def middleware(request):
        response = get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code in (404, 405)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            code, detail = (
                ("not_found", "No such endpoint.") if response.status_code == 404
                else ("method_not_allowed", f"{request.method} is not allowed here; "
                      f"allowed: {response.get('Allow', 'none')}.")
            )
            replacement = JsonResponse({"error": code, "detail": detail}, status=response.status_code)
            if "Allow" in response:
                replacement["Allow"] = response["Allow"]
            return replacement
        return response

    return middleware


api.add_router("/", accounts_router)
api.add_router("/", customers_router)
api.add_router("/", tickets_router)
api.add_router("/", mail_router)
api.add_router("/", sla_router)
api.add_router("/", search_router)
api.add_router("/", calendars_router)
api.add_router("/", goodwill_router)
api.add_router("/", followups_router)
api.add_router("/", csat_router)
api.add_router("/", incidents_router)
api.add_router("/", incidents_reach_router)
