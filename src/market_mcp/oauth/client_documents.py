"""Client ID Metadata Documents: an application whose client_id is an HTTPS URL describes itself at that URL.

We fetch the document the first time the application asks and keep it for an hour. The fetch is a request
our server makes to an address a stranger chose, so it is fenced: HTTPS only, public addresses only, no
redirects, a short timeout and a small size cap. A server on loopback (development, tests) may also fetch
http:// documents from loopback.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import anyio
import httpx2
from mcp.server.auth.provider import RegistrationError
from mcp.shared.auth import OAuthClientInformationFull
from pydantic import ValidationError

MAX_DOCUMENT_BYTES = 16 * 1024
FETCH_TIMEOUT_SECONDS = 5.0


def is_document_url(client_id: str) -> bool:
    return client_id.startswith(("https://", "http://"))


def _refuse(description: str) -> RegistrationError:
    return RegistrationError("invalid_client_metadata", description)


def check_url(client_id: str, *, allow_loopback: bool) -> None:
    """The URL rules of the draft: HTTPS, a path, no fragment, no credentials, no dot segments."""
    parts = urlsplit(client_id)
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not (allow_loopback and loopback and parts.scheme == "http"):
        raise _refuse("A client ID metadata document must be served over https.")
    if parts.path in ("", "/") or parts.fragment or parts.username or parts.password:
        raise _refuse("A client ID URL needs a path and no fragment or credentials.")
    if any(segment in (".", "..") for segment in parts.path.split("/")):
        raise _refuse("A client ID URL must not contain . or .. segments.")


async def _check_address(host: str, port: int, *, allow_loopback: bool) -> None:
    """Refuse hosts that resolve to private, loopback or link-local addresses (no reaching inside our network)."""
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise _refuse(f"Could not resolve {host}.") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_loopback and allow_loopback:
            continue
        if not address.is_global:
            raise _refuse(f"{host} is not a public address.")


async def fetch(client_id: str, *, allow_loopback: bool) -> OAuthClientInformationFull:
    """The application described by the document at `client_id`, as a public client (no secret)."""
    check_url(client_id, allow_loopback=allow_loopback)
    parts = urlsplit(client_id)
    await _check_address(parts.hostname or "", parts.port or 443, allow_loopback=allow_loopback)
    try:
        async with httpx2.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=False) as http:
            async with http.stream("GET", client_id, headers={"Accept": "application/json"}) as response:
                if response.status_code != 200:
                    raise _refuse(f"{client_id} answered {response.status_code}, not a metadata document.")
                body = b""
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise _refuse(f"{client_id} is larger than {MAX_DOCUMENT_BYTES} bytes.")
    except httpx2.HTTPError as exc:
        raise _refuse(f"Could not fetch {client_id}: {type(exc).__name__}.") from exc
    try:
        info = OAuthClientInformationFull.model_validate_json(body)
    except ValidationError as exc:
        raise _refuse(f"{client_id} is not a valid client metadata document.") from exc
    if info.client_id != client_id:
        raise _refuse("The document's client_id must be the URL it is served from.")
    if info.client_secret is not None or info.token_endpoint_auth_method not in (None, "none"):
        raise _refuse("A metadata-document client must be public (token_endpoint_auth_method none).")
    if not info.redirect_uris:
        raise _refuse("The document must list redirect_uris.")
    return info.model_copy(update={"token_endpoint_auth_method": "none"})
