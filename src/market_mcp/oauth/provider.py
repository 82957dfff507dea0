"""market-mcp as an OAuth 2.1 authorization server for its own organisations, on the MCP SDK's auth support.

The SDK serves the protocol (metadata, /authorize, /token, /register, /revoke, PKCE and redirect checks);
this module is the storage and policy behind it:

- an application registers (RFC 7591) or names itself by a metadata document's URL (client_documents);
- /authorize records the request as a pending grant and sends the organiser to the consent page;
- the organiser approves with an organisation API token (consent.py): the grant is tied to that token, and
  revoking the token, or the grant (`market-mcp token revoke cN`, or /revoke), ends it;
- codes, access tokens and refresh tokens are random, stored as SHA-256 hashes, bound to the resource
  (this server's /mcp) and single-use where the protocol says so: a second use of a code or of a rotated
  refresh token revokes the whole grant, since one of the two holders is a thief.

Scopes: `markets:read` sees the read tools; `markets:write` adds the rest, as API tokens' read and write.
"""

from __future__ import annotations

import re
import secrets
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    RegistrationError,
    TokenError,
    construct_redirect_uri,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import Field
from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from market_mcp.auth import TokenIdentity, authenticate, hash_token
from market_mcp.db import Database
from market_mcp.db.tables import ApiToken, OAuthClient, OAuthGrant
from market_mcp.db.tables import OAuthToken as OAuthTokenRow
from market_mcp.db.types import utcnow
from market_mcp.errors import Forbidden, Unauthorized
from market_mcp.oauth import client_documents
from market_mcp.oauth.limits import UNAPPROVED_CLIENT_TTL, authorize_params_problem, check_client_metadata

READ, WRITE = "markets:read", "markets:write"
SCOPES = [READ, WRITE]
ACCESS_PREFIX, REFRESH_PREFIX, CODE_PREFIX = "mk_at_", "mk_rt_", "mk_code_"
ACCESS_TTL = timedelta(hours=1)
REFRESH_TTL = timedelta(days=30)
CODE_TTL = timedelta(minutes=5)
REQUEST_TTL = timedelta(minutes=10)
DOCUMENT_TTL = timedelta(hours=1)
SECRET_HASH = "sha256:"  # what a stored client_secret starts with: we keep its hash, never the secret
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
REVERSE_DNS_SCHEME = re.compile(r"[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+\Z")  # an app's own scheme: com.example.app


def oauth_scopes(scope: str) -> list[str]:
    """An internal scope ('read' | 'write') as OAuth scopes."""
    return SCOPES if scope == "write" else [READ]


def internal_scope(scopes: list[str]) -> str:
    return "write" if WRITE in scopes else "read"


