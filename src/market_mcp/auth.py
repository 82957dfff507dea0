"""API tokens (issue, hash, verify, revoke) and the OrgContext every service works in."""

from __future__ import annotations

import hmac
import math
import secrets
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import cache
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from market_mcp.db.functions import upsert_insert
from market_mcp.db.tables import ApiToken, OAuthGrant, OAuthToken, Organization, RateLimitWindow, User
from market_mcp.db.types import utcnow
from market_mcp.errors import MISSING_TOKEN, Forbidden, RateLimited, Unauthorized
from market_mcp.schemas.text import SECRET_IN_TEXT
from market_mcp.tokens import ACCESS_TOKEN_PREFIX as ACCESS_TOKEN_PREFIX  # re-exported: found here too
from market_mcp.tokens import TOKEN_PREFIX as TOKEN_PREFIX
from market_mcp.tokens import hash_token as hash_token

LAST_USED_RESOLUTION = timedelta(minutes=1)
# stdio with no token, an organisation name, and a database named in the settings: why the name is not enough.
TOKEN_FOR_NAMED_STORE = (
    "The API token is missing. MARKET_MCP_ORG_NAME lets the server work without one only on this computer's own "
    "store, and MARKET_MCP_DATABASE_URL names another database, which may be shared. Create a token with "
    "`market-mcp token create --org SLUG` and enter it as the extension's API token (MARKET_MCP_TOKEN)."
)


def without_tokens(text: str) -> str:
    """Text with any token in it replaced, for what is logged, audited or repeated back: a model may paste one."""
    return SECRET_IN_TEXT.sub("[token]", text) if "mk_" in text else text


