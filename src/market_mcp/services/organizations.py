"""Organisations, their admins and their API tokens: the operator's side (the command line), not a tool's."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from market_mcp.auth import new_token
from market_mcp.db.tables import ORG_STATUSES, ApiToken, OAuthGrant, Organization, User
from market_mcp.db.types import utcnow
from market_mcp.errors import Conflict, Invalid, NotFound
from market_mcp.services.markets import slugify

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
LOCAL_TOKEN_NAME = "This computer (local)"


async def get_organization(session: AsyncSession, slug: str) -> Organization:
    org = (await session.execute(select(Organization).where(Organization.slug == slug))).scalar_one_or_none()
    if org is None:
        raise NotFound(f"Organisation {slug!r} not found; see `market-mcp org list`.")
    return org


async def create_organization(
    session: AsyncSession,
    *,
    name: str,
    slug: str,
    admin_email: str | None = None,
    currency: str = "AUD",
    timezone: str = "Australia/Melbourne",
) -> tuple[Organization, User]:
    """A new, active organisation with its first admin (every token is created by a user)."""
    if not name.strip():
        raise Invalid("name cannot be empty.")
    if not SLUG.match(slug) or len(slug) > 64:
        raise Invalid(f"slug must be lowercase letters, digits and hyphens (e.g. riverside-markets); got {slug!r}.")
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise Invalid(f"currency must be a three-letter ISO 4217 code such as AUD; got {currency!r}.")
    if timezone not in available_timezones():
        raise Invalid(f"timezone must be an IANA name such as Australia/Melbourne; got {timezone!r}.")
    if (await session.execute(select(Organization.id).where(Organization.slug == slug))).first():
        raise Conflict(f"An organisation with slug {slug!r} already exists.")
    org = Organization(name=name.strip(), slug=slug, currency=currency, timezone=timezone, status="active")
    session.add(org)
    await session.flush()
    user = User(organization_id=org.id, email=admin_email or f"admin@{slug}.invalid", name="Admin", role="admin")  # type: ignore[arg-type]
    session.add(user)
    await session.flush()
    return org, user


GST_CURRENCIES = ("AUD", "NZD", "SGD", "INR", "CAD", "MYR")  # where a sales tax on stall fees is called GST


def _basis_points(rate: str) -> int | None:
    """A tax rate in percent ("10", "7.5", "8.1%") in hundredths of a percent; "" or 0: no tax."""
    text = rate.strip().removesuffix("%").strip()
    if not text:
        return None
    found = re.fullmatch(r"(\d{1,3})(?:\.(\d{1,2}))?", text)
    if found is None or int(found.group(1)) > 100:
        raise Invalid(
            f"tax rate must be a percentage from 0 to 100 with at most two decimals, such as 10; got {rate!r}."
        )
    points = int(found.group(1)) * 100 + int((found.group(2) or "0").ljust(2, "0"))
    if points > 10_000:
        raise Invalid(f"tax rate must be at most 100; got {rate!r}.")
    return points or None


async def set_invoice_details(
    session: AsyncSession,
    slug: str,
    *,
    legal_name: str | None = None,
    tax_number: str | None = None,
    tax_rate: str | None = None,
    tax_label: str | None = None,
) -> Organization:
    """What the organisation's invoices and receipts say: None leaves a detail as it is, "" clears it."""
    org = await get_organization(session, slug)
    for name, value, longest in (("legal name", legal_name, 200), ("tax number", tax_number, 40)):
        if value is not None and len(" ".join(value.split())) > longest:
            raise Invalid(f"{name} must be at most {longest} characters.")
    if tax_label is not None and not re.fullmatch(r"[\w .-]{0,16}", tax_label.strip()):
        raise Invalid(f"tax label must be a short word such as GST or VAT (16 characters at most); got {tax_label!r}.")
    if legal_name is not None:
        org.legal_name = " ".join(legal_name.split()) or None
    if tax_number is not None:
        org.tax_number = " ".join(tax_number.split()) or None
    if tax_rate is not None:
        org.tax_rate_basis_points = _basis_points(tax_rate)
    if tax_label is not None:
        org.tax_label = tax_label.strip() or None
    if org.tax_rate_basis_points and not org.tax_label:
        org.tax_label = "GST" if org.currency in GST_CURRENCIES else "VAT"
    session.add(org)
    await session.flush()
    return org


def invoice_details(org: Organization) -> dict[str, Any]:
    """The organisation's invoice details as `org invoice-details --json` prints them."""
    rate = org.tax_rate_basis_points
    return {
        "slug": org.slug,
        "name": org.name,
        "legal_name": org.legal_name,
        "tax_number": org.tax_number,
        "tax_rate": None if rate is None else rate / 100,
        "tax_label": org.tax_label,
        "invoices_issued": org.invoices_issued,
        "receipts_issued": org.receipts_issued,
    }


async def list_organizations(session: AsyncSession) -> list[tuple[Organization, int]]:
    """Each organisation with its number of live tokens."""
    live = (
        select(func.count())
        .where(ApiToken.organization_id == Organization.id, ApiToken.revoked_at.is_(None))  # type: ignore[union-attr]
        .correlate(Organization)
        .scalar_subquery()
    )
    rows = await session.execute(select(Organization, live).order_by(Organization.slug))
    return [(org, tokens) for org, tokens in rows.all()]


async def set_status(session: AsyncSession, slug: str, status: str) -> Organization:
    if status not in ORG_STATUSES:
        raise Invalid(f"status must be one of {', '.join(ORG_STATUSES)}; got {status!r}.")
    org = await get_organization(session, slug)
    org.status = status
    session.add(org)
    return org


