"""Credits: money the organisation owes a vendor, on an append-only ledger.

Every change to a credit is a CreditTransaction posted through `post`, which also moves
the credit's `remaining_cents`, so remaining always equals the sum of its transactions.
A credit past its expiry is treated as expired by every read; the `expire` row that zeroes
it is written by the next write that touches credits (`expire_due`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, insert, or_, select, update

from market_mcp.auth import OrgContext
from market_mcp.db.tables import Credit, CreditTransaction, Vendor
from market_mcp.errors import Conflict, Invalid, NotFound
from market_mcp.schemas.common import Page, format_money
from market_mcp.schemas.credits import CreditDeleted, CreditDetail, CreditOut, CreditTransactionOut
from market_mcp.services.market_dates import local_day_bounds
from market_mcp.services.scope import count, get_or_404, matches, scoped, vendors_matching


def is_live(now: datetime) -> Any:
    """SQL: the credit can be spent now (not deleted, not expired, something left)."""
    return and_(
        Credit.deleted_at.is_(None),  # type: ignore[union-attr]
        Credit.remaining_cents > 0,
        or_(Credit.expires_at.is_(None), Credit.expires_at > now),  # type: ignore[union-attr]
    )


def balance_of_vendor(now: datetime) -> Any:
    """SQL: the vendor's spendable credit at `now` (correlated to Vendor in the outer query)."""
    return (
        select(func.coalesce(func.sum(Credit.remaining_cents), 0))
        .where(Credit.vendor_id == Vendor.id, Credit.organization_id == Vendor.organization_id, is_live(now))
        .correlate(Vendor)
        .scalar_subquery()
    )


def expiry_moment(org: OrgContext, day: date) -> datetime:
    """A credit "expiring on" a day can be spent until the end of that day, in the organisation's timezone."""
    return local_day_bounds(org, day)[1]


def last_day(org: OrgContext, expires_at: datetime) -> date:
    """The last local day a credit could be spent: the inverse of `expiry_moment`."""
    return (expires_at - timedelta(microseconds=1)).astimezone(org.tz).date()


def status_of(credit: Credit, now: datetime) -> str:
    if credit.expires_at is not None and credit.expires_at <= now:
        return "expired"
    return "live" if credit.remaining_cents > 0 else "used"


def post(
    org: OrgContext,
    credit: Credit,
    kind: str,
    delta: int,
    *,
    note: str = "",
    order_id: int | None = None,
    booking_id: int | None = None,
) -> CreditTransaction:
    """The only way a credit's balance moves: a ledger row and the new remaining, together."""
    if credit.remaining_cents + delta < 0:
        raise Conflict(f"Credit {credit.id} has only {format_money(credit.remaining_cents, org.currency)} left.")
    credit.remaining_cents += delta
    row = CreditTransaction(
        organization_id=org.organization_id,
        credit_id=credit.id,  # type: ignore[arg-type]
        kind=kind,
        amount_cents=delta,
        balance_after_cents=credit.remaining_cents,
        order_id=order_id,
        booking_id=booking_id,
        note=note[:500],
    )
    org.session.add_all([credit, row])
    return row


async def expire_due(org: OrgContext) -> None:
    """Write the `expire` rows for credits whose expiry has passed with money left (set-based)."""
    now = org.now()
    due = scoped(org, Credit, Credit.id, Credit.remaining_cents).where(
        Credit.deleted_at.is_(None),
        Credit.remaining_cents > 0,
        Credit.expires_at <= now,  # type: ignore[union-attr, operator]
    )
    # Locked, so two calls expiring at once cannot both write the row (PostgreSQL re-checks the WHERE after waiting).
    rows = (await org.session.execute(due.order_by(Credit.id).with_for_update())).all()
    if not rows:
        return
    await org.session.execute(
        insert(CreditTransaction.__table__),
        [
            dict(
                organization_id=org.organization_id,
                credit_id=credit_id,
                kind="expire",
                amount_cents=-left,
                balance_after_cents=0,
                note="expired",
                created_at=now,
            )
            for credit_id, left in rows
        ],
    )
    await org.session.execute(
        update(Credit).where(Credit.id.in_([credit_id for credit_id, _ in rows])).values(remaining_cents=0)  # type: ignore[union-attr]
    )


async def grant(
    org: OrgContext,
    vendor_id: int,
    *,
    amount_cents: int,
    source: str,
    notes: str = "",
    expires_at: datetime | None = None,
    application_id: int | None = None,
) -> Credit:
    """A new credit for the vendor, opened by its `grant` row."""
    if amount_cents <= 0:
        raise Invalid("The credit amount must be more than 0.")
    if expires_at is not None and expires_at <= org.now():
        raise Invalid(f"expires_at {expires_at:%Y-%m-%d %H:%M} UTC is in the past; a credit must expire in the future.")
    credit = Credit(
        organization_id=org.organization_id,
        vendor_id=vendor_id,
        application_id=application_id,
        amount_cents=amount_cents,
        remaining_cents=0,
        expires_at=expires_at,
        notes=notes,
        source=source,
    )
    org.session.add(credit)
    await org.session.flush()
    post(org, credit, "grant", amount_cents, note=notes)
    await org.session.flush()
    org.touch("credit", credit.id)  # type: ignore[arg-type]
    return credit


