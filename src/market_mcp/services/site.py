"""The site: a market's plan of stalls, what each date costs, and who stands where.

A plan is stalls (a code such as "A12", a rectangle in metres, the side customers come from, attributes such as
power) and features drawn beside them (entrances, toilets, paths). A booking holds a stall on its date by the
stall's code in `booking.space_number`, so the unique index ux_booking_space keeps each stall to one active
booking per date, and clients that knew only space numbers keep working. A market without a plan keeps free-text
spaces.

Two stalls are neighbours when their rectangles touch side by side (within NEIGHBOUR_GAP metres, overlapping along
the shared side); stalls facing each other across an aisle are not. Auto-assignment keeps vendors of one category
out of neighbouring stalls where the market says so (`separate_categories`).

A market's stall types ("standard" $45, "double" $80; the first is the default) and add-ons ("power" +$15) price
each date of an order; an add-on named after a stall attribute needs a stall with it. Without types, the market's
flat fee stands.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, func, insert, update

from market_mcp.auth import OrgContext
from market_mcp.db.tables import STALL_ATTRIBUTES, Booking, Market, MarketDate, Order, SiteFeature, Stall, Vendor
from market_mcp.errors import Conflict, Invalid, NotFound
from market_mcp.schemas.common import format_money, long_date, plural, preview_note
from market_mcp.schemas.site import (
    AddOn,
    AddOnIn,
    AutoAssigned,
    FeatureIn,
    FeatureOut,
    MapCounts,
    MapStall,
    MapUnassigned,
    MarketMap,
    Move,
    NotPlaced,
    Placement,
    RowIn,
    SitePlan,
    StallAssigned,
    StallIn,
    StallOut,
    StallType,
    StallTypeIn,
)
from market_mcp.schemas.text import one_line, quoted
from market_mcp.services.scope import get_or_404, scoped

ACTIVE = ("pending", "confirmed")
UNPAID = ("pending", "payment_pending")
NEIGHBOUR_GAP = 0.5  # metres: closer than this, side by side, and two stalls are neighbours
DEFAULT_AISLE = 4.0


def natural(code: str) -> tuple[Any, ...]:
    """A2 before A10."""
    return tuple(int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", code))


# Pricing ------------------------------------------------------------------------------------------------------


def price(market: Market, stall_type: str | None, add_ons: Sequence[str] | None) -> tuple[int, str | None, list[str]]:
    """What one date costs at this market as this type with these add-ons: (cents, the type, the add-ons)."""
    types = {t["name"].casefold(): t for t in market.stall_types or []}
    offered = {a["name"].casefold(): a for a in market.add_ons or []}
    if stall_type is not None and stall_type.casefold() not in types:
        known = ", ".join(t["name"] for t in market.stall_types or []) or "none (set_site_plan defines them)"
        raise Invalid(f"stall_type {quoted(stall_type)} is not one of {quoted(market.name)}'s stall types: {known}.")
    chosen = types[stall_type.casefold()] if stall_type else (market.stall_types or [None])[0]
    wanted = list(dict.fromkeys(a.casefold() for a in add_ons or []))
    unknown = [a for a in wanted if a not in offered]
    if unknown:
        known = ", ".join(a["name"] for a in market.add_ons or []) or "none (set_site_plan defines them)"
        raise Invalid(f"add_ons {', '.join(map(quoted, unknown))}: {quoted(market.name)}'s add-ons are {known}.")
    base = chosen["fee_cents"] if chosen else market.default_fee_cents
    extras = sum(offered[a]["fee_cents"] for a in wanted)
    return base + extras, chosen["name"] if chosen else None, [offered[a]["name"] for a in wanted]


def fee_from(market: Market) -> int:
    """The fee a date starts at: the default type's, else the flat fee."""
    return market.stall_types[0]["fee_cents"] if market.stall_types else market.default_fee_cents


# The plan -----------------------------------------------------------------------------------------------------


async def _stalls(org: OrgContext, market_id: int) -> list[Stall]:
    rows = (await org.session.execute(scoped(org, Stall).where(Stall.market_id == market_id))).scalars().all()
    return sorted(rows, key=lambda s: natural(s.code))


async def _features(org: OrgContext, market_id: int) -> list[SiteFeature]:
    stmt = scoped(org, SiteFeature).where(SiteFeature.market_id == market_id).order_by(SiteFeature.id)
    return list((await org.session.execute(stmt)).scalars().all())


