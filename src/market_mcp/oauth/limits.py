"""What a stranger may make the authorization server keep, and how often they may ask.

/register, /authorize and /token answer anyone, so every field we store has a size limit (refused with a
description that names the field and its limit, RFC 7591's invalid_client_metadata), each client address has a
per-minute allowance on each endpoint, and an application that never got an organiser's approval is forgotten
a day after it registered (provider.py deletes those on the next registration).
"""

from __future__ import annotations

import ipaddress
import json
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import timedelta

from mcp.server.auth.provider import RegistrationError
from mcp.shared.auth import OAuthClientInformationFull
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

MAX_TEXT = 200  # a name, a version, a scope list
MAX_URI = 2048
MAX_STATE = 2048  # a client's opaque state, echoed back: some clients sign it, so not tiny
MAX_CODE_CHALLENGE = 128  # S256 gives 43 characters; RFC 7636 allows at most 128
MAX_JWKS_BYTES = 4096
TEXT_FIELDS = ("client_name", "scope", "software_id", "software_version")
URI_FIELDS = ("client_uri", "logo_uri", "tos_uri", "policy_uri", "jwks_uri")
LIST_FIELDS = {  # field: (how many entries, how long each)
    "redirect_uris": (10, MAX_URI),
    "contacts": (5, 320),  # an email address is at most 320 characters
    "grant_types": (5, MAX_TEXT),
    "response_types": (5, MAX_TEXT),
}
UNAPPROVED_CLIENT_TTL = timedelta(hours=24)

REQUESTS_PER_MINUTE = {"/register": 20, "/authorize": 60, "/token": 120, "/revoke": 120}  # per client address
WINDOW_SECONDS = 60.0
MAX_TRACKED_ADDRESSES = 10_000  # past this, windows that have ended are dropped


def _refuse(description: str) -> RegistrationError:
    return RegistrationError("invalid_client_metadata", description)


def check_client_metadata(client: OAuthClientInformationFull) -> None:
    """Refuse metadata beyond our limits, naming the first field over and its limit."""
    for field in TEXT_FIELDS:
        value = getattr(client, field)
        if value is not None and len(value) > MAX_TEXT:
            raise _refuse(f"{field} is longer than {MAX_TEXT} characters.")
    for field in URI_FIELDS:
        value = getattr(client, field)
        if value is not None and len(str(value)) > MAX_URI:
            raise _refuse(f"{field} is longer than {MAX_URI} characters.")
    for field, (count, each) in LIST_FIELDS.items():
        values = getattr(client, field) or []
        if len(values) > count:
            raise _refuse(f"{field} lists more than {count} entries.")
        if any(len(str(value)) > each for value in values):
            raise _refuse(f"Each of {field} is at most {each} characters.")
    if client.jwks is not None and len(json.dumps(client.jwks)) > MAX_JWKS_BYTES:
        raise _refuse(f"jwks is larger than {MAX_JWKS_BYTES} bytes.")


def authorize_params_problem(state: str | None, code_challenge: str, resource: str | None) -> str | None:
    """What /authorize was asked that is too long to keep with a pending request, if anything."""
    for field, value, limit in (
        ("state", state, MAX_STATE),
        ("code_challenge", code_challenge, MAX_CODE_CHALLENGE),
        ("resource", resource, MAX_URI),
    ):
        if value is not None and len(value) > limit:
            return f"{field} is longer than {limit} characters."
    return None


def client_address(request: Request) -> str:
    """Who is asking, for the rate limit: the peer's address (an IPv6 peer by its /64, which one host often holds)."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return host


class SlidingWindow:
    """At most `per_minute` requests per key in any 60 seconds, counted in this process."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}

    def wait(self, key: str) -> int:
        """0, counting this request; or the whole seconds until the key may ask again."""
        now = self.clock()
        if len(self._seen) > MAX_TRACKED_ADDRESSES:
            self._seen = {k: times for k, times in self._seen.items() if times and times[-1] > now - WINDOW_SECONDS}
        times = self._seen.setdefault(key, deque())
        while times and times[0] <= now - WINDOW_SECONDS:
            times.popleft()
        if len(times) >= self.per_minute:
            return max(1, math.ceil(times[0] + WINDOW_SECONDS - now))
        times.append(now)
        return 0


Handler = Callable[[Request], Awaitable[Response]]


def rate_limited(path: str, handler: Handler) -> Handler:
    """`handler` behind the per-address allowance of `path`: past it, 429 with Retry-After."""
    window = SlidingWindow(REQUESTS_PER_MINUTE[path])

    async def limited(request: Request) -> Response:
        wait = window.wait(client_address(request))
        if not wait:
            return await handler(request)
        return JSONResponse(
            {
                "error": "too_many_requests",
                "error_description": (
                    f"Too many requests to {path} from this address ({window.per_minute} a minute); retry in {wait} s."
                ),
            },
            status_code=429,
            headers={"Retry-After": str(wait), "Cache-Control": "no-store"},
        )

    return limited
