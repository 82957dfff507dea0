"""Money reports and the treasurer's CSV exports.

Every figure is a sum in SQL over the orders, whose money columns are the ledgers' own sums: amount_paid_cents and
amount_refunded_cents are the payments ledger's (services.payments keeps them with its rows), credit_applied_cents
the credit ledger's (the `use` rows less `refund` rows of the order). `_figures` defines each figure of an order,
in one place, so that for every order, and so for any sum of orders,

    billed − paid − credited − written off = outstanding

holds by construction. An order counts once it is billed: approved (status payment_pending or complete, or
archived, rejected or reopened after approval). For a billed order:
- billed: what it charges now (total_cents) plus its bookings cancelled with the charge released
  (cancel_settlement "release": an unpaid date taken off, e.g. a cancelled market date);
- paid: amount_paid_cents, payments received less what was paid beyond the charge and moved to credit (excess);
- refunded: amount_refunded_cents, given back after payment; the vendor does not owe it again, so it is not in
  the identity (paid stays what was paid);
- credited: credit_applied_cents, vendor credit spent on it;
- written off: the released bookings, plus what was still owed when it was rejected or archived (an archived
  order is not chased; restore_order makes it outstanding again);
- outstanding: what it still charges, total − credited − paid, while it is neither rejected nor archived
  (the order's amount_due_cents, as get_order shows it).
The period is the local day the order was billed (`billed_on`); "received" figures are the payments ledger's rows
by the day received, as list_payments shows them.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.sql import Subquery

from market_mcp.auth import OrgContext
from market_mcp.db.functions import unindexed
from market_mcp.db.tables import Booking, Market, MarketDate, Order, Payment, Vendor
from market_mcp.errors import Invalid, NotFound
from market_mcp.schemas.common import MAX_ID, format_money
from market_mcp.schemas.reports import (
    Aged,
    Debtor,
    ExportOut,
    Figures,
    MarketFigures,
    MethodFigures,
    MoneyReport,
    MonthFigures,
    Received,
)
from market_mcp.schemas.text import one_line
from market_mcp.services import ranges
from market_mcp.services.scope import get_or_404, scoped

BILLED_STATUSES = ("payment_pending", "complete")
FIGURES = tuple(Figures.model_fields)
AGES = tuple(Aged.model_fields)  # current, 1–30, 31–60, over 60 days past due
DEBTORS = 10  # the vendors owing most; debtors_total counts them all
MAX_MONTHS = 60  # older months are summed as "earlier"


def billed_on() -> Any:
    """When an order was billed: approved (a row from before approval was recorded: created)."""
    return func.coalesce(Order.approved_at, Order.created_at)


def _age(org: OrgContext) -> Any:
    """The aged-debt bucket of an order (an index into AGES) by whole local days past its due day: its payment
    deadline where its market's terms gave it one (services/deadlines.py), else the day it was billed."""
    today = org.today()
    by_deadline = case(
        (Order.payment_due_on >= today, 0),  # not yet past its deadline: current
        (Order.payment_due_on >= today - timedelta(days=30), 1),
        (Order.payment_due_on >= today - timedelta(days=60), 2),
        else_=3,
    )
    since = billed_on()
    by_billing = case(
        (since >= ranges.start_of(org, today), 0),  # billed today: current
        (since >= ranges.start_of(org, today - timedelta(days=30)), 1),
        (since >= ranges.start_of(org, today - timedelta(days=60)), 2),
        else_=3,
    )
    return case((Order.payment_due_on.is_not(None), by_deadline), else_=by_billing)  # type: ignore[union-attr]


def _released(org: OrgContext) -> Subquery:
    """Per order: its bookings cancelled while unpaid, whose charge was taken off the order."""
    return (
        scoped(org, Booking, Booking.order_id.label("order_id"), func.sum(Booking.amount_cents).label("cents"))  # type: ignore[union-attr]
        .where(Booking.status == "cancelled", Booking.cancel_settlement == "release", Booking.order_id.is_not(None))  # type: ignore[union-attr]
        .group_by(Booking.order_id)
        .subquery("released")
    )