async def get_site_plan(org: OrgContext, market_id: int) -> SitePlan:
    market = await get_or_404(org, Market, market_id)
    return _plan_out(org, market, await _stalls(org, market_id), await _features(org, market_id))


def _plan_out(org: OrgContext, market: Market, stalls: list[Stall], features: list[SiteFeature]) -> SitePlan:
    return SitePlan(
        market_id=market.id,  # type: ignore[arg-type]
        market=market.name,
        summary=_summary(org, market, stalls, features),
        currency=org.currency,
        stall_types=[StallType(**t) for t in market.stall_types or []],
        add_ons=[AddOn(**a) for a in market.add_ons or []],
        separate_categories=market.separate_categories,
        stalls=[
            StallOut(
                code=s.code,
                row=s.row_label,
                stall_type=s.stall_type,
                x=s.x,
                y=s.y,
                width=s.width,
                depth=s.depth,
                facing=s.facing,  # type: ignore[arg-type]
                attributes=s.attributes,
            )
            for s in stalls
        ],
        features=[FeatureOut(kind=f.kind, label=f.label, x=f.x, y=f.y, width=f.width, depth=f.depth) for f in features],
    )


def _summary(org: OrgContext, market: Market, stalls: list[Stall], features: list[SiteFeature]) -> str:
    if not stalls:
        plan = f"{quoted(market.name)} has no site plan yet: set_site_plan lays one out."
    else:
        rows = sorted({s.row_label for s in stalls if s.row_label}, key=natural)
        rows_said = f" in {plural(len(rows), 'row')} ({', '.join(rows)})" if rows else ""
        counts = Counter(a for s in stalls for a in s.attributes if a != "corner")
        extras = "".join(f", {n} with {a.replace('_', ' ')}" for a, n in sorted(counts.items()))
        plan = f"{quoted(market.name)}: {plural(len(stalls), 'stall')}{rows_said}{extras}"
        plan += f"; {plural(len(features), 'feature')}." if features else "."
    money = lambda cents: format_money(cents, org.currency)  # noqa: E731
    if market.stall_types:
        plan += " Types: " + ", ".join(f"{t['name']} {money(t['fee_cents'])}" for t in market.stall_types) + "."
    else:
        plan += f" Flat fee {money(market.default_fee_cents)} per date."
    if market.add_ons:
        plan += " Add-ons: " + ", ".join(f"{a['name']} +{money(a['fee_cents'])}" for a in market.add_ons) + "."
    return plan


def _row_stalls(row: RowIn, x: float, y: float, facing: str) -> list[dict[str, Any]]:
    made = []
    for k in range(row.stalls):
        ends = ["corner"] if k in (0, row.stalls - 1) else []
        made.append(
            dict(
                code=f"{row.row}{row.first_number + k}",
                row_label=row.row,
                stall_type=row.stall_type,
                x=round(x + k * row.width, 3),
                y=y,
                width=row.width,
                depth=row.depth,
                facing=facing,
                attributes=sorted(set(row.attributes) | set(ends), key=STALL_ATTRIBUTES.index),
            )
        )
    return made