def new_token() -> tuple[str, str, str]:
    """A fresh token: (the token, shown once; its hash, stored; its display prefix)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return raw, hash_token(raw), raw[: len(TOKEN_PREFIX) + 4] + "…"


@dataclass
class OrgContext:
    """Who is calling (organisation, token) and the transaction their call runs in."""

    session: AsyncSession
    organization_id: int
    organization_name: str
    organization_slug: str
    currency: str
    timezone: str
    token_id: int
    token_name: str
    scope: str
    clock: Callable[[], datetime] = utcnow
    touched: list[str] = field(default_factory=list)
    emails_queued: int = 0  # emails this call put in the outbox: its result says so, and delivery is woken
    email_delivery: bool = False  # whether queued email is delivered at all (SMTP configured)
    payment_links: bool = False  # whether Stripe payment links are configured (MARKET_MCP_STRIPE_*)
    public_url: str | None = None  # where vendors reach the HTTP server's pages (MARKET_MCP_PUBLIC_URL): vendor links
    # Payment links this call wants made once its transaction has committed (services.payment_links.Wanted).
    links_wanted: list[Any] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        session: AsyncSession,
        identity: TokenIdentity,
        clock: Callable[[], datetime] = utcnow,
        *,
        email_delivery: bool = False,
        payment_links: bool = False,
        public_url: str | None = None,
    ) -> OrgContext:
        return cls(
            clock=clock,
            email_delivery=email_delivery,
            payment_links=payment_links,
            public_url=public_url,
            session=session,
            organization_id=identity.organization_id,
            organization_name=identity.organization_name,
            organization_slug=identity.organization_slug,
            currency=identity.currency,
            timezone=identity.timezone,
            token_id=identity.token_id,
            token_name=identity.token_name,
            scope=identity.scope,
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def now(self) -> datetime:
        """The current UTC time (the server's clock: tests move it instead of sleeping)."""
        return self.clock()

    def today(self) -> date:
        """Today on the organisation's calendar: markets trade on local dates."""
        return self.now().astimezone(self.tz).date()

    def touch(self, kind: str, *ids: int) -> None:
        """Name records this call changed, for its audit entry."""
        self.touched.extend(f"{kind}:{i}" for i in ids)


@dataclass(frozen=True)
class TokenIdentity:
    """A verified token, as plain values (it outlives the transaction that read it)."""

    token_id: int
    token_name: str
    scope: str
    last_used_at: datetime | None
    organization_id: int
    organization_name: str
    organization_slug: str
    currency: str
    timezone: str
    # A connector's access token: its grant, application, resource (audience) and expiry.
    grant_id: int | None = None
    client_id: str | None = None
    resource: str | None = None
    expires_at: datetime | None = None


async def authenticate(session: AsyncSession, raw: str | None) -> TokenIdentity:
    """The organisation a token acts for, or 401 (missing, unknown, revoked, expired) / 403 (DOMAIN.md's rules).

    Two kinds of token: an organisation API token, and a connector's OAuth access token, which acts through
    the API token its organiser approved it with (so every rule for that token applies to it too).
    """
    if raw and raw.startswith(ACCESS_TOKEN_PREFIX):
        return await _authenticate_access(session, raw)
    if not raw or not raw.startswith(TOKEN_PREFIX):
        raise Unauthorized(MISSING_TOKEN)
    digest = hash_token(raw)
    row = await _token_row(session, "token_hash", digest)
    if row is None or not hmac.compare_digest(row[0].token_hash, digest):
        raise Unauthorized(MISSING_TOKEN)
    return _identity(*row)


# What checking a token reads of the token, its creator and its organisation: one row, read by a statement
# built once per lookup column (no ORM objects: this runs at the start of every call).
_TOKEN_FIELDS = ("id", "token_hash", "name", "scope", "last_used_at", "revoked_at")
_USER_FIELDS = ("organization_id", "email", "active", "role")
_ORG_FIELDS = ("id", "name", "slug", "status", "currency", "timezone")


@cache
def _token_statement(by: str) -> Select[Any]:
    return (
        select(
            *(getattr(ApiToken, name) for name in _TOKEN_FIELDS),
            *(getattr(User, name) for name in _USER_FIELDS),
            *(getattr(Organization, name) for name in _ORG_FIELDS),
        )
        .join_from(ApiToken, User, User.id == ApiToken.user_id)
        .join(Organization, Organization.id == ApiToken.organization_id)
        .where(getattr(ApiToken, by) == bindparam("which"))
    )


async def _token_row(session: AsyncSession, by: str, which: Any) -> Any:
    """The token, its creator and its organisation (as plain records), or None."""
    connection = await session.connection()
    row = (await connection.execute(_token_statement(by), {"which": which})).first()
    if row is None:
        return None
    users = len(_TOKEN_FIELDS) + len(_USER_FIELDS)
    return (
        SimpleNamespace(**dict(zip(_TOKEN_FIELDS, row[: len(_TOKEN_FIELDS)], strict=True))),
        SimpleNamespace(**dict(zip(_USER_FIELDS, row[len(_TOKEN_FIELDS) : users], strict=True))),
        SimpleNamespace(**dict(zip(_ORG_FIELDS, row[users:], strict=True))),
    )


async def _authenticate_access(session: AsyncSession, raw: str) -> TokenIdentity:
    digest = hash_token(raw)
    row = (
        await session.execute(
            select(OAuthToken, OAuthGrant, ApiToken, User, Organization)
            .join(OAuthGrant, OAuthGrant.id == OAuthToken.grant_id)
            .join(ApiToken, ApiToken.id == OAuthGrant.api_token_id)
            .join(User, User.id == ApiToken.user_id)
            .join(Organization, Organization.id == ApiToken.organization_id)
            .where(OAuthToken.token_hash == digest, OAuthToken.kind == "access", OAuthGrant.status == "active")
        )
    ).first()
    if row is None or not hmac.compare_digest(row[0].token_hash, digest):
        raise Unauthorized(MISSING_TOKEN)
    access, grant, token, user, org = row
    if access.expires_at <= utcnow():
        raise Unauthorized("The access token has expired; the application should refresh it or sign in again.")
    identity = _identity(token, user, org)
    return replace(
        identity,
        token_name=f"{grant.client_name} via {token.name}",
        last_used_at=grant.last_used_at,  # the connector's own, so its first use is recorded however busy the token
        scope="write" if access.scope == "write" and identity.scope == "write" else "read",
        grant_id=grant.id,
        client_id=grant.client_id,
        resource=grant.resource,
        expires_at=access.expires_at,
    )


async def authenticate_local(session: AsyncSession, token_id: int) -> TokenIdentity:
    """The organisation of a local store, acting through its own token (services.organizations.set_up_local):
    no secret to check, and every other rule of a token applies (revoked: 401; draft, creator gone: 403)."""
    row = await _token_row(session, "id", token_id)
    if row is None or row[0].revoked_at is not None:
        slug = row[2].slug if row is not None else "SLUG"
        raise Unauthorized(
            f"This computer's own token was revoked, so the server no longer acts for the organisation without "
            f"one. Create a token with `market-mcp token create --org {slug}` and enter it as the extension's "
            "API token (MARKET_MCP_TOKEN)."
        )
    return _identity(*row)


def _identity(token: Any, user: Any, org: Any) -> TokenIdentity:
    if token.revoked_at is not None:
        raise Unauthorized(MISSING_TOKEN)
    if user.organization_id != org.id:
        raise Forbidden(
            f"This token's creator ({user.email}) is no longer a member of {org.name}; create a new token.",
            scope=token.scope,
        )
    if not user.active:
        raise Forbidden(
            f"This token's creator ({user.email}) has been deactivated; create a new token.", scope=token.scope
        )
    if user.role != "admin":
        raise Forbidden(
            f"This token's creator ({user.email}) is no longer an admin; create a new token.", scope=token.scope
        )
    if org.status != "active":
        raise Forbidden(
            f"{org.name} is in draft; activate it with `market-mcp org set-status {org.slug} active` to use its tokens.",
            scope=token.scope,
        )
    return TokenIdentity(
        token_id=token.id,  # type: ignore[arg-type]
        token_name=token.name,
        scope=token.scope,
        last_used_at=token.last_used_at,
        organization_id=org.id,  # type: ignore[arg-type]
        organization_name=org.name,
        organization_slug=org.slug,
        currency=org.currency,
        timezone=org.timezone,
    )


def use_is_stale(identity: TokenIdentity) -> bool:
    """Whether last_used_at is due an update: at most once a minute, so reads do not turn into writes."""
    return identity.last_used_at is None or utcnow() - identity.last_used_at > LAST_USED_RESOLUTION


async def mark_used(session: AsyncSession, identity: TokenIdentity) -> None:
    now = utcnow()
    await session.execute(update(ApiToken).where(ApiToken.id == identity.token_id).values(last_used_at=now))
    if identity.grant_id is not None:
        await session.execute(update(OAuthGrant).where(OAuthGrant.id == identity.grant_id).values(last_used_at=now))


class RateLimiter:
    """Tool calls per minute per token: a token bucket per token, in this process.

    Each token may burst up to `per_minute` calls, refilled evenly over the minute.
    """

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._buckets: dict[int, tuple[float, float]] = {}  # token id -> (tokens left, at monotonic time)

    def check(self, token_id: int) -> None:
        now = time.monotonic()
        left, at = self._buckets.get(token_id, (float(self.per_minute), now))
        left = min(float(self.per_minute), left + (now - at) * self._rate)
        if left < 1.0:
            self._buckets[token_id] = (left, now)
            wait = math.ceil((1.0 - left) / self._rate)
            raise RateLimited(
                f"Rate limit of {self.per_minute} requests per minute reached; retry in {wait} s.", retry_after=wait
            )
        self._buckets[token_id] = (left - 1.0, now)


class OncePerMinute:
    """Whether something is the first of its kind this minute: what bounds the audit rows a flood of refused
    calls can write (one per token, tool and refusal, each minute, in each process)."""

    def __init__(self, most: int = 10_000) -> None:
        self._seen: dict[Hashable, int] = {}
        self._most = most

    def first(self, key: Hashable, now: datetime) -> bool:
        minute = int(now.timestamp() // 60)
        if self._seen.get(key) == minute:
            return False
        if len(self._seen) >= self._most:  # old minutes are of no use: start again rather than grow
            self._seen.clear()
        self._seen[key] = minute
        return True


async def check_shared_limit(session: AsyncSession, identity: TokenIdentity, per_minute: int, now: datetime) -> None:
    """The rate limit counted in the database, so every replica on it shares one allowance per token: refused
    (429) when this minute's window is full. Reads only: a refused call writes nothing; count_call counts one
    that was let through."""
    window = now.replace(second=0, microsecond=0)
    calls = await session.scalar(
        select(RateLimitWindow.calls).where(
            RateLimitWindow.token_id == identity.token_id, RateLimitWindow.window_start == window
        )
    )
    if calls is not None and calls >= per_minute:
        _refuse_until_next_minute(per_minute, window, now)


async def count_call(session: AsyncSession, identity: TokenIdentity, per_minute: int, now: datetime) -> None:
    """One call more in the token's window (a fixed minute): one upsert per call (PostgreSQL and SQLite alike),
    which also clears the token's windows that have ended. Refused (429) if another replica filled the window
    since check_shared_limit looked."""
    window = now.replace(second=0, microsecond=0)
    insert = upsert_insert(session.bind.dialect.name)  # type: ignore[union-attr]
    stmt = insert(RateLimitWindow).values(
        token_id=identity.token_id, window_start=window, organization_id=identity.organization_id, calls=1
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["token_id", "window_start"], set_={"calls": RateLimitWindow.calls + 1}
    ).returning(RateLimitWindow.calls)
    calls = (await session.execute(stmt)).scalar_one()
    await session.execute(
        delete(RateLimitWindow).where(
            RateLimitWindow.token_id == identity.token_id,
            RateLimitWindow.window_start < window,  # type: ignore[operator]
        )
    )
    if calls > per_minute:
        _refuse_until_next_minute(per_minute, window, now)


def _refuse_until_next_minute(per_minute: int, window: datetime, now: datetime) -> None:
    wait = max(1, math.ceil((window + timedelta(minutes=1) - now).total_seconds()))
    raise RateLimited(f"Rate limit of {per_minute} requests per minute reached; retry in {wait} s.", retry_after=wait)
