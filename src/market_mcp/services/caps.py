"""Category caps: how many vendors of one category a market takes, and the mix of categories on each date.

A market may cap a category (at most N approved vendors, and at most N booked on each date; a date may override
the market's cap) and set goals for its mix ("at least N produce"). Caps are enforced at approval and booking
(services/admission.py asks `approval_problems` and `booking_problems`); goals are only shown. Categories are
vendors' free text, matched stripped and case-folded ("Bakery " is "bakery").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, func, or_

from market_mcp.auth import OrgContext
from market_mcp.db.functions import casefold
from market_mcp.db.tables import (
    ACTIVE_BOOKING_STATUSES,
    Application,
    Booking,
    CategoryRule,
    Market,
    MarketDate,
    Vendor,
    WaitlistEntry,
)
from market_mcp.errors import Invalid
from market_mcp.schemas.caps import CapIn, CategoryCap, CategoryCaps, CategoryMinimum, DateMix, MinimumIn
from market_mcp.schemas.dashboard import AttentionItem
from market_mcp.schemas.market_dates import CategoryCount
from market_mcp.schemas.text import one_line, quoted
from market_mcp.services.scope import get_or_404, scoped

NAMED = 8  # holders a refusal names before "and N more"
NEXT_DATES = 5  # dates whose mix set_category_caps and get_market show
MIX_HORIZON = timedelta(days=14)  # the dashboard names dates this close whose mix is off
MIX_ATTENTION = 5  # dates it names at most


def fold(category: str | None) -> str:
    """The key a category is matched by: "Bakery " and "bakery" are one category."""
    return (category or "").strip().casefold()


def vendor_key() -> Any:
    """A vendor's category as SQL matches it with `fold`'s keys."""
    return casefold(func.trim(Vendor.category))


@dataclass
class Rules:
    """A market's caps and goals by category key, and its dates' cap overrides; names as the organiser wrote them."""

    caps: dict[str, int] = field(default_factory=dict)
    minimums: dict[str, int] = field(default_factory=dict)
    overrides: dict[int, dict[str, int]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    override_names: dict[tuple[int, str], str] = field(default_factory=dict)

    def date_caps(self, market_date_id: int) -> list[CategoryCap]:
        """A date's overrides, as the organiser wrote them."""
        caps = [
            CategoryCap(category=self.override_names[(market_date_id, k)], max_vendors=n)
            for k, n in self.overrides.get(market_date_id, {}).items()
        ]
        return sorted(caps, key=lambda c: c.category.casefold())

    def cap(self, key: str, market_date_id: int) -> int | None:
        return self.overrides.get(market_date_id, {}).get(key, self.caps.get(key))

    def keys(self, market_date_id: int) -> set[str]:
        return {*self.caps, *self.minimums, *self.overrides.get(market_date_id, {})}

    def __bool__(self) -> bool:
        return bool(self.caps or self.minimums or self.overrides)


async def rules_of(
    org: OrgContext, market_id: int, date_ids: list[int] | None = None, *, key: str | None = None
) -> Rules:
    """The market's rules, with the overrides of the given dates (None: of every date); of one category if key."""
    stmt = scoped(org, CategoryRule).where(CategoryRule.market_id == market_id)
    if date_ids is not None:
        stmt = stmt.where(
            or_(CategoryRule.market_date_id.is_(None), CategoryRule.market_date_id.in_(date_ids))  # type: ignore[union-attr]
        )
    if key is not None:
        stmt = stmt.where(CategoryRule.category_key == key)
    rules = Rules()
    for rule in (await org.session.execute(stmt.order_by(CategoryRule.id))).scalars():
        if rule.market_date_id is None:
            rules.names[rule.category_key] = rule.category
            if rule.max_vendors is not None:
                rules.caps[rule.category_key] = rule.max_vendors
            if rule.min_vendors is not None:
                rules.minimums[rule.category_key] = rule.min_vendors
        elif rule.max_vendors is not None:
            rules.names.setdefault(rule.category_key, rule.category)
            rules.override_names[(rule.market_date_id, rule.category_key)] = rule.category
            rules.overrides.setdefault(rule.market_date_id, {})[rule.category_key] = rule.max_vendors
    return rules