async def set_site_plan(
    org: OrgContext,
    market_id: int,
    *,
    copy_from_market_id: int | None,
    rows: list[RowIn] | None,
    stalls: list[StallIn] | None,
    remove_stalls: list[str] | None,
    features: list[FeatureIn] | None,
    stall_types: list[StallTypeIn] | None,
    add_ons: list[AddOnIn] | None,
    separate_categories: bool | None,
    aisle: float,
) -> SitePlan:
    market = await get_or_404(org, Market, market_id, for_update=True)
    plan = {s.code: _stall_dict(s) for s in await _stalls(org, market_id)}
    drawn = [_box(f) for f in await _features(org, market_id)]
    before = set(plan)
    if copy_from_market_id is not None:
        if copy_from_market_id == market_id:
            raise Invalid("copy_from_market_id is this market; give another market's id to copy its plan here.")
        source = await get_or_404(org, Market, copy_from_market_id)
        plan = {s.code: _stall_dict(s) for s in await _stalls(org, copy_from_market_id)}
        drawn = [_box(f) for f in await _features(org, copy_from_market_id)]
        market.stall_types, market.add_ons = source.stall_types, source.add_ons
        market.separate_categories = source.separate_categories
    if stall_types is not None:
        _unique("stall_types", [t.name for t in stall_types])
        market.stall_types = [dict(name=t.name, fee_cents=t.fee) for t in stall_types] or None
    if add_ons is not None:
        _unique("add_ons", [a.name for a in add_ons])
        market.add_ons = [dict(name=a.name, fee_cents=a.fee) for a in add_ons] or None
    if separate_categories is not None:
        market.separate_categories = separate_categories
    for row in rows or []:
        old = [s for s in plan.values() if s["row_label"] == row.row]
        others = [s for s in plan.values() if s["row_label"] != row.row]
        bottom = max((s["y"] + s["depth"] for s in others), default=None)
        x = row.x if row.x is not None else min((s["x"] for s in old), default=0.0)
        y = row.y if row.y is not None else min((s["y"] for s in old), default=None)
        if y is None:
            y = 0.0 if bottom is None else round(bottom + aisle, 3)
        facing = row.facing or (
            old[0]["facing"] if old else ("S" if len({s["row_label"] for s in others}) % 2 == 0 else "N")
        )
        for s in old:
            del plan[s["code"]]
        for s in _row_stalls(row, x, y, facing):
            if s["code"] in plan:
                raise Invalid(
                    f"Row {row.row} would make stall {s['code']}, which is already on the plan in row "
                    f"{plan[s['code']]['row_label'] or '(none)'}; give the row another first_number."
                )
            plan[s["code"]] = s
    _unique("stalls", [s.code for s in stalls or []])
    for change in stalls or []:
        given = change.model_dump(exclude_none=True, exclude={"code"})
        found = next((s for code, s in plan.items() if code.casefold() == change.code.casefold()), None)
        if found is None:
            if change.x is None or change.y is None:
                raise Invalid(f"Stall {change.code} is not on the plan: give its x and y to add it.")
            plan[change.code] = (
                dict(code=change.code, row_label="", stall_type=None, width=3.0, depth=3.0, facing="S", attributes=[])
                | given
            )
        else:
            found.update(given)
    for code in remove_stalls or []:
        found = next((c for c in plan if c.casefold() == code.casefold()), None)
        if found is None:
            raise NotFound(f"Stall {code} is not on {quoted(market.name)}'s plan (get_site_plan lists its stalls).")
        del plan[found]
    if features is not None:
        drawn = [f.model_dump() for f in features]
    _check_types(market, plan.values())
    await _check_not_held(org, market, before - set(plan))

    await org.session.execute(
        delete(Stall).where(Stall.organization_id == org.organization_id, Stall.market_id == market_id)
    )
    await org.session.execute(
        delete(SiteFeature).where(
            SiteFeature.organization_id == org.organization_id, SiteFeature.market_id == market_id
        )
    )
    owner = dict(organization_id=org.organization_id, market_id=market_id)
    if plan:
        await org.session.execute(insert(Stall), [owner | s for s in plan.values()])
    if drawn:
        await org.session.execute(insert(SiteFeature), [owner | f for f in drawn])
    market.updated_at = org.now()
    org.session.add(market)
    await org.session.flush()
    org.touch("market", market_id)
    return await get_site_plan(org, market_id)


def _stall_dict(s: Stall) -> dict[str, Any]:
    return dict(
        code=s.code,
        row_label=s.row_label,
        stall_type=s.stall_type,
        x=s.x,
        y=s.y,
        width=s.width,
        depth=s.depth,
        facing=s.facing,
        attributes=list(s.attributes),
    )


def _box(f: SiteFeature) -> dict[str, Any]:
    return dict(kind=f.kind, label=f.label, x=f.x, y=f.y, width=f.width, depth=f.depth)


def _unique(argument: str, names: list[str]) -> None:
    seen = Counter(n.casefold() for n in names)
    twice = [n for n in names if seen[n.casefold()] > 1]
    if twice:
        raise Invalid(f"{argument} names {quoted(twice[0])} more than once; name each once.")


def _check_types(market: Market, stalls: Iterable[dict[str, Any]]) -> None:
    types = {t["name"].casefold(): t["name"] for t in market.stall_types or []}
    wrong = sorted(
        (s for s in stalls if s["stall_type"] and s["stall_type"].casefold() not in types),
        key=lambda s: natural(s["code"]),
    )
    if wrong:
        known = ", ".join(types.values()) or "none"
        raise Invalid(
            f"Stall {wrong[0]['code']} is of type {quoted(wrong[0]['stall_type'])}, which is not one of the market's "
            f"stall types ({known}): define it in stall_types, or give the stall another stall_type."
        )
    for s in stalls:  # spelled as the type is
        if s["stall_type"]:
            s["stall_type"] = types[s["stall_type"].casefold()]