def same_resource(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def auth_settings(public_url: str) -> AuthSettings:
    return AuthSettings(
        issuer_url=public_url,  # type: ignore[arg-type]
        resource_server_url=f"{public_url}/mcp",  # type: ignore[arg-type]
        validate_token_resource=True,  # the SDK refuses an access token issued for another resource
        client_registration_options=ClientRegistrationOptions(enabled=True, valid_scopes=SCOPES, default_scopes=SCOPES),
        revocation_options=RevocationOptions(enabled=True),
    )


def hash_secret(secret: str) -> str:
    return SECRET_HASH + hash_token(secret)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _new(prefix: str) -> tuple[str, str]:
    raw = prefix + secrets.token_urlsafe(32)
    return raw, hash_token(raw)


@dataclass(frozen=True)
class Request:
    """A pending authorization request, as the consent page shows it."""

    grant_id: int
    client: OAuthClientInformationFull
    scopes: list[str]  # what the application asked for
    redirect_uri: str
    state: str | None
    expired: bool


class VerifiedToken(AccessToken):
    """A request's bearer token as the SDK's middleware checked it, with whom it identified: the request's
    call uses that identity rather than looking the token up a second time (MarketServer.caller)."""

    identity: TokenIdentity | None = Field(default=None, exclude=True)


class MarketAuthorization:
    """The SDK's OAuthAuthorizationServerProvider over our tables (and its token verifier, for both token kinds)."""

    def __init__(self, db: Database, public_url: str) -> None:
        self.db = db
        self.issuer = public_url
        self.resource = f"{public_url}/mcp"
        self.on_loopback = urlsplit(public_url).hostname in LOOPBACK_HOSTS

    # Applications ------------------------------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        async with self.db.transaction() as session:
            row = await session.get(OAuthClient, client_id)
        fresh = row is not None and (
            not row.metadata_document or (row.fetched_at and utcnow() - row.fetched_at < DOCUMENT_TTL)
        )
        if fresh:
            return OAuthClientInformationFull.model_validate(row.info)  # type: ignore[union-attr]
        if not client_documents.is_document_url(client_id) or len(client_id) > 2048:
            return None
        try:
            info = await client_documents.fetch(client_id, allow_loopback=self.on_loopback)
            check_client_metadata(info)
            _check_redirect_uris(info)
        except RegistrationError:
            return None  # the SDK answers "client not found"; the document's problem is not ours to echo
        if info.scope is None:
            info.scope = " ".join(SCOPES)
        with suppress(IntegrityError):  # another request stored the same document a moment ago
            async with self.db.transaction(write=True) as session:
                stored = await session.get(OAuthClient, client_id) or OAuthClient(client_id=client_id, info={})
                stored.info, stored.metadata_document, stored.fetched_at = info.model_dump(mode="json"), True, utcnow()
                session.add(stored)
        return info

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        check_client_metadata(client_info)
        _check_redirect_uris(client_info)
        secret = client_info.client_secret
        stored = client_info.model_copy(update={"client_secret": hash_secret(secret) if secret else None})
        async with self.db.transaction(write=True) as session:
            await _forget_unapproved_clients(session)
            session.add(OAuthClient(client_id=client_info.client_id, info=stored.model_dump(mode="json")))

    # Authorization -----------------------------------------------------------------------------------------

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        too_long = authorize_params_problem(params.state, params.code_challenge, params.resource)
        if too_long:
            raise AuthorizeError("invalid_request", too_long)
        if params.resource is not None and not same_resource(params.resource, self.resource):
            raise AuthorizeError("invalid_target", f"This server can only grant access to {self.resource}.")
        # Asking for nothing in particular is asking for what the application registered, never more.
        scopes = params.scopes or (client.scope.split() if client.scope else SCOPES)
        unknown = [scope for scope in scopes if scope not in SCOPES]
        if unknown:
            raise AuthorizeError("invalid_scope", f"Unknown scope {unknown[0]}; ask for {READ} or {WRITE}.")
        request_id = secrets.token_urlsafe(32)
        now = utcnow()
        async with self.db.transaction(write=True) as session:
            # Requests nobody answered are of no use to anyone.
            await session.execute(
                delete(OAuthGrant).where(OAuthGrant.status == "pending", OAuthGrant.expires_at < now)  # type: ignore[operator]
            )
            session.add(
                OAuthGrant(
                    client_id=client.client_id,
                    client_name=display_name(client),
                    request_hash=hash_token(request_id),
                    csrf_hash="",
                    request={
                        "scopes": scopes,
                        "state": params.state,
                        "code_challenge": params.code_challenge,
                        "redirect_uri": str(params.redirect_uri),
                        "redirect_uri_provided_explicitly": params.redirect_uri_provided_explicitly,
                    },
                    resource=self.resource,
                    expires_at=now + REQUEST_TTL,
                )
            )
        return f"{self.issuer}/consent?request={request_id}"

    async def pending(self, session: AsyncSession, request_id: str) -> Request | None:
        """The pending request behind a consent page, or None (unknown, or already answered)."""
        row = (
            await session.execute(
                select(OAuthGrant, OAuthClient)
                .join(OAuthClient)
                .where(OAuthGrant.request_hash == hash_token(request_id), OAuthGrant.status == "pending")
            )
        ).first()
        if row is None:
            return None
        grant, client = row
        return Request(
            grant_id=grant.id,  # type: ignore[arg-type]
            client=OAuthClientInformationFull.model_validate(client.info),
            scopes=grant.request["scopes"],
            redirect_uri=grant.request["redirect_uri"],
            state=grant.request["state"],
            expired=grant.expires_at < utcnow(),
        )

    async def set_csrf(self, session: AsyncSession, request: Request) -> str:
        """A fresh anti-forgery secret for the consent form (sent as a cookie and as a hidden field)."""
        csrf = secrets.token_urlsafe(32)
        await session.execute(
            update(OAuthGrant).where(OAuthGrant.id == request.grant_id).values(csrf_hash=hash_token(csrf))
        )
        return csrf

    async def csrf_matches(self, session: AsyncSession, request: Request, csrf: str) -> bool:
        stored = (await session.execute(select(OAuthGrant.csrf_hash).where(OAuthGrant.id == request.grant_id))).scalar()
        return bool(stored) and secrets.compare_digest(stored or "", hash_token(csrf))

    async def approve(self, session: AsyncSession, request: Request, identity: TokenIdentity, scope: str) -> str:
        """The organiser said yes: the grant becomes theirs and the application gets a code. The redirect URL."""
        code, code_hash = _new(CODE_PREFIX)
        now = utcnow()
        await session.execute(
            update(OAuthGrant)
            .where(OAuthGrant.id == request.grant_id)
            .values(
                status="active",
                organization_id=identity.organization_id,
                api_token_id=identity.token_id,
                scope=scope,
                approved_at=now,
                csrf_hash="",
            )
        )
        session.add(
            OAuthTokenRow(
                token_hash=code_hash,
                grant_id=request.grant_id,
                organization_id=identity.organization_id,
                kind="code",
                scope=scope,
                expires_at=now + CODE_TTL,
            )
        )
        return construct_redirect_uri(request.redirect_uri, code=code, state=request.state, iss=self.issuer)

    async def deny(self, session: AsyncSession, request: Request) -> str:
        await session.execute(
            update(OAuthGrant).where(OAuthGrant.id == request.grant_id).values(status="denied", csrf_hash="")
        )
        return construct_redirect_uri(
            request.redirect_uri,
            error="access_denied",
            error_description="The organiser declined.",
            state=request.state,
            iss=self.issuer,
        )

    # Codes and tokens --------------------------------------------------------------------------------------

    async def _load(self, session: AsyncSession, raw: str, kind: str) -> tuple[OAuthTokenRow, OAuthGrant] | None:
        row = (
            await session.execute(
                select(OAuthTokenRow, OAuthGrant)
                .join(OAuthGrant, OAuthGrant.id == OAuthTokenRow.grant_id)
                .where(OAuthTokenRow.token_hash == hash_token(raw), OAuthTokenRow.kind == kind)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def _stolen(self, grant: OAuthGrant) -> None:
        """A code or refresh token used twice: end the grant, whoever holds its tokens."""
        async with self.db.transaction(write=True) as session:
            await _revoke_grant(session, grant.id)  # type: ignore[arg-type]

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        async with self.db.transaction() as session:
            found = await self._load(session, authorization_code, "code")
        if found is None:
            return None
        code, grant = found
        if code.used_at is not None:
            await self._stolen(grant)
            return None
        if grant.status != "active" or grant.client_id != client.client_id:
            return None
        request = grant.request
        return AuthorizationCode(
            code=authorization_code,
            scopes=oauth_scopes(code.scope),
            expires_at=code.expires_at.timestamp(),
            client_id=grant.client_id,
            code_challenge=request["code_challenge"],
            redirect_uri=request["redirect_uri"],
            redirect_uri_provided_explicitly=request["redirect_uri_provided_explicitly"],
            resource=grant.resource,
            subject=f"organization:{grant.organization_id}",
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        async with self.db.transaction(write=True) as session:
            found = await self._load(session, authorization_code.code, "code")
            if found is None or not await _use(session, found[0]):
                raise TokenError("invalid_grant", "This authorization code was already used.")
            return await self._issue(session, found[1], found[0].scope)

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        async with self.db.transaction() as session:
            found = await self._load(session, refresh_token, "refresh")
            vouched = found is not None and await _vouched(session, found[1])
        if found is None:
            return None
        token, grant = found
        if token.used_at is not None:
            await self._stolen(grant)
            return None
        if grant.status != "active" or grant.client_id != client.client_id or not vouched:
            return None
        return RefreshToken(
            token=refresh_token,
            client_id=grant.client_id,
            scopes=oauth_scopes(token.scope),
            expires_at=_epoch(token.expires_at),
            resource=grant.resource,
            subject=f"organization:{grant.organization_id}",
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        async with self.db.transaction(write=True) as session:
            found = await self._load(session, refresh_token.token, "refresh")
            if found is None or not await _use(session, found[0]):
                raise TokenError("invalid_grant", "This refresh token was already used.")
            return await self._issue(session, found[1], internal_scope(scopes))

    async def _issue(self, session: AsyncSession, grant: OAuthGrant, scope: str) -> OAuthToken:
        access, access_hash = _new(ACCESS_PREFIX)
        refresh, refresh_hash = _new(REFRESH_PREFIX)
        now = utcnow()
        session.add_all(
            OAuthTokenRow(
                token_hash=token_hash,
                grant_id=grant.id,
                organization_id=grant.organization_id,
                kind=kind,
                scope=scope,
                expires_at=now + ttl,
            )
            for token_hash, kind, ttl in ((access_hash, "access", ACCESS_TTL), (refresh_hash, "refresh", REFRESH_TTL))
        )
        return OAuthToken(
            access_token=access,
            token_type="Bearer",
            expires_in=int(ACCESS_TTL.total_seconds()),
            scope=" ".join(oauth_scopes(scope)),
            refresh_token=refresh,
        )

    async def load_access_token(self, token: str) -> AccessToken | None:
        """Every HTTP request's bearer token, either kind: an organisation API token or an OAuth access token."""
        try:
            async with self.db.transaction() as session:
                identity = await authenticate(session, token)
        except Unauthorized:
            return None
        except Forbidden:
            # A known token that may not act (draft organisation, deactivated creator): the call says 403 and
            # why, under an identity of the token's own (the SDK ties a session to it).
            return AccessToken(
                token=token, client_id=f"refused:{hash_token(token)[:16]}", scopes=[], resource=self.resource
            )
        if identity.grant_id is None:
            # API tokens are for this server only: their audience is this resource.
            verified = VerifiedToken(
                token=token,
                client_id=f"api-token:{identity.token_id}",
                scopes=oauth_scopes(identity.scope),
                resource=self.resource,
            )
        else:
            verified = VerifiedToken(
                token=token,
                client_id=identity.client_id or "",
                scopes=oauth_scopes(identity.scope),
                expires_at=_epoch(identity.expires_at) if identity.expires_at else None,
                resource=identity.resource,
                subject=f"organization:{identity.organization_id}",
            )
        verified.identity = identity
        return verified

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        async with self.db.transaction(write=True) as session:
            grant_id = (
                await session.execute(
                    select(OAuthTokenRow.grant_id).where(OAuthTokenRow.token_hash == hash_token(token.token))
                )
            ).scalar()
            if grant_id is not None:
                await _revoke_grant(session, grant_id)


def _check_redirect_uris(client: OAuthClientInformationFull) -> None:
    uris = client.redirect_uris or []
    if not uris:
        raise RegistrationError("invalid_redirect_uri", "Register at least one redirect_uri.")
    for uri in uris:
        refusal = redirect_uri_problem(str(uri))
        if refusal:
            raise RegistrationError("invalid_redirect_uri", f"{uri} {refusal}")


def redirect_uri_problem(uri: str) -> str | None:
    """Why `uri` may not be a redirect URI, or None. An allowlist (OAuth 2.1, RFC 8252): https; http to loopback
    only; an app's own scheme only as a reverse domain name (com.example.app:/callback); never user information
    (claude.ai@evil.example is evil.example) nor a fragment."""
    parts = urlsplit(uri)
    if "#" in uri:
        return "has a fragment; redirect URIs may not."
    if "@" in parts.netloc:
        return "carries user information before an @; name the host alone."
    if parts.scheme == "https":
        return None if parts.hostname else "has no host."
    if parts.scheme == "http":
        return None if parts.hostname in LOOPBACK_HOSTS else "must use https (http is for loopback only)."
    if REVERSE_DNS_SCHEME.match(parts.scheme):
        return None
    return "is not https, loopback http, or an app's own reverse-domain scheme (com.example.app:/callback)."


def return_host(redirect_uri: str) -> str:
    """Where a redirect URI sends the organiser, as the consent page names it: the bare host of a web address
    (no user information, no port), or the app an app's own scheme opens (com.example.app)."""
    parts = urlsplit(redirect_uri)
    web = parts.scheme in ("https", "http")
    return (parts.hostname if web else parts.scheme) or redirect_uri


async def _forget_unapproved_clients(session: AsyncSession) -> None:
    """Applications registered over a day ago that no organiser ever approved: nobody is waiting for them."""
    approved = exists().where(
        OAuthGrant.client_id == OAuthClient.client_id,
        OAuthGrant.status.in_(("active", "revoked")),  # type: ignore[attr-defined]
    )
    unapproved = select(OAuthClient.client_id).where(
        OAuthClient.created_at < utcnow() - UNAPPROVED_CLIENT_TTL,  # type: ignore[operator]
        ~approved,
    )
    await session.execute(delete(OAuthGrant).where(OAuthGrant.client_id.in_(unapproved)))  # type: ignore[attr-defined]
    await session.execute(delete(OAuthClient).where(OAuthClient.client_id.in_(unapproved)))  # type: ignore[attr-defined]


async def _use(session: AsyncSession, token: OAuthTokenRow) -> bool:
    """Spend a single-use code or refresh token; False if another request spent it first."""
    spent = await session.execute(
        update(OAuthTokenRow)
        .where(OAuthTokenRow.token_hash == token.token_hash, OAuthTokenRow.used_at.is_(None))  # type: ignore[union-attr]
        .values(used_at=utcnow())
    )
    return spent.rowcount == 1  # type: ignore[attr-defined]


async def _vouched(session: AsyncSession, grant: OAuthGrant) -> bool:
    """Whether the API token the organiser approved with still stands (its other rules are checked on use)."""
    token = await session.get(ApiToken, grant.api_token_id)
    return token is not None and token.revoked_at is None


async def _revoke_grant(session: AsyncSession, grant_id: int) -> None:
    now = utcnow()
    await session.execute(
        update(OAuthGrant)
        .where(OAuthGrant.id == grant_id, OAuthGrant.status == "active")
        .values(status="revoked", revoked_at=now)
    )
    await session.execute(delete(OAuthTokenRow).where(OAuthTokenRow.grant_id == grant_id))


async def grants_of(session: AsyncSession, organization_id: int) -> list[OAuthGrant]:
    """An organisation's connector grants, active and revoked."""
    rows = await session.execute(
        select(OAuthGrant)
        .where(OAuthGrant.organization_id == organization_id, OAuthGrant.status.in_(("active", "revoked")))  # type: ignore[attr-defined]
        .order_by(OAuthGrant.id)
    )
    return list(rows.scalars())


def display_name(client: OAuthClientInformationFull) -> str:
    """What the application calls itself (self-asserted: the consent page says so), kept short."""
    name = " ".join((client.client_name or "").split())[:100]
    return name or "An unnamed application"


async def revoke_grant(session: AsyncSession, grant_id: int) -> OAuthGrant | None:
    grant = await session.get(OAuthGrant, grant_id)
    if grant is None or grant.status not in ("active", "revoked"):
        return None
    await _revoke_grant(session, grant_id)
    await session.refresh(grant)
    return grant