async def _insert_credits(org: OrgContext, rows: list[dict[str, Any]]) -> list[int]:
    """INSERT the rows, returning their new ids in the rows' order.

    PostgreSQL: one batched insert whose RETURNING SQLAlchemy puts in order. SQLite: SQLAlchemy keeps that order
    there only by inserting one row per statement, so instead one executemany, then the ids above the largest
    before it: a write transaction holds SQLite's only write lock (BEGIN IMMEDIATE), and SQLite numbers each new
    row one above the largest id, so they are the next ids in the rows' order.
    """
    if org.session.bind.dialect.name != "sqlite":  # type: ignore[union-attr]
        opened = await org.session.execute(insert(Credit).returning(Credit.id, sort_by_parameter_order=True), rows)  # type: ignore[arg-type]
        return list(opened.scalars())
    largest = (await org.session.execute(select(func.coalesce(func.max(Credit.id), 0)))).scalar_one()
    await org.session.execute(insert(Credit.__table__), rows)
    ids = list((await org.session.execute(select(Credit.id).where(Credit.id > largest).order_by(Credit.id))).scalars())
    assert len(ids) == len(rows), "credits inserted beside this transaction"  # impossible under the write lock
    return ids


async def grant_many(org: OrgContext, grants: list[dict[str, Any]]) -> list[int]:
    """Open many credits in two statements (bulk cancellations credit hundreds of vendors at once).

    Each grant: vendor_id, amount_cents (> 0), source, notes, booking_id. Returns the credit ids in order.
    """
    if not grants:
        return []
    now = org.now()
    credit_rows = [
        dict(
            organization_id=org.organization_id,
            vendor_id=g["vendor_id"],
            application_id=None,
            amount_cents=g["amount_cents"],
            remaining_cents=g["amount_cents"],
            expires_at=None,
            notes=g["notes"][:1000],
            source=g["source"],
            deleted_at=None,
            created_at=now,
        )
        for g in grants
    ]
    ids = await _insert_credits(org, credit_rows)
    await org.session.execute(
        insert(CreditTransaction.__table__),
        [
            dict(
                organization_id=org.organization_id,
                credit_id=credit_id,
                kind="grant",
                amount_cents=g["amount_cents"],
                balance_after_cents=g["amount_cents"],
                order_id=None,
                booking_id=g["booking_id"],
                note=g["notes"][:500],
                created_at=now,
            )
            for credit_id, g in zip(ids, grants, strict=True)
        ],
    )
    org.touch("credit", *ids)
    return ids


async def use(org: OrgContext, credit: Credit, amount_cents: int, *, order_id: int) -> CreditTransaction:
    """Spend part of a live credit on an order (orders apply credits earliest expiry first)."""
    if status_of(credit, org.now()) != "live" or credit.deleted_at is not None:
        raise Conflict(f"Credit {credit.id} cannot be spent: it is {status_of(credit, org.now())}.")
    if amount_cents <= 0:
        raise Invalid("The amount spent from a credit must be more than 0.")
    row = post(org, credit, "use", -amount_cents, order_id=order_id, note=f"applied to order {order_id}")
    org.touch("credit", credit.id)  # type: ignore[arg-type]
    return row


def _out(org: OrgContext, credit: Credit, business_name: str, now: datetime) -> dict[str, Any]:
    return dict(
        id=credit.id,
        vendor_id=credit.vendor_id,
        business_name=business_name,
        amount_cents=credit.amount_cents,
        remaining_cents=0 if status_of(credit, now) == "expired" else credit.remaining_cents,
        currency=org.currency,
        status=status_of(credit, now),
        source=credit.source,
        expires_at=credit.expires_at,
        notes=credit.notes,
        application_id=credit.application_id,
        created_at=credit.created_at,
    )


async def _live_credit(org: OrgContext, credit_id: int, *, for_update: bool = False) -> Credit:
    credit = await get_or_404(org, Credit, credit_id, for_update=for_update)
    if credit.deleted_at is not None:
        raise NotFound(f"Credit {credit_id} not found.")
    return credit