async def _check_not_held(org: OrgContext, market: Market, removed: set[str]) -> None:
    """A stall held on a date to come cannot leave the plan."""
    if not removed:
        return
    stmt = (
        scoped(org, Booking, Booking.id, Booking.space_number, MarketDate.scheduled_at, Vendor.business_name)
        .join(MarketDate, MarketDate.id == Booking.market_date_id)
        .join(Vendor, Vendor.id == Booking.vendor_id)
        .where(
            MarketDate.market_id == market.id,
            MarketDate.scheduled_at >= org.today(),
            Booking.status.in_(ACTIVE),  # type: ignore[attr-defined]
            Booking.space_number.in_(sorted(removed)),  # type: ignore[union-attr]
        )
        .order_by(MarketDate.scheduled_at, Booking.id)
        .limit(5)
    )
    held = (await org.session.execute(stmt)).all()
    if held:
        said = "; ".join(
            f"{h.space_number} on {h.scheduled_at} by booking {h.id} ({quoted(h.business_name)})" for h in held
        )
        raise Conflict(
            f"The plan would drop stalls still held on dates to come: {said}. Move those bookings with assign_stall "
            "first, or keep the stalls."
        )


# Who stands where ---------------------------------------------------------------------------------------------


@dataclass
class _Held:
    booking_id: int
    vendor_id: int
    vendor: str
    category: str
    code: str | None
    needs: set[str]
    stall_type: str | None
    unpaid: bool


def neighbours(stalls: Sequence[Stall]) -> dict[str, set[str]]:
    """Each stall's side-by-side neighbours on the plan (rectangles touching within NEIGHBOUR_GAP)."""
    found: dict[str, set[str]] = defaultdict(set)
    for i, a in enumerate(stalls):
        for b in stalls[i + 1 :]:
            gap_x = max(b.x - (a.x + a.width), a.x - (b.x + b.width))
            gap_y = max(b.y - (a.y + a.depth), a.y - (b.y + b.depth))
            overlap_x = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
            overlap_y = min(a.y + a.depth, b.y + b.depth) - max(a.y, b.y)
            beside = (0 <= gap_x <= NEIGHBOUR_GAP and overlap_y > 0.1) or (
                0 <= gap_y <= NEIGHBOUR_GAP and overlap_x > 0.1
            )
            overlapping = gap_x < 0 and gap_y < 0
            if beside or overlapping:
                found[a.code].add(b.code)
                found[b.code].add(a.code)
    return found


async def _market_date(org: OrgContext, market_date_id: int) -> tuple[MarketDate, Market]:
    day = await get_or_404(org, MarketDate, market_date_id)
    return day, await get_or_404(org, Market, day.market_id)


async def _on_date(org: OrgContext, market_date_id: int, *, booking_ids: Sequence[int] | None = None) -> list[_Held]:
    """The date's active bookings with what a stall must give them."""
    stmt = (
        scoped(
            org,
            Booking,
            Booking.id,
            Booking.vendor_id,
            Booking.space_number,
            Vendor.business_name,
            Vendor.category,
            Vendor.needs,
            Order.stall_type,
            Order.add_ons,
            Order.status,
            Order.amount_due_cents,
        )
        .join(Vendor, Vendor.id == Booking.vendor_id)
        .outerjoin(Order, Order.id == Booking.order_id)
        .where(Booking.market_date_id == market_date_id, Booking.status.in_(ACTIVE))  # type: ignore[attr-defined]
        .order_by(Booking.id)
    )
    if booking_ids is not None:
        stmt = stmt.where(Booking.id.in_(booking_ids))  # type: ignore[union-attr]
    return [
        _Held(
            booking_id=r.id,
            vendor_id=r.vendor_id,
            vendor=r.business_name,
            category=(r.category or "").strip(),
            code=r.space_number,
            needs=set(r.needs or []) | {a for a in r.add_ons or [] if a in STALL_ATTRIBUTES},
            stall_type=r.stall_type,
            unpaid=r.status in UNPAID and (r.amount_due_cents or 0) > 0,
        )
        for r in (await org.session.execute(stmt)).all()
    ]