def _figures(released: Subquery) -> dict[str, Any]:
    """Each figure of one order (zero until it is billed): see the module's docstring."""
    status = case((Order.status == "archived", Order.previous_status), else_=Order.status)
    billed = or_(Order.approved_at.is_not(None), status.in_(BILLED_STATUSES))  # type: ignore[union-attr]
    still_charged = Order.status.not_in(("archived", "rejected"))  # type: ignore[attr-defined]
    taken_off = func.coalesce(released.c.cents, 0)
    owed = Order.total_cents - Order.credit_applied_cents - Order.amount_paid_cents

    def once_billed(cents: Any) -> Any:
        return case((billed, cents), else_=0)

    return {
        "billed_cents": once_billed(Order.total_cents + taken_off),
        "paid_cents": once_billed(Order.amount_paid_cents),
        "refunded_cents": once_billed(Order.amount_refunded_cents),
        "credited_cents": once_billed(Order.credit_applied_cents),
        "written_off_cents": once_billed(taken_off + case((still_charged, 0), else_=owed)),
        "outstanding_cents": once_billed(case((still_charged, owed), else_=0)),
    }


def _orders(
    org: OrgContext,
    market_id: int | None,
    from_date: date | None,
    to_date: date | None,
    *more: Any,
) -> Any:
    """The orders billed in the period (of one market or all), one row each: ids, figures, age bucket, `more`."""
    released = _released(org)
    figures = _figures(released)
    return (
        scoped(
            org,
            Order,
            Order.id.label("order_id"),  # type: ignore[union-attr]
            Order.market_id,
            Order.vendor_id,
            *(expression.label(name) for name, expression in figures.items()),
            _age(org).label("age"),
            *more,
        )
        .outerjoin(released, released.c.order_id == Order.id)
        .where(
            *ranges.at_moments(org, billed_on(), from_date, to_date),
            *([Order.market_id == market_id] if market_id is not None else []),
        )
    )


def _sums(o: Subquery) -> list[Any]:
    owed = o.c.outstanding_cents
    return [func.sum(o.c[name]).label(name) for name in FIGURES] + [
        func.sum(case((o.c.age == i, owed), else_=0)).label(name) for i, name in enumerate(AGES)
    ]


def _cents(row: Any, names: tuple[str, ...]) -> dict[str, int]:
    return {name: int(getattr(row, name) or 0) for name in names}  # PostgreSQL sums as numeric


def _summed(rows: list[dict[str, int]], names: tuple[str, ...]) -> dict[str, int]:
    return {name: sum(row[name] for row in rows) for name in names}


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _month(org: OrgContext, first: datetime, last: datetime) -> Any:
    """The local month (YYYY-MM) an order was billed in, between the first and last billed."""
    month, end = (moment.astimezone(org.tz).date().replace(day=1) for moment in (first, last))
    months = []
    while month <= end:
        months.append(month)
        month = _next_month(month)
    months = months[-MAX_MONTHS:]
    at = billed_on()
    return case(
        (at < ranges.start_of(org, months[0]), "earlier"),
        *((at < ranges.start_of(org, _next_month(m)), m.strftime("%Y-%m")) for m in months),
        else_="later",
    )


def _period(from_date: date | None, to_date: date | None) -> str:
    if from_date and to_date:
        return f"{from_date} to {to_date}"
    if from_date:
        return f"from {from_date}"
    if to_date:
        return f"up to {to_date}"
    return "all time"