async def get_credit(org: OrgContext, credit_id: int) -> CreditDetail:
    credit = await _live_credit(org, credit_id)
    vendor = await get_or_404(org, Vendor, credit.vendor_id)
    ledger = await org.session.execute(
        scoped(org, CreditTransaction).where(CreditTransaction.credit_id == credit_id).order_by(CreditTransaction.id)
    )
    transactions = [CreditTransactionOut.model_validate(t, from_attributes=True) for t in ledger.scalars()]
    now = org.now()
    if status_of(credit, now) == "expired" and credit.remaining_cents > 0:
        # The expire row is written by the next credit write; show it now so the ledger sums to what we show.
        transactions.append(
            CreditTransactionOut(
                id=None,
                kind="expire",
                amount_cents=-credit.remaining_cents,
                balance_after_cents=0,
                order_id=None,
                booking_id=None,
                note="expired",
                created_at=credit.expires_at,  # type: ignore[arg-type]
            )
        )
    return CreditDetail(**_out(org, credit, vendor.business_name, now), transactions=transactions)


async def list_credits(
    org: OrgContext, *, status: str | None, vendor_id: int | None, query: str | None, limit: int, offset: int
) -> Page[CreditOut]:
    now = org.now()
    filters: list[Any] = [Credit.deleted_at.is_(None)]  # type: ignore[union-attr]
    if status == "unexpired":
        filters.append(or_(Credit.expires_at.is_(None), Credit.expires_at > now))  # type: ignore[union-attr]
    elif status == "expired":
        filters.append(Credit.expires_at <= now)  # type: ignore[operator]
    if vendor_id is not None:
        filters.append(Credit.vendor_id == vendor_id)
    if query and query.strip():
        filters.append(or_(Credit.vendor_id.in_(vendors_matching(org, query)), matches(query, Credit.notes)))  # type: ignore[attr-defined]
    base = scoped(org, Credit, Credit, Vendor.business_name).join(Vendor, Vendor.id == Credit.vendor_id).where(*filters)
    total = await count(org, base)
    # Soonest-expiring live credit first: the order they would be spent in.
    never = case((Credit.expires_at.is_(None), 1), else_=0)  # type: ignore[union-attr]
    rows = (
        await org.session.execute(base.order_by(never, Credit.expires_at, Credit.id).limit(limit).offset(offset))
    ).all()
    return Page.of([CreditOut(**_out(org, c, name, now)) for c, name in rows], total=total, limit=limit, offset=offset)


async def create_credit(
    org: OrgContext,
    vendor_id: int,
    *,
    amount_cents: int,
    notes: str,
    expires_at: datetime | None,
    source: str = "manual",
    application_id: int | None = None,
) -> CreditDetail:
    await get_or_404(org, Vendor, vendor_id)
    await expire_due(org)
    credit = await grant(
        org,
        vendor_id,
        amount_cents=amount_cents,
        source=source,
        notes=notes,
        expires_at=expires_at,
        application_id=application_id,
    )
    return await get_credit(org, credit.id)  # type: ignore[arg-type]


async def update_credit(
    org: OrgContext,
    credit_id: int,
    *,
    remaining_cents: int | None,
    notes: str | None,
    expires_at: datetime | None,
) -> CreditDetail:
    credit = await _live_credit(org, credit_id, for_update=True)
    await expire_due(org)
    await org.session.refresh(credit)
    now = org.now()
    if notes is not None:
        credit.notes = notes
    if expires_at is not None:
        credit.expires_at = expires_at
        if expires_at <= now and credit.remaining_cents > 0:
            post(org, credit, "expire", -credit.remaining_cents, note="expired by the organiser")
    if remaining_cents is not None:
        if status_of(credit, now) == "expired":
            raise Conflict(
                f"Credit {credit.id} expired on {last_day(org, credit.expires_at)}; give it a new expires_at in the "
                "future to change its remaining amount."
            )
        if remaining_cents != credit.remaining_cents:
            post(org, credit, "adjust", remaining_cents - credit.remaining_cents, note=notes or "adjusted")
    org.session.add(credit)
    await org.session.flush()
    org.touch("credit", credit.id)  # type: ignore[arg-type]
    return await get_credit(org, credit_id)


async def delete_credit(org: OrgContext, credit_id: int) -> CreditDeleted:
    credit = await _live_credit(org, credit_id, for_update=True)
    await expire_due(org)
    await org.session.refresh(credit)
    used = (
        await org.session.execute(
            scoped(org, CreditTransaction, CreditTransaction.order_id, CreditTransaction.amount_cents)
            .where(CreditTransaction.credit_id == credit_id, CreditTransaction.kind == "use")
            .order_by(CreditTransaction.id)
        )
    ).first()
    if used is not None:
        raise Conflict(
            f"Credit {credit_id} has been used (on order {used.order_id}, {format_money(-used.amount_cents, org.currency)}),"
            " so it cannot be deleted. Set its remaining amount to 0 with update_credit instead."
        )
    removed = credit.remaining_cents
    if removed:
        post(org, credit, "delete", -removed, note="deleted")
    credit.deleted_at = org.now()
    org.session.add(credit)
    await org.session.flush()
    org.touch("credit", credit_id)
    return CreditDeleted(
        id=credit_id,
        deleted=True,
        vendor_id=credit.vendor_id,
        amount_cents=credit.amount_cents,
        removed_cents=removed,
        currency=org.currency,
    )