def _type_of(market: Market, stall: Stall) -> str | None:
    default = market.stall_types[0]["name"] if market.stall_types else None
    return stall.stall_type or default


def _wants_type(market: Market, held: _Held) -> str | None:
    if not market.stall_types:
        return None
    return held.stall_type or market.stall_types[0]["name"]


def _misfits(market: Market, stall: Stall, held: _Held) -> list[str]:
    """What this stall lacks for this booking, in words."""
    lacks = [f"has no {n.replace('_', ' ')}" for n in sorted(held.needs) if n not in stall.attributes]
    wanted = _wants_type(market, held)
    if wanted is not None and (_type_of(market, stall) or "").casefold() != wanted.casefold():
        lacks.insert(0, f"is a {_type_of(market, stall)} stall, not {wanted}")
    return lacks


def _same_category_beside(code: str, category: str, near: dict[str, set[str]], holders: dict[str, _Held]) -> list[str]:
    if not category:
        return []
    return sorted(
        (n for n in near.get(code, ()) if n in holders and holders[n].category.casefold() == category.casefold()),
        key=natural,
    )


async def assign_stall(org: OrgContext, booking_id: int, *, stall: str | None, swap: bool) -> StallAssigned:
    booking = await get_or_404(org, Booking, booking_id, for_update=True)
    if booking.status not in ACTIVE:
        restore = " (restore_booking brings a cancelled booking back)" if booking.status == "cancelled" else ""
        raise Conflict(
            f"Booking {booking_id} is {booking.status}, so it holds no stall; only a pending or confirmed booking can "
            f"be given one{restore}."
        )
    day, market = await _market_date(org, booking.market_date_id)
    plan = await _stalls(org, market.id)  # type: ignore[arg-type]
    by_code = {s.code.casefold(): s for s in plan}
    target = None
    if stall is not None and plan:
        target = by_code.get(stall.casefold())
        if target is None:
            raise NotFound(
                f"No stall {quoted(stall)} on {quoted(market.name)}'s plan; its stalls are {_ranges(plan)} "
                "(get_site_plan shows them)."
            )
        stall = target.code
    everyone = await _on_date(org, day.id)  # type: ignore[arg-type]
    me = next(h for h in everyone if h.booking_id == booking_id)
    holder = next(
        (
            h
            for h in everyone
            if stall is not None
            and h.code is not None
            and h.code.casefold() == stall.casefold()
            and h.booking_id != booking_id
        ),
        None,
    )
    if holder is not None and not swap:
        free = _free(plan, everyone)
        raise Conflict(
            f"Stall {stall} on {long_date(day.scheduled_at)} is held by booking {holder.booking_id} "
            f"({quoted(holder.vendor)}). Pass swap: true to swap the two, or choose a free stall"
            + (f": {', '.join(free[:10])}." if free else " (none is free that day).")
        )
    moves = [Move(booking_id=booking_id, vendor=me.vendor, from_stall=me.code, to_stall=stall)]
    if holder is not None:
        moves.append(Move(booking_id=holder.booking_id, vendor=holder.vendor, from_stall=holder.code, to_stall=me.code))
        await _set_space(org, holder.booking_id, None)  # first, or the unique index sees two holders
    await _set_space(org, booking_id, stall)
    if holder is not None:
        await _set_space(org, holder.booking_id, me.code)
    warnings: list[str] = []
    if plan:
        after = {m.booking_id: m.to_stall for m in moves}
        for h in everyone:
            h.code = after.get(h.booking_id, h.code)
        holders = {h.code: h for h in everyone if h.code}
        near = neighbours(plan)
        for m in moves:
            if m.to_stall is None:
                continue
            h = holders[m.to_stall]
            lacks = _misfits(market, by_code[m.to_stall.casefold()], h)
            if lacks:
                warnings.append(f"{m.to_stall} {' and '.join(lacks)}, which {quoted(h.vendor)} needs.")
            beside = _same_category_beside(m.to_stall, h.category, near, holders) if market.separate_categories else []
            if beside:
                warnings.append(
                    f"{quoted(h.vendor)} ({h.category}) at {m.to_stall} is beside {', '.join(beside)}, also {h.category}."
                )
    org.touch("booking", *(m.booking_id for m in moves))
    return StallAssigned(booking_id=booking_id, market_date_id=day.id, stall=stall, moves=moves, warnings=warnings)  # type: ignore[arg-type]