def _held(holders: list[str], where: str) -> str:
    """ " and has 4 approved ("Crust Co", …)": who holds the cap (nothing, for a cap of 0 nobody holds)."""
    if not holders:
        return ""
    named = ", ".join(quoted(name) for name in holders[:NAMED])
    more = f" and {len(holders) - NAMED} more" if len(holders) > NAMED else ""
    return f" and has {len(holders)} {where} ({named}{more})"


def _allows(market: Market, cap: int, category: str) -> str:
    vendors = "vendor" if cap == 1 else "vendors"
    return f"{one_line(market.name)} allows {cap or 'no'} {one_line(category)} {vendors}"


# ---------------------------------------------------------------- the admission hook's questions


async def approval_problems(org: OrgContext, vendor: Vendor, market: Market) -> list[str]:
    """The market's cap on the vendor's category, if its approved vendors of that category (not this one) fill it."""
    key = fold(vendor.category)
    if not key:
        return []
    rules = await rules_of(org, market.id, [], key=key)  # type: ignore[arg-type]
    cap = rules.caps.get(key)
    if cap is None:
        return []
    holders = list(
        (
            await org.session.execute(
                scoped(org, Application, Vendor.business_name)
                .select_from(Application)
                .join(Vendor, Vendor.id == Application.vendor_id)
                .where(
                    Application.market_id == market.id,
                    Application.status == "approved",
                    Application.vendor_id != vendor.id,
                    vendor_key() == key,
                )
                .order_by(func.lower(Vendor.business_name))  # one approved application per vendor and market
            )
        ).scalars()
    )
    if len(holders) < cap:
        return []
    category = rules.names[key]
    return [
        f"{_allows(market, cap, category)}{_held(holders, 'approved')}; waitlist the "
        f'application (status "waitlisted") until a place frees up, or raise the cap with set_category_caps.'
    ]


async def _holders(
    org: OrgContext, date_ids: list[int], key: str, *, other_than: int | None = None
) -> dict[int, list[str]]:
    """Per date, the vendors of a category with an active booking on it, by name."""
    stmt = (
        scoped(org, Booking, Booking.market_date_id, Vendor.business_name)
        .join(Vendor, Vendor.id == Booking.vendor_id)
        .where(
            Booking.market_date_id.in_(date_ids),  # type: ignore[attr-defined]
            Booking.status.in_(ACTIVE_BOOKING_STATUSES),  # type: ignore[attr-defined]
            vendor_key() == key,
        )
        .order_by(func.lower(Vendor.business_name), Vendor.id)
    )
    if other_than is not None:
        stmt = stmt.where(Booking.vendor_id != other_than)
    found: dict[int, list[str]] = defaultdict(list)
    for day, name in (await org.session.execute(stmt)).all():
        found[day].append(name)
    return found


async def booking_problems(org: OrgContext, vendor: Vendor, market: Market, dates: list[MarketDate]) -> list[str]:
    """Each date whose cap on the vendor's category is filled by other vendors' active bookings."""
    key = fold(vendor.category)
    if not key or not dates:
        return []
    ids = [md.id for md in dates]
    rules = await rules_of(org, market.id, ids, key=key)  # type: ignore[arg-type]
    capped = {md.id: cap for md in dates if (cap := rules.cap(key, md.id)) is not None}  # type: ignore[arg-type]
    if not capped:
        return []
    holders = await _holders(org, list(capped), key, other_than=vendor.id)
    category = rules.names[key]
    problems = []
    for md in sorted(dates, key=lambda d: d.scheduled_at):
        cap = capped.get(md.id)  # type: ignore[arg-type]
        there = holders.get(md.id, [])  # type: ignore[arg-type]
        if cap is not None and len(there) >= cap:
            problems.append(
                f"{_allows(market, cap, category)}{_held(there, f'on {md.scheduled_at}')}; add "
                f"the vendor to the waitlist for a {one_line(category)} space with add_to_waitlist, or raise the cap "
                "with set_category_caps."
            )
    return problems


# ---------------------------------------------------------------- the mix


def _note(category: str, booked: int, cap: int | None, minimum: int | None) -> str:
    said = []
    if cap is not None:
        said.append(f"at most {cap}")
    if minimum is not None:
        said.append(f"at least {minimum}")
    note = f"{booked} of {' and '.join(said)} {category}" if said else f"{booked} {category}"
    if cap is not None and booked > cap:
        return note + f" ({booked - cap} over)"
    if cap is not None and booked == cap:
        return note + " (full)"
    if minimum is not None and booked < minimum:
        return note + f" ({minimum - booked} short)"
    return note