async def get_money_report(
    org: OrgContext, *, market_id: int | None, from_date: date | None, to_date: date | None
) -> MoneyReport:
    market = await get_or_404(org, Market, market_id) if market_id is not None else None
    session = org.session
    # Three reads of the period's orders: the span of moments billed (which names the months), the sums by market
    # and month (every total, and the aged debt, adds up these few rows), and the vendors owing most.
    span = _orders(org, market_id, from_date, to_date, billed_on().label("at")).subquery("span")
    first, last = (await session.execute(select(func.min(span.c.at), func.max(span.c.at)))).one()
    month = _month(org, first, last) if first is not None else literal("")
    o = _orders(org, market_id, from_date, to_date, month.label("month")).subquery("o")
    grouped = select(o.c.market_id, o.c.month, *_sums(o)).group_by(o.c.market_id, o.c.month).subquery("grouped")
    rows = (
        await session.execute(
            select(grouped, Market.name)
            .join(Market, Market.id == grouped.c.market_id)
            .order_by(Market.name, grouped.c.market_id, grouped.c.month)
        )
    ).all()
    cents = [(r, _cents(r, FIGURES + AGES)) for r in rows]
    by_market = [
        MarketFigures(market_id=i, market_name=name, **_summed([c for r, c in cents if r.market_id == i], FIGURES))
        for i, name in dict.fromkeys((r.market_id, r.name) for r in rows)
    ]
    by_month = [
        MonthFigures(month=label, **_summed([c for r, c in cents if r.month == label], FIGURES))
        for label in sorted({r.month for r in rows})
    ]
    totals = Figures(**_summed([c for _, c in cents], FIGURES))
    aged = Aged(**_summed([c for _, c in cents], AGES))
    owing = (
        await session.execute(
            select(
                o.c.vendor_id,
                Vendor.business_name,
                *_sums(o),
                func.count().label("orders"),
                func.count().over().label("vendors"),  # every vendor owing, before the limit
            )
            .join(Vendor, Vendor.id == o.c.vendor_id)
            .where(o.c.outstanding_cents > 0)
            .group_by(o.c.vendor_id, Vendor.business_name)
            .order_by(func.sum(o.c.outstanding_cents).desc(), o.c.vendor_id)
            .limit(DEBTORS)
        )
    ).all()
    debtors = [
        Debtor(
            vendor_id=r.vendor_id,
            business_name=r.business_name,
            orders=r.orders,
            outstanding_cents=int(r.outstanding_cents),
            **_cents(r, AGES),
        )
        for r in owing
    ]
    debtors_total = owing[0].vendors if owing else 0
    received = await _received(org, market_id, from_date, to_date)

    money = org.currency
    where = f"at {one_line(market.name)}" if market is not None else "at all markets"
    period = _period(from_date, to_date)
    over_60 = f"; {format_money(aged.over_60_cents, money)} over 60 days" if aged.over_60_cents else ""
    summary = (
        f"Orders billed {period} {where}, as the ledgers stand on {org.today()}: billed "
        f"{format_money(totals.billed_cents, money)}, paid {format_money(totals.paid_cents, money)}, credited "
        f"{format_money(totals.credited_cents, money)}, written off {format_money(totals.written_off_cents, money)}, "
        f"outstanding {format_money(totals.outstanding_cents, money)} from {debtors_total} "
        f"vendor{'s' if debtors_total != 1 else ''}{over_60}. Money received {period}: "
        f"{format_money(received.received_cents, money)}, refunded {format_money(received.refunded_cents, money)}."
    )
    return MoneyReport(
        summary=summary,
        period=f"Orders billed {period} (by the day approved); received: payments by the day received",
        currency=money,
        market_id=market_id,
        totals=totals,
        aged=aged,
        by_market=by_market,
        by_month=by_month,
        received=received,
        debtors=debtors,
        debtors_total=debtors_total,
    )


async def _received(org: OrgContext, market_id: int | None, from_date: date | None, to_date: date | None) -> Received:
    stmt = scoped(org, Payment, Payment.method, Payment.kind, func.sum(Payment.amount_cents)).where(
        *ranges.on_days(Payment.received_on, from_date, to_date)
    )
    if market_id is not None:
        stmt = stmt.join(Order, Order.id == Payment.order_id).where(Order.market_id == market_id)
    sums: dict[tuple[str, str], int] = {
        (method, kind): int(cents)
        for method, kind, cents in await org.session.execute(stmt.group_by(Payment.method, Payment.kind))
    }
    methods = sorted({method for method, kind in sums if kind != "excess"})
    return Received(
        received_cents=sum(c for (_, kind), c in sums.items() if kind == "payment"),
        refunded_cents=sum(c for (_, kind), c in sums.items() if kind == "refund"),
        moved_to_credit_cents=sum(c for (_, kind), c in sums.items() if kind == "excess"),
        by_method=[
            MethodFigures(
                method=method,
                received_cents=sums.get((method, "payment"), 0),
                refunded_cents=sums.get((method, "refund"), 0),
            )
            for method in methods
        ],
    )


# ---------------------------------------------------------------- CSV exports