async def _set_space(org: OrgContext, booking_id: int, code: str | None) -> None:
    await org.session.execute(
        update(Booking)
        .where(Booking.id == booking_id, Booking.organization_id == org.organization_id)
        .values(space_number=code, updated_at=org.now())
    )


def _free(plan: Sequence[Stall], everyone: Sequence[_Held]) -> list[str]:
    taken = {h.code.casefold() for h in everyone if h.code}
    return [s.code for s in plan if s.code.casefold() not in taken]


def _ranges(plan: Sequence[Stall]) -> str:
    by_row: dict[str, list[str]] = defaultdict(list)
    for s in plan:
        by_row[s.row_label].append(s.code)
    parts = [f"{codes[0]}–{codes[-1]}" if len(codes) > 1 else codes[0] for codes in by_row.values()]
    return ", ".join(parts[:12]) + (" …" if len(parts) > 12 else "")


async def check_space(org: OrgContext, booking: Booking, space_number: str) -> str:
    """update_space_number's check where the market has a plan: the stall's code as the plan spells it."""
    market_id = (
        await org.session.execute(
            scoped(org, MarketDate, MarketDate.market_id).where(MarketDate.id == booking.market_date_id)
        )
    ).scalar_one()
    plan = await _stalls(org, market_id)
    if not plan:
        return space_number
    found = next((s for s in plan if s.code.casefold() == space_number.casefold()), None)
    if found is None:
        raise NotFound(f"No stall {quoted(space_number)} on the market's plan; its stalls are {_ranges(plan)}.")
    return found.code


async def _usual_stalls(org: OrgContext, market_id: int, market_date_id: int, vendor_ids: list[int]) -> dict[int, str]:
    """Each vendor's usual stall at this market: the one they have held most often on its other dates."""
    if not vendor_ids:
        return {}
    stmt = (
        scoped(
            org,
            Booking,
            Booking.vendor_id,
            Booking.space_number,
            func.count().label("n"),
            func.max(MarketDate.scheduled_at).label("last"),
        )
        .join(MarketDate, MarketDate.id == Booking.market_date_id)
        .where(
            MarketDate.market_id == market_id,
            MarketDate.id != market_date_id,
            Booking.vendor_id.in_(vendor_ids),  # type: ignore[attr-defined]
            Booking.space_number.is_not(None),  # type: ignore[union-attr]
            Booking.status.in_(ACTIVE),  # type: ignore[attr-defined]
        )
        .group_by(Booking.vendor_id, Booking.space_number)
    )
    best: dict[int, tuple[int, Any, str]] = {}
    for r in (await org.session.execute(stmt)).all():
        key = (r.n, r.last, r.space_number)
        if r.vendor_id not in best or key > best[r.vendor_id]:
            best[r.vendor_id] = key
    return {vendor: found[2] for vendor, found in best.items()}


