"""Markets: what an organisation runs."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import func, select

from market_mcp.auth import OrgContext
from market_mcp.db.tables import ACTIVE_BOOKING_STATUSES, Application, Booking, Market, MarketDate, Vendor
from market_mcp.db.types import utcnow
from market_mcp.errors import Conflict, Invalid
from market_mcp.schemas.common import Page, preview_note
from market_mcp.schemas.emails import MassEmailResult, Recipient, SampleEmail
from market_mcp.schemas.market_dates import MarketDateDetail
from market_mcp.schemas.markets import MarketDetail, MarketFields, MarketOut, PaymentTerms
from market_mcp.services import caps, emails
from market_mcp.services.market_dates import upcoming_market_dates
from market_mcp.services.questions import questions_of
from market_mcp.services.scope import count, get_or_404, like_pattern, matches, scoped


def slugify(name: str, *, fallback: str = "market") -> str:
    """A slug made from a name: "Riverside Farmers' Market" -> "riverside-farmers-market", "Café" -> "cafe"."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:64].strip("-") or fallback


def _next_date(org: OrgContext) -> Any:
    return (
        select(func.min(MarketDate.scheduled_at))
        .where(
            MarketDate.market_id == Market.id,
            MarketDate.status == "scheduled",
            MarketDate.scheduled_at >= org.today(),
        )
        .correlate(Market)
        .scalar_subquery()
        .label("next_market_date")
    )


TERMS = ("payment_due_days", "payment_due_days_before", "release_unpaid", "payment_reminders")
WINDOW = ("booking_cutoff_hours", "bump_in_minutes")  # when a date stops taking bookings (market_dates)


def _out(org: OrgContext, market: Market, next_market_date: Any) -> dict[str, Any]:
    data = market.model_dump(exclude={"metadata_", "organization_id", *TERMS, *WINDOW})
    return data | {"metadata": market.metadata_, "currency": org.currency, "next_market_date": next_market_date}


async def _read(org: OrgContext, market_id: int) -> MarketOut:
    await get_or_404(org, Market, market_id)
    market, next_day = (
        await org.session.execute(scoped(org, Market, Market, _next_date(org)).where(Market.id == market_id))
    ).one()
    return MarketOut(**_out(org, market, next_day))


async def list_markets(
    org: OrgContext, *, status: str | None, query: str | None, limit: int, offset: int
) -> Page[MarketOut]:
    filters: list[Any] = []
    if status:
        filters.append(Market.status == status)
    if query and query.strip():
        filters.append(matches(query, Market.name, Market.slug, Market.region))
    total = await count(org, scoped(org, Market).where(*filters))
    stmt = scoped(org, Market, Market, _next_date(org)).where(*filters).order_by(func.lower(Market.name), Market.id)
    rows = (await org.session.execute(stmt.limit(limit).offset(offset))).all()
    return Page.of([MarketOut(**_out(org, m, d)) for m, d in rows], total=total, limit=limit, offset=offset)


async def get_market(org: OrgContext, market_id: int) -> MarketDetail:
    market = await _read(org, market_id)
    today = org.today()
    upcoming = scoped(org, MarketDate).where(
        MarketDate.market_id == market_id, MarketDate.status == "scheduled", MarketDate.scheduled_at >= today
    )
    confirmed = await count(
        org,
        scoped(org, Booking)
        .join(MarketDate, MarketDate.id == Booking.market_date_id)
        .where(
            MarketDate.market_id == market_id,
            MarketDate.status == "scheduled",
            MarketDate.scheduled_at >= today,
            Booking.status == "confirmed",
        ),
    )
    applications = (
        await org.session.execute(
            scoped(
                org,
                Application,
                func.count().filter(Application.status == "pending"),
                func.count(Application.vendor_id.distinct()).filter(Application.status == "approved"),  # type: ignore[attr-defined]
            ).where(Application.market_id == market_id)
        )
    ).one()
    stored = await get_or_404(org, Market, market_id)
    terms = stored.model_dump(include=set(TERMS))
    category_caps, category_minimums, ruled = await caps.market_caps(org, market_id)
    next_dates = await upcoming_market_dates(org, market_id, limit=5)
    mixes = await caps.mixes(org, market_id, [d.id for d in next_dates]) if ruled else {}  # against the caps
    upcoming_dates = [MarketDateDetail(**dict(d), category_mix=mixes.get(d.id)) for d in next_dates]
    return MarketDetail(
        **market.model_dump(),
        payment_terms=PaymentTerms(**terms | {"payment_reminders": terms["payment_reminders"] or []}),
        upcoming_dates=upcoming_dates,
        upcoming_dates_count=await count(org, upcoming),
        upcoming_confirmed_bookings=confirmed,
        pending_applications=applications[0],
        approved_vendors=applications[1],
        booking_cutoff_hours=stored.booking_cutoff_hours,
        bump_in_minutes=stored.bump_in_minutes,
        category_caps=category_caps if ruled else None,
        category_minimums=category_minimums if ruled else None,
        application_questions=questions_of(stored),
    )


