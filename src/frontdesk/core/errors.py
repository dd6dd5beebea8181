"""Domain errors: raised by services and selectors, mapped to HTTP once (frontdesk/api.py)."""

from __future__ import annotations


class DomainError(Exception):
    """A refused operation with a stable machine-readable ``code`` and an HTTP status."""

    code = "domain_error"
    status = 400

    def __init__(self, detail: str, *, code: str | None = None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code


class NotFound(DomainError):
    """Missing, or hidden from this agent: the two must look the same (no existence oracle)."""

    code = "not_found"
    status = 404


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class InvalidInput(DomainError):
    code = "invalid"
    status = 400


class Conflict(DomainError):
    code = "conflict"
    status = 409