async def auto_assign_stalls(org: OrgContext, market_date_id: int, *, dry_run: bool) -> AutoAssigned:
    day, market = await _market_date(org, market_date_id)
    plan = await _stalls(org, market.id)  # type: ignore[arg-type]
    if not plan:
        raise Conflict(
            f"{quoted(market.name)} has no site plan, so there are no stalls to assign: lay one out with set_site_plan "
            "(or give spaces by hand with update_space_number)."
        )
    if day.status != "scheduled":
        raise Conflict(f"Market date {market_date_id} is {day.status}; only a scheduled date's stalls can be assigned.")
    everyone = await _on_date(org, market_date_id)
    by_code = {s.code.casefold(): s for s in plan}
    holders = {by_code[h.code.casefold()].code: h for h in everyone if h.code and h.code.casefold() in by_code}
    waiting = [h for h in everyone if not h.code]
    near = neighbours(plan)
    usual = await _usual_stalls(org, market.id, market_date_id, [h.vendor_id for h in waiting])  # type: ignore[arg-type]

    def fits(stall: Stall, h: _Held) -> bool:
        return stall.code not in holders and not _misfits(market, stall, h)

    def apart(stall: Stall, h: _Held) -> bool:
        return not market.separate_categories or not _same_category_beside(stall.code, h.category, near, holders)

    placed: list[Placement] = []
    not_placed: list[NotPlaced] = []
    rest = []
    for h in waiting:  # regulars first, into their usual stall
        own = by_code.get((usual.get(h.vendor_id) or "").casefold())
        if own is not None and fits(own, h) and apart(own, h):
            holders[own.code] = h
            placed.append(Placement(booking_id=h.booking_id, vendor=h.vendor, stall=own.code, why="their usual stall"))
        else:
            rest.append(h)
    # Then the hardest to place first: fewest stalls that could take them.
    rest.sort(key=lambda h: (sum(1 for s in plan if fits(s, h)), -len(h.needs), h.booking_id))
    for h in rest:
        fitting = [s for s in plan if fits(s, h)]
        spaced = [s for s in fitting if apart(s, h)]
        if spaced:
            # Spare what others need: the stall with the fewest attributes this booking does not use.
            best = min(spaced, key=lambda s: (len(set(s.attributes) - h.needs - {"corner"}), natural(s.code)))
            holders[best.code] = h
            why = "needs " + ", ".join(sorted(n.replace("_", " ") for n in h.needs)) if h.needs else "free stall"
            placed.append(Placement(booking_id=h.booking_id, vendor=h.vendor, stall=best.code, why=why))
        else:
            not_placed.append(
                NotPlaced(booking_id=h.booking_id, vendor=h.vendor, reason=_why_not(market, plan, holders, h, fitting))
            )

    if placed and not dry_run:
        codes = {p.booking_id: p.stall for p in placed}
        await org.session.execute(
            update(Booking)
            .where(
                Booking.organization_id == org.organization_id,
                Booking.id.in_(codes),  # type: ignore[attr-defined]
                Booking.space_number.is_(None),  # type: ignore[union-attr]
            )
            .values(space_number=case(codes, value=Booking.id), updated_at=org.now())
        )
        org.touch("booking", *codes)
    when = f"on {long_date(day.scheduled_at)} at {quoted(market.name)}"
    if not waiting:
        note = f"Every active booking {when} already has a stall; nothing to place."
    else:
        note = f"{plural(len(placed), 'booking')} {when} {'would be' if dry_run else 'were'} given a stall"
        note += f"; {len(not_placed)} could not be placed (see not_placed)." if not_placed else "."
    if dry_run and waiting:
        note = preview_note("no stall was given") + " " + note
    return AutoAssigned(
        market_date_id=market_date_id,
        dry_run=dry_run,
        note=note,
        placed=None if dry_run else placed,
        would_place=placed if dry_run else None,
        not_placed=not_placed,
    )


def _why_not(market: Market, plan: Sequence[Stall], holders: dict[str, _Held], h: _Held, fitting: list[Stall]) -> str:
    free = [s for s in plan if s.code not in holders]
    if not free:
        return "every stall is taken on this date."
    if fitting:
        shown = ", ".join(s.code for s in fitting[:6])
        return (
            f"the free stalls that fit ({shown}) are each beside another {h.category} vendor; place it by hand with "
            "assign_stall (it warns), or set separate_categories false."
        )
    wanted = _wants_type(market, h)
    typed = [s for s in free if wanted is None or (_type_of(market, s) or "").casefold() == wanted.casefold()]
    if not typed:
        return f"no free {wanted} stall."
    needs = ", ".join(sorted(n.replace("_", " ") for n in h.needs))
    return f"no free {wanted + ' ' if wanted else ''}stall with {needs}."


# The map ------------------------------------------------------------------------------------------------------


