"""The one error tree of cargowatch; each error knows its HTTP status and CLI exit code."""

from __future__ import annotations


class CargowatchError(Exception):
    """Base of every error cargowatch raises on purpose."""

    http_status = 400
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(CargowatchError):
    """The caller sent something cargowatch cannot use."""

    http_status = 422
    exit_code = 2


class NothingReadable(InvalidInput):
    """An ingest run could not read a single record."""

    exit_code = 3


class NotAuthenticated(CargowatchError):
    """No valid credentials came with the call."""

    http_status = 401
    exit_code = 4


class PermissionDenied(CargowatchError):
    """The caller is known but its role does not allow this."""

    http_status = 403
    exit_code = 5


class NotFound(CargowatchError):
    """The record does not exist or the caller may not see it (the two look the same)."""

    http_status = 404
    exit_code = 6


class Conflict(CargowatchError):
    """The record already exists or the change clashes with the stored state."""

    http_status = 409
    exit_code = 7


class TooManyAttempts(CargowatchError):
    """Too many failed sign-ins from this address (for this user, or at all): wait."""

    http_status = 429
    exit_code = 8