def off(count: CategoryCount) -> bool:
    """Over its cap or short of its goal."""
    return (count.cap is not None and count.booked > count.cap) or (
        count.minimum is not None and count.booked < count.minimum
    )


async def mixes(
    org: OrgContext, market_id: int, date_ids: list[int], rules: Rules | None = None
) -> dict[int, list[CategoryCount]]:
    """Per date, every category booked or ruled: vendors booked against its cap and goal, by category."""
    if not date_ids:
        return {}
    rules = rules if rules is not None else await rules_of(org, market_id, date_ids)
    key = vendor_key()
    rows = (
        await org.session.execute(
            scoped(org, Booking, Booking.market_date_id, key, func.min(Vendor.category), func.count())
            .join(Vendor, Vendor.id == Booking.vendor_id)
            .where(
                Booking.market_date_id.in_(date_ids),  # type: ignore[attr-defined]
                Booking.status.in_(ACTIVE_BOOKING_STATUSES),  # type: ignore[attr-defined]
                func.trim(Vendor.category) != "",
            )
            .group_by(Booking.market_date_id, key)
        )
    ).all()
    booked: dict[int, dict[str, int]] = defaultdict(dict)
    spelled: dict[str, str] = {}
    for day, k, name, n in rows:
        booked[day][k] = n
        spelled.setdefault(k, name.strip())
    out = {}
    for day in date_ids:
        counts = []
        for k in rules.keys(day) | set(booked[day]):
            category = one_line(rules.names.get(k) or spelled[k])
            n, cap, minimum = booked[day].get(k, 0), rules.cap(k, day), rules.minimums.get(k)
            counts.append(
                CategoryCount(
                    category=category, booked=n, cap=cap, minimum=minimum, note=_note(category, n, cap, minimum)
                )
            )
        out[day] = sorted(counts, key=lambda c: c.category.casefold())
    return out


def _caps_of(rules: Rules) -> tuple[list[CategoryCap], list[CategoryMinimum]]:
    caps = [CategoryCap(category=rules.names[k], max_vendors=n) for k, n in rules.caps.items()]
    minimums = [CategoryMinimum(category=rules.names[k], at_least=n) for k, n in rules.minimums.items()]
    return sorted(caps, key=lambda c: c.category.casefold()), sorted(minimums, key=lambda c: c.category.casefold())


async def market_caps(org: OrgContext, market_id: int) -> tuple[list[CategoryCap], list[CategoryMinimum], bool]:
    """The market's caps and goals, and whether it has any rule at all (a date's override included)."""
    rules = await rules_of(org, market_id)
    caps, minimums = _caps_of(rules)
    return caps, minimums, bool(rules)


# ---------------------------------------------------------------- the waitlist


async def room_on(org: OrgContext, md: MarketDate) -> dict[str, int] | None:
    """Per capped category, how many more vendors of it the date takes (active bookings and open waitlist offers
    count); None when the date has no cap at all."""
    rules = await rules_of(org, md.market_id, [md.id])  # type: ignore[list-item]
    capped = {
        k: cap for k in {*rules.caps, *rules.overrides.get(md.id, {})} if (cap := rules.cap(k, md.id)) is not None
    }  # type: ignore[arg-type]
    if not capped:
        return None
    key = vendor_key()
    booked = (
        await org.session.execute(
            scoped(org, Booking, key, func.count())
            .select_from(Booking)
            .join(Vendor, Vendor.id == Booking.vendor_id)
            .where(
                Booking.market_date_id == md.id,
                Booking.status.in_(ACTIVE_BOOKING_STATUSES),  # type: ignore[attr-defined]
                key.in_(list(capped)),
            )
            .group_by(key)
        )
    ).all()
    offered = (
        await org.session.execute(
            scoped(org, WaitlistEntry, key, func.count())
            .select_from(WaitlistEntry)
            .join(Vendor, Vendor.id == WaitlistEntry.vendor_id)
            .where(
                WaitlistEntry.market_date_id == md.id,
                WaitlistEntry.status == "notified",
                WaitlistEntry.offer_expires_at > org.now(),  # type: ignore[operator]
                key.in_(list(capped)),
            )
            .group_by(key)
        )
    ).all()
    room = dict(capped)
    for k, n in [*booked, *offered]:
        room[k] -= n
    return room