async def market_map(org: OrgContext, market_date_id: int) -> tuple[MarketMap, Any, list[Any]]:
    """The date's map as the tools give it, the scene the drawings are made from, and the day sheet's roster."""
    from market_mcp import drawing

    day, market = await _market_date(org, market_date_id)
    plan = await _stalls(org, market.id)  # type: ignore[arg-type]
    features = await _features(org, market.id)  # type: ignore[arg-type]
    everyone = await _on_date(org, market_date_id)
    by_code = {s.code.casefold(): s for s in plan}
    holders = {by_code[h.code.casefold()].code: h for h in everyone if h.code and h.code.casefold() in by_code}
    unplaced = [h for h in everyone if h.booking_id not in {x.booking_id for x in holders.values()}]
    scene = drawing.MapScene(
        title=one_line(market.name),
        subtitle=long_date(day.scheduled_at),
        stalls=tuple(
            drawing.Stall(
                code=s.code,
                x=s.x,
                y=s.y,
                width=s.width,
                depth=s.depth,
                facing=s.facing,
                attributes=tuple(s.attributes),
                vendor=one_line(holders[s.code].vendor) if s.code in holders else None,
                category=holders[s.code].category or None if s.code in holders else None,
                unpaid=holders[s.code].unpaid if s.code in holders else False,
                booking_id=holders[s.code].booking_id if s.code in holders else None,
            )
            for s in plan
        ),
        features=tuple(
            drawing.Feature(kind=f.kind, label=f.label, x=f.x, y=f.y, width=f.width, depth=f.depth) for f in features
        ),
        unassigned=tuple(
            drawing.Unassigned(
                booking_id=h.booking_id, vendor=one_line(h.vendor), category=h.category or None, unpaid=h.unpaid
            )
            for h in unplaced
        ),
    )
    counts = MapCounts(
        stalls=len(plan),
        occupied=len(holders),
        empty=len(plan) - len(holders),
        unassigned=len(unplaced),
        unpaid=sum(1 for h in everyone if h.unpaid),
    )
    if plan:
        summary = (
            f"{quoted(market.name)} on {long_date(day.scheduled_at)}: {counts.occupied} of {plural(counts.stalls, 'stall')} "
            f"taken, {counts.empty} empty; {plural(counts.unassigned, 'booking')} without a stall; {counts.unpaid} unpaid."
        )
        if counts.unassigned:
            summary += " auto_assign_stalls places them."
    else:
        summary = (
            f"{quoted(market.name)} has no site plan, so there is no map to draw; {plural(len(everyone), 'booking')} "
            "on the date. set_site_plan lays one out."
        )
    result = MarketMap(
        market_date_id=day.id,  # type: ignore[arg-type]
        market_id=market.id,  # type: ignore[arg-type]
        market=market.name,
        date=day.scheduled_at,
        summary=summary,
        stalls=[
            MapStall(
                code=code,
                booking_id=h.booking_id,
                vendor_id=h.vendor_id,
                vendor=h.vendor,
                category=h.category,
                unpaid=h.unpaid,
            )
            for code, h in sorted(holders.items(), key=lambda item: natural(item[0]))
        ],
        empty_stalls=[s.code for s in plan if s.code not in holders],
        unassigned=[
            MapUnassigned(
                booking_id=h.booking_id,
                vendor_id=h.vendor_id,
                vendor=h.vendor,
                category=h.category,
                unpaid=h.unpaid,
                needs=sorted(h.needs),
            )
            for h in unplaced
        ],
        counts=counts,
        sheet_pdf=f"market-mcp://market-dates/{day.id}/sheet.pdf",
    )
    return result, scene, await _roster(org, market_date_id, holders, unplaced)


async def _roster(org: OrgContext, market_date_id: int, holders: dict[str, _Held], unplaced: list[_Held]) -> list[Any]:
    from market_mcp import drawing

    everyone = list(holders.items()) + [(None, h) for h in unplaced]
    ids = [h.vendor_id for _, h in everyone]
    contacts = (
        {
            r.id: r
            for r in (
                await org.session.execute(
                    scoped(org, Vendor, Vendor.id, Vendor.contact_name, Vendor.phone).where(Vendor.id.in_(ids))
                )  # type: ignore[union-attr]
            ).all()
        }
        if ids
        else {}
    )
    owed = {
        r.id: r.amount_due_cents
        for r in (
            await org.session.execute(
                scoped(org, Booking, Booking.id, Order.amount_due_cents, Order.status)
                .join(Order, Order.id == Booking.order_id)
                .where(Booking.market_date_id == market_date_id)
            )
        ).all()
        if r.status in UNPAID
    }
    return [
        drawing.RosterRow(
            stall=code,
            vendor=one_line(h.vendor),
            contact=one_line(contacts[h.vendor_id].contact_name) if h.vendor_id in contacts else "",
            phone=one_line(contacts[h.vendor_id].phone) if h.vendor_id in contacts else "",
            category=h.category,
            payment=f"owes {format_money(owed[h.booking_id], org.currency)}"
            if h.unpaid and owed.get(h.booking_id)
            else "paid",
            needs=", ".join(sorted(n.replace("_", " ") for n in h.needs)),
        )
        for code, h in everyone
    ]


async def day_sheet(org: OrgContext, market_date_id: int) -> bytes:
    """The printable market-day sheet: the map, then the roster with phones and who still owes."""
    from market_mcp import drawing

    _, scene, roster = await market_map(org, market_date_id)
    printed = org.now().astimezone(org.tz).strftime("%-d %b %Y %H:%M")
    return drawing.sheet_pdf(scene, roster, printed=f"Printed {printed}")
