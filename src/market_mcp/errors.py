"""Errors a person can act on, and the one shape they reach a client in: {"error", "code"}."""

from __future__ import annotations


class MarketError(Exception):
    """A refusal with a message for the person and an HTTP-like code."""

    code: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def payload(self) -> dict[str, object]:
        return {"error": self.message, "code": self.code}


class Unauthorized(MarketError):
    code = 401


class Forbidden(MarketError):
    code = 403

    def __init__(self, message: str, *, scope: str | None = None) -> None:
        super().__init__(message)
        self.scope = scope  # a refused token's own scope, where known: what tools/list shows it


class NotFound(MarketError):
    code = 404


class Conflict(MarketError):
    code = 409


class Invalid(MarketError):
    code = 422


class RateLimited(MarketError):
    code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


MISSING_TOKEN = "The API token is missing or revoked. Create one with `market-mcp token create --org SLUG`."