async def categories_of(org: OrgContext, vendor_ids: list[int]) -> dict[int, str]:
    """Each vendor's category key."""
    rows = await org.session.execute(scoped(org, Vendor, Vendor.id, Vendor.category).where(Vendor.id.in_(vendor_ids)))  # type: ignore[union-attr]
    return {vendor_id: fold(category) for vendor_id, category in rows.all()}


# ---------------------------------------------------------------- setting them


def _unique(entries: list[Any], what: str) -> None:
    seen: dict[str, str] = {}
    for entry in entries:
        key = fold(entry.category)
        if key in seen:
            raise Invalid(
                f"{what} lists the category {one_line(entry.category)!r} twice (as {one_line(seen[key])!r} too; "
                "categories match in any case); give each category once."
            )
        seen[key] = entry.category


async def _goals(org: OrgContext, where: list[Any]) -> list[tuple[str, int]]:
    stmt = scoped(org, CategoryRule, CategoryRule.category, CategoryRule.min_vendors).where(
        *where,
        CategoryRule.min_vendors.is_not(None),  # type: ignore[union-attr]
    )
    return [(category, n) for category, n in (await org.session.execute(stmt.order_by(CategoryRule.id))).all()]


async def set_category_caps(
    org: OrgContext,
    market_id: int,
    *,
    caps: list[CapIn],
    minimums: list[MinimumIn] | None,
    market_date_id: int | None,
) -> CategoryCaps:
    market = await get_or_404(org, Market, market_id, for_update=True)
    md = None
    if market_date_id is not None:
        md = await get_or_404(org, MarketDate, market_date_id)
        if md.market_id != market_id:
            raise Invalid(
                f"market_date_id {market_date_id} is a date of market {md.market_id}, not of market {market_id} "
                f"(list_market_dates with market_id={market_id} gives its dates)."
            )
        if minimums is not None:
            raise Invalid(
                "minimums are the market's goals, not a date's: call without market_date_id to set them; a date "
                "overrides only caps."
            )
    _unique(caps, "caps")
    _unique(minimums or [], "minimums")
    scope = CategoryRule.market_date_id == market_date_id if md else CategoryRule.market_date_id.is_(None)  # type: ignore[union-attr]
    where = [CategoryRule.organization_id == org.organization_id, CategoryRule.market_id == market_id, scope]
    # minimums left out keep the market's goals as they are
    kept = [] if minimums is not None or md is not None else await _goals(org, where)
    await org.session.execute(delete(CategoryRule).where(*where))
    now = org.now()
    rows: dict[str, CategoryRule] = {}

    def row(category: str) -> CategoryRule:
        key = fold(category)
        if key not in rows:
            rows[key] = CategoryRule(
                organization_id=org.organization_id,
                market_id=market_id,
                market_date_id=market_date_id,
                category=category.strip(),
                category_key=key,
                created_at=now,
                updated_at=now,
            )
        return rows[key]

    for category, at_least in kept:
        row(category).min_vendors = at_least
    for cap in caps:
        row(cap.category).max_vendors = cap.max_vendors
    for minimum in minimums or []:
        row(minimum.category).min_vendors = minimum.at_least
    org.session.add_all(rows.values())
    await org.session.flush()
    org.touch("market", market_id)
    if md is not None:
        org.touch("market_date", md.id)  # type: ignore[arg-type]

    named = [cap.category for cap in caps] + [m.category for m in minimums or []]
    return await _caps_now(org, market, md, named)


async def _next_dates(org: OrgContext, market_id: int) -> list[MarketDate]:
    stmt = (
        scoped(org, MarketDate)
        .where(
            MarketDate.market_id == market_id,
            MarketDate.status == "scheduled",
            MarketDate.scheduled_at >= org.today(),
        )
        .order_by(MarketDate.scheduled_at)
        .limit(NEXT_DATES)
    )
    return list((await org.session.execute(stmt)).scalars())


