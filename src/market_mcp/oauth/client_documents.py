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


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return address.is_global


async def _checked_address(host: str, port: int, *, allow_loopback: bool) -> str:
    """The address to fetch from, resolved once: every address the name has must be public (no reaching inside
    our network), and the fetch connects to the one checked, so a second lookup cannot answer otherwise."""
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise _refuse(f"Could not resolve {host}.") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if not (is_public(address) or (address.is_loopback and allow_loopback)):
            raise _refuse(f"{host} is not a public address.")
    if not addresses:
        raise _refuse(f"Could not resolve {host}.")
    return str(addresses[0])


async def fetch(client_id: str, *, allow_loopback: bool) -> OAuthClientInformationFull:
    """The application described by the document at `client_id`, as a public client (no secret)."""
    check_url(client_id, allow_loopback=allow_loopback)
    url = httpx2.URL(client_id)
    port = url.port or (443 if url.scheme == "https" else 80)
    address = await _checked_address(url.host, port, allow_loopback=allow_loopback)
    # To the checked address; the Host header and TLS (SNI and the certificate's name) still say the host's name.
    headers = {"Accept": "application/json", "Host": url.netloc.decode()}
    try:
        async with httpx2.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=False) as http:
            to_address = url.copy_with(host=address)
            extensions = {"sni_hostname": url.host}
            async with http.stream("GET", to_address, headers=headers, extensions=extensions) as response:
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
