"""The REST API v1: authentication, one mapping of errors to HTTP, a router per app.

Every error has the shape ``{"error": code, "detail": text}``.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import APIKeyCookie, HttpBearer

from frontdesk.accounts.api import router as accounts_router
from frontdesk.accounts.services import token_authenticate
from frontdesk.core.errors import DomainError
from frontdesk.customers.api import router as customers_router
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


def error(request, status: int, code: str, detail: str, **extra):
    return api.create_response(request, {"error": code, "detail": detail, **extra}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    return error(request, exc.status, exc.code, exc.detail)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    problems = []
    for item in exc.errors:
        # loc is e.g. ("body", "payload", "subject"): keep the part a client recognises.
        parts = [str(p) for p in item.get("loc", ()) if p not in ("body", "query", "path", "payload")]
        where = ".".join(parts) or "body"
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


@api.exception_handler(Exception)
def on_unexpected(request, exc):
    logger.exception("unhandled API error on %s %s", request.method, request.path)
    return error(request, 500, "server_error", "Something went wrong on our side; it was logged.")


api.add_router("/", accounts_router)
api.add_router("/", customers_router)
api.add_router("/", tickets_router)