async def _caps_now(org: OrgContext, market: Market, md: MarketDate | None, named: list[str]) -> CategoryCaps:
    """The market's rules as set_category_caps left them, the mix on the date set (or the next dates), and notes."""
    rules = await rules_of(org, market.id)  # type: ignore[arg-type]
    market_caps_, market_minimums = _caps_of(rules)
    dates = [md] if md is not None else await _next_dates(org, market.id)  # type: ignore[arg-type]
    mix = await mixes(org, market.id, [d.id for d in dates], rules)  # type: ignore[arg-type, misc]
    date_mixes = [
        DateMix(
            market_date_id=d.id,  # type: ignore[arg-type]
            scheduled_at=d.scheduled_at,
            cap_overrides=rules.date_caps(d.id),  # type: ignore[arg-type]
            category_mix=mix[d.id],  # type: ignore[index]
        )
        for d in dates
    ]
    return CategoryCaps(
        market_id=market.id,  # type: ignore[arg-type]
        market_name=market.name,
        market_date_id=md.id if md is not None else None,
        caps=market_caps_,
        minimums=market_minimums,
        dates=date_mixes,
        notes=await _notes(org, market, rules, named, date_mixes),
    )


async def _notes(org: OrgContext, market: Market, rules: Rules, named: list[str], dates: list[DateMix]) -> list[str]:
    """What a model should tell the organiser the caps did not do."""
    notes = []
    keys = {fold(c) for c in named}
    if keys:
        known = set(
            (
                await org.session.execute(
                    scoped(org, Vendor, vendor_key()).where(vendor_key().in_(list(keys))).distinct()
                )
            ).scalars()
        )
        for category in named:
            if fold(category) not in known:
                notes.append(
                    f"No vendor has the category {one_line(category.strip())!r} yet: the cap or goal applies to vendors "
                    "given it (update_vendor sets a vendor's category)."
                )
    approved = (
        await org.session.execute(
            scoped(org, Application, vendor_key(), func.count(Application.vendor_id.distinct()))  # type: ignore[attr-defined]
            .select_from(Application)
            .join(Vendor, Vendor.id == Application.vendor_id)
            .where(
                Application.market_id == market.id,
                Application.status == "approved",
                vendor_key().in_(list(rules.caps)),
            )
            .group_by(vendor_key())
        )
    ).all()
    for k, n in sorted(approved):
        cap = rules.caps[k]
        if n > cap:
            notes.append(
                f"{one_line(market.name)} has {n} approved {one_line(rules.names[k])} vendors, over the cap of "
                f"{cap}: nobody is removed; the cap refuses new approvals until fewer hold one."
            )
    for d in dates:
        for count in d.category_mix:
            if count.cap is not None and count.booked > count.cap:
                notes.append(
                    f"{d.scheduled_at}: {count.note}; nobody is removed, new bookings of it are refused until fewer "
                    "hold one."
                )
    return notes


# ---------------------------------------------------------------- the dashboard


async def mix_attention(org: OrgContext) -> list[AttentionItem]:
    """The coming dates (next 14 days) whose mix is short of a goal or over a cap, soonest first."""
    markets = set(
        (
            await org.session.execute(
                scoped(org, CategoryRule, CategoryRule.market_id)
                .where(
                    or_(CategoryRule.min_vendors.is_not(None), CategoryRule.max_vendors.is_not(None))  # type: ignore[union-attr]
                )
                .distinct()
            )
        ).scalars()
    )
    if not markets:
        return []
    today = org.today()
    dates = (
        await org.session.execute(
            scoped(org, MarketDate, MarketDate.id, MarketDate.market_id, MarketDate.scheduled_at, Market.name)
            .join(Market, Market.id == MarketDate.market_id)
            .where(
                MarketDate.market_id.in_(markets),  # type: ignore[attr-defined]
                MarketDate.status == "scheduled",
                MarketDate.scheduled_at >= today,
                MarketDate.scheduled_at <= today + MIX_HORIZON,
            )
            .order_by(MarketDate.scheduled_at, MarketDate.id)
        )
    ).all()
    by_market: dict[int, list[int]] = defaultdict(list)
    for day_id, market_id, _, _ in dates:
        by_market[market_id].append(day_id)
    found: dict[int, list[CategoryCount]] = {}
    for market_id, ids in by_market.items():
        found |= await mixes(org, market_id, ids)
    items = []
    for day_id, _, day, name in dates:
        wrong = [c for c in found[day_id] if off(c)]
        if wrong and len(items) < MIX_ATTENTION:
            items.append(
                AttentionItem(
                    what=f"{one_line(name)} {_day(day, today)}: " + "; ".join(c.note for c in wrong),
                    count=1,
                    tool="get_market_date",
                    arguments={"market_date_id": day_id},
                )
            )
    return items


def _day(day: date, today: date) -> str:
    if day == today:
        return "today"
    if day == today + timedelta(days=1):
        return "tomorrow"
    return f"{day:%A} {day.day} {day:%B}"