MAX_ROWS = 5_000
EXPORTS = ("payments", "orders", "bookings")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: one starting like a formula gets a leading ' (CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def amount(cents: int) -> str:
    """45.50: cents as a decimal a spreadsheet reads as a number."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def export_uri(kind: str, from_date: date | None, to_date: date | None, market_id: int | None) -> str:
    query = {"from_date": from_date, "to_date": to_date, "market_id": market_id}
    given = urlencode({k: str(v) for k, v in query.items() if v is not None})
    return f"market-mcp://exports/{kind}.csv" + (f"?{given}" if given else "")


def _local_day(org: OrgContext, moment: datetime | None) -> str | None:
    return moment.astimezone(org.tz).date().isoformat() if moment is not None else None


def _payments(org: OrgContext, market_id: int | None, from_date: date | None, to_date: date | None) -> Any:
    days = ranges.on_days(Payment.received_on, from_date, to_date)
    header = [
        "payment_id", "received_on", "kind", "method", "amount", "currency", "order_id", "vendor_id", "vendor",
        "market_id", "market", "reference", "reason", "credit_id", "recorded_on",
    ]  # fmt: skip
    stmt = (
        scoped(
            org,
            Payment,
            Payment.id,
            Payment.received_on,
            Payment.kind,
            Payment.method,
            Payment.amount_cents,
            Payment.order_id,
            Payment.vendor_id,
            Vendor.business_name,
            Order.market_id,
            Market.name,
            Payment.reference,
            Payment.reason,
            Payment.credit_id,
            Payment.created_at,
        )
        .join(Order, Order.id == Payment.order_id)
        .join(Market, Market.id == Order.market_id)
        .join(Vendor, Vendor.id == Payment.vendor_id)
        .where(*days, *([Order.market_id == market_id] if market_id is not None else []))
        .order_by(Payment.received_on, Payment.id)
    )

    def line(r: Any) -> list[Any]:
        return [
            *r[0:1], r[1].isoformat(), r[2], r[3], amount(r[4]), org.currency, *r[5:13], _local_day(org, r[13]),
        ]  # fmt: skip

    counted = scoped(org, Payment, func.count()).select_from(Payment).where(*days)
    if market_id is not None:
        counted = counted.join(Order, Order.id == Payment.order_id).where(Order.market_id == market_id)
    return header, stmt, counted, line


def _orders_export(org: OrgContext, market_id: int | None, from_date: date | None, to_date: date | None) -> Any:
    header = [
        "order_id", "status", "created_on", "approved_on", "vendor_id", "vendor", "market_id", "market", "total",
        "amount_due", *(name.removesuffix("_cents") for name in FIGURES), "currency",
    ]  # fmt: skip
    o = _orders(org, market_id, from_date, to_date).subquery("o")
    stmt = (
        select(
            Order.id,
            Order.status,
            Order.created_at,
            Order.approved_at,
            Order.vendor_id,
            Vendor.business_name,
            Order.market_id,
            Market.name,
            Order.total_cents,
            Order.amount_due_cents,
            *(o.c[name] for name in FIGURES),
        )
        .select_from(o)
        .join(Order, Order.id == o.c.order_id)
        .join(Vendor, Vendor.id == Order.vendor_id)
        .join(Market, Market.id == Order.market_id)
        .order_by(billed_on(), Order.id)
    )

    def line(r: Any) -> list[Any]:
        return [
            r[0], r[1], _local_day(org, r[2]), _local_day(org, r[3]), *r[4:8], *(amount(int(c)) for c in r[8:]),
            org.currency,
        ]  # fmt: skip

    return header, stmt, select(func.count()).select_from(o), line


def _bookings(org: OrgContext, market_id: int | None, from_date: date | None, to_date: date | None) -> Any:
    header = [
        "booking_id", "market_date", "market_id", "market", "vendor_id", "vendor", "status", "space_number",
        "amount", "currency", "order_id", "order_status", "attended", "cancelled_on", "cancel_reason",
    ]  # fmt: skip
    # From the organisation's dates in order, then each date's bookings (a booking's organisation is its date's):
    # the first rows come without sorting every booking of the organisation.
    dates = scoped(org, MarketDate).where(
        *ranges.on_days(MarketDate.scheduled_at, from_date, to_date),
        *([MarketDate.market_id == market_id] if market_id is not None else []),
    )
    of_date = and_(
        Booking.market_date_id == MarketDate.id, unindexed(Booking.organization_id) == MarketDate.organization_id
    )
    stmt = (
        dates.with_only_columns(
            Booking.id,
            MarketDate.scheduled_at,
            MarketDate.market_id,
            Market.name,
            Booking.vendor_id,
            Vendor.business_name,
            Booking.status,
            Booking.space_number,
            Booking.amount_cents,
            Booking.order_id,
            Order.status,
            Booking.attended,
            Booking.cancelled_at,
            Booking.cancel_reason,
        )
        .select_from(MarketDate)
        .join(Booking, of_date)
        .join(Market, Market.id == MarketDate.market_id)
        .join(Vendor, Vendor.id == Booking.vendor_id)
        .outerjoin(Order, Order.id == Booking.order_id)
        .order_by(MarketDate.scheduled_at, MarketDate.id, Booking.id)
    )
    counted = scoped(org, Booking, func.count()).select_from(Booking)
    if from_date is not None or to_date is not None or market_id is not None:
        counted = counted.where(Booking.market_date_id.in_(dates.with_only_columns(MarketDate.id)))  # type: ignore[attr-defined]

    def line(r: Any) -> list[Any]:
        attended = "" if r[11] is None else ("yes" if r[11] else "no")
        return [
            *r[0:1], r[1].isoformat(), *r[2:8], amount(r[8]), org.currency, r[9], r[10], attended,
            _local_day(org, r[12]), r[13],
        ]  # fmt: skip

    return header, stmt, counted, line


_EXPORTS = {"payments": _payments, "orders": _orders_export, "bookings": _bookings}


async def export_csv(
    org: OrgContext, *, kind: str, from_date: date | None, to_date: date | None, market_id: int | None
) -> tuple[ExportOut, str]:
    """The CSV of a kind's rows in the range (payments by day received, orders by day billed, bookings by market
    date), at most MAX_ROWS of them, earliest first; and what it holds."""
    if market_id is not None:
        await get_or_404(org, Market, market_id)
    header, stmt, counted, line = _EXPORTS[kind](org, market_id, from_date, to_date)
    rows = (await org.session.execute(stmt.limit(MAX_ROWS + 1))).all()
    capped = len(rows) > MAX_ROWS
    rows = rows[:MAX_ROWS]
    if not capped:
        total = len(rows)
    else:  # every row there is, counted without the joins that only fetch columns
        total = int((await org.session.execute(counted)).scalar_one())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([cell(v) for v in line(r)] for r in rows)
    period = _period(from_date, to_date)
    summary = (
        f"{len(rows)} {kind.removesuffix('s')} rows, {period}"
        + (f", market {market_id}" if market_id is not None else "")
        + "."
    )
    if capped:
        summary = (
            f"The first {len(rows):,} of {total:,} {kind.removesuffix('s')} rows, {period} (earliest first): narrow from_date and "
            "to_date, or give market_id, for the rest."
        )
    uri = export_uri(kind, from_date, to_date, market_id)
    return (
        ExportOut(
            kind=kind,  # type: ignore[arg-type]
            rows=len(rows),
            total_rows=total,
            capped=capped,
            uri=uri,
            summary=summary,
            from_date=from_date,
            to_date=to_date,
            market_id=market_id,
        ),
        out.getvalue(),
    )


async def read_export(org: OrgContext, uri: str) -> str:
    """The CSV at a market-mcp://exports/<kind>.csv?from_date=…&to_date=…&market_id=… address, read now."""
    parts = urlsplit(uri)
    kind = parts.path.strip("/").removesuffix(".csv")
    if parts.netloc != "exports" or kind not in EXPORTS or not parts.path.endswith(".csv"):
        raise NotFound(f"There is no export at {uri[:80]}; exports are market-mcp://exports/<{'|'.join(EXPORTS)}>.csv.")
    query = dict(parse_qsl(parts.query))
    unknown = sorted(set(query) - {"from_date", "to_date", "market_id"})
    if unknown:
        raise Invalid(f"An export address takes from_date, to_date and market_id; not {', '.join(unknown)}.")
    try:
        from_date, to_date = (date.fromisoformat(query[k]) if k in query else None for k in ("from_date", "to_date"))
        market_id = int(query["market_id"]) if "market_id" in query else None
    except ValueError as exc:
        raise Invalid(f"An export address's dates are YYYY-MM-DD and market_id a number; {exc}.") from None
    if market_id is not None and not 1 <= market_id <= MAX_ID:
        raise NotFound(f"Market {market_id} not found.")
    _, text = await export_csv(org, kind=kind, from_date=from_date, to_date=to_date, market_id=market_id)
    return text