async def _check_slug_free(org: OrgContext, slug: str, *, other_than: int | None = None) -> None:
    stmt = scoped(org, Market).where(Market.slug == slug)
    if other_than is not None:
        stmt = stmt.where(Market.id != other_than)
    taken = (await org.session.execute(stmt)).scalar_one_or_none()
    if taken is not None:
        raise Conflict(f"Slug {slug!r} is already used by market {taken.id} ({taken.name}); choose another slug.")


async def _free_slug(org: OrgContext, base: str) -> str:
    """The first of base, base-2, base-3, … that no market of this organisation uses."""

    def candidate(n: int) -> str:
        return base if n == 1 else f"{base[: 63 - len(str(n))].rstrip('-')}-{n}"

    # Every candidate starts with the first 40 characters of base (a suffix shortens base to 63 - digits).
    prefix = like_pattern(base[:40]).removeprefix("%")
    stmt = scoped(org, Market, Market.slug).where(Market.slug.like(prefix, escape="\\"))  # type: ignore[attr-defined]
    used = set((await org.session.execute(stmt)).scalars().all())
    n = 1
    while candidate(n) in used:
        n += 1
    return candidate(n)


def _apply(market: Market, fields: MarketFields) -> None:
    for name, value in fields.model_dump(exclude_unset=True, exclude_none=True).items():
        if name == "metadata":
            market.metadata_ = value
        elif name in ("payment_due_days", "payment_due_days_before") and value < 0:
            setattr(market, name, None)  # -1: no such deadline
        elif name in WINDOW:
            setattr(market, name, value or None)  # 0: none
        elif name == "payment_reminders":
            market.payment_reminders = sorted(set(value), reverse=True) or None
        else:
            setattr(market, name, value)


async def create_market(org: OrgContext, fields: MarketFields) -> MarketDetail:
    assert fields.name is not None
    if fields.slug:
        await _check_slug_free(org, fields.slug)
        slug = fields.slug
    else:
        slug = await _free_slug(org, slugify(fields.name))
    market = Market(organization_id=org.organization_id, name=fields.name, slug=slug)
    _apply(market, fields.model_copy(update={"slug": slug}))
    org.session.add(market)
    await org.session.flush()
    org.touch("market", market.id)  # type: ignore[arg-type]
    return await get_market(org, market.id)  # type: ignore[arg-type]


async def update_market(org: OrgContext, market_id: int, fields: MarketFields) -> MarketDetail:
    market = await get_or_404(org, Market, market_id, for_update=True)
    if fields.slug and fields.slug != market.slug:
        await _check_slug_free(org, fields.slug, other_than=market_id)
    _apply(market, fields)
    market.updated_at = utcnow()
    org.session.add(market)
    await org.session.flush()
    org.touch("market", market_id)
    return await get_market(org, market_id)


async def send_market_email(
    org: OrgContext,
    market_id: int,
    *,
    subject: str,
    message: str,
    market_date_id: int | None,
    dry_run: bool,
) -> MassEmailResult:
    """Email a market's active vendors (an approved application), or only those booked on one of its dates."""
    market = await get_or_404(org, Market, market_id)
    if market_date_id is not None:
        day = await get_or_404(org, MarketDate, market_date_id)
        if day.market_id != market_id:
            raise Invalid(
                f"Market date {market_date_id} is a date of market {day.market_id}, not of market {market_id} "
                f"(list_market_dates with market_id={market_id} gives its dates)."
            )
        who = select(Booking.vendor_id).where(
            Booking.market_date_id == market_date_id,
            Booking.status.in_(ACTIVE_BOOKING_STATUSES),  # type: ignore[attr-defined]
        )
    else:
        who = select(Application.vendor_id).where(Application.market_id == market_id, Application.status == "approved")
    stmt = scoped(org, Vendor).where(Vendor.id.in_(who)).order_by(func.lower(Vendor.business_name), Vendor.id)  # type: ignore[union-attr]
    recipients = list((await org.session.execute(stmt)).scalars())

    def email_to(vendor: Vendor) -> SampleEmail:
        _, body = emails.render(
            "market_message",
            subject=subject,
            greeting=emails.greeting(message, vendor.contact_name, vendor.business_name),
            message=message.strip(),
            organization_name=org.organization_name,
            market_name=market.name,
        )
        return SampleEmail(to=vendor.email, subject=subject.strip(), body=body)

    listed = [Recipient(vendor_id=v.id, business_name=v.business_name, email=v.email) for v in recipients[:100]]  # type: ignore[arg-type]
    said = dict(market_id=market_id, market_date_id=market_date_id, subject=subject.strip())
    if dry_run:
        return MassEmailResult(
            dry_run=True,
            **said,
            truncated=len(recipients) > 100,
            note=preview_note("no email was queued"),
            would_email=len(recipients),
            would_email_to=listed,
            would_send=email_to(recipients[0]) if recipients else None,
        )
    rows = []
    for vendor in recipients:
        rows.append(
            dict(
                vendor_id=vendor.id,
                to=vendor.email,
                subject=subject.strip(),
                body=email_to(vendor).body,
                kind="market_message",
                record_type="market_date" if market_date_id else "market",
                record_id=market_date_id or market_id,
            )
        )
    await emails.queue_many(org, rows)
    if rows:
        org.touch("market", market_id)
    return MassEmailResult(
        dry_run=False, **said, truncated=len(recipients) > 100, recipient_count=len(recipients), recipients=listed
    )