async def create_token(
    session: AsyncSession, *, slug: str, name: str | None = None, read_only: bool = False
) -> tuple[ApiToken, str]:
    """A new token for the organisation's first active admin: (its row, the token itself, shown only now)."""
    org = await get_organization(session, slug)
    creator = (
        (
            await session.execute(
                select(User)
                .where(User.organization_id == org.id, User.role == "admin", User.active.is_(True))  # type: ignore[attr-defined]
                .order_by(User.id)
            )
        )
        .scalars()
        .first()
    )
    if creator is None:
        raise Conflict(f"Organisation {slug!r} has no active admin to create a token for.")
    raw, digest, prefix = new_token()
    token = ApiToken(
        organization_id=org.id,  # type: ignore[arg-type]
        user_id=creator.id,  # type: ignore[arg-type]
        name=(name or f"{'read-only' if read_only else 'write'} token").strip()[:100],
        scope="read" if read_only else "write",
        prefix=prefix,
        token_hash=digest,
    )
    session.add(token)
    await session.flush()
    return token, raw


async def list_tokens(session: AsyncSession, slug: str) -> list[ApiToken]:
    org = await get_organization(session, slug)
    rows = await session.execute(select(ApiToken).where(ApiToken.organization_id == org.id).order_by(ApiToken.id))
    return list(rows.scalars())


async def revoke_token(session: AsyncSession, token_id: int) -> ApiToken:
    token = await session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"Token {token_id} not found; see `market-mcp token list --org SLUG`.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        # The connectors an organiser approved with this token stood on it: they end with it.
        await session.execute(
            update(OAuthGrant)
            .where(OAuthGrant.api_token_id == token_id, OAuthGrant.status == "active")
            .values(status="revoked", revoked_at=token.revoked_at)
        )
    return token


def slug_for(name: str) -> str:
    """The local organisation's slug, made from its name as a market's is."""
    return slugify(name, fallback="local")


@dataclass
class LocalSetUp:
    """This computer's organisation and the token the server acts through for it."""

    organization: Organization
    token_id: int
    changes: list[str] = field(default_factory=list)  # what this start did, in sentences for the log


async def set_up_local(
    session: AsyncSession,
    *,
    name: str,
    timezone: str,
    currency: str,
    invoice_details: dict[str, str | None] | None = None,
) -> LocalSetUp:
    """The organisation a local store (stdio, no token) works for: found, or set up on first start.

    The server acts through a token of its own, LOCAL_TOKEN_NAME, whose secret is never kept: the same
    rules as any token apply (revoked: 401; organisation in draft: 403) and its name is in the audit log.
    The store has one local organisation, the one holding that token: changing the name, timezone or
    currency in the settings changes it rather than starting a second one (its slug stays, so
    `token create --org SLUG` keeps working). Invoice details given in the settings (legal name, tax number,
    rate, label) are set too; one left blank stays as it is (`org invoice-details` may have set it). On first start, an organisation already in the store under
    the name's slug (one made with `org create`, say) is the one used.
    """
    found = (
        await session.execute(
            select(ApiToken, Organization)
            .join(Organization, Organization.id == ApiToken.organization_id)
            .where(ApiToken.name == LOCAL_TOKEN_NAME)
            .order_by(ApiToken.id)
            .limit(1)
        )
    ).first()
    if found is not None:
        token, org = found
        changes = _follow(session, org, name=name, timezone=timezone, currency=currency)
        changes += await _follow_invoice_details(session, org, invoice_details or {})
        return LocalSetUp(org, token.id, changes)  # type: ignore[arg-type]
    slug = slug_for(name)
    org = (await session.execute(select(Organization).where(Organization.slug == slug))).scalar_one_or_none()
    if org is None:
        org, _ = await create_organization(session, name=name, slug=slug, timezone=timezone, currency=currency)
        changes = [f"Set up {org.name} ({org.slug}) on this computer, in {currency} and {timezone}."]
    else:
        changes = [f"This computer now works for {org.name} ({org.slug}), already in the store."]
        changes += _follow(session, org, name=name, timezone=timezone, currency=currency)
    changes += await _follow_invoice_details(session, org, invoice_details or {})
    token, _ = await create_token(session, slug=org.slug, name=LOCAL_TOKEN_NAME)  # its secret is dropped here
    return LocalSetUp(org, token.id, changes)  # type: ignore[arg-type]


async def _follow_invoice_details(
    session: AsyncSession, org: Organization, details: dict[str, str | None]
) -> list[str]:
    """Set the invoice details the settings give; a sentence if that changed any."""
    given = {key: value for key, value in details.items() if value is not None}
    if not given:
        return []
    before = invoice_details(org)
    after = invoice_details(await set_invoice_details(session, org.slug, **given))
    if after == before:
        return []
    return [f"The invoice details of {org.name} are now as the settings say."]


def _follow(session: AsyncSession, org: Organization, *, name: str, timezone: str, currency: str) -> list[str]:
    """Bring the organisation in line with the settings; a sentence for each thing that changed."""
    changes = []
    if org.name != name:
        changes.append(f"Renamed {org.name} to {name}, as the settings say (its slug stays {org.slug}).")
        org.name = name
    if org.timezone != timezone:
        changes.append(f"The timezone of {name} is now {timezone} (was {org.timezone}), as the settings say.")
        org.timezone = timezone
    if org.currency != currency:
        changes.append(f"The currency of {name} is now {currency} (was {org.currency}), as the settings say.")
        org.currency = currency
    if changes:
        session.add(org)
    return changes
