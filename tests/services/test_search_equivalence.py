"""search and list_vendors through the vendor text index and search's ordered walks give exactly the answers of
the scan they replaced.

Generated data: two organisations with a few hundred vendors between them (accents, ß, Turkish İ, quotes, % and
_, digits), their applications, orders and bookings (spaces, archived orders, past and upcoming dates); then
vendors renamed and deleted, so the index must have followed every kind of vendor write. Each query, of every
length and shape search accepts, must give the results stored in search_expected_<backend>.json (captured from
the search before the index and the walks, which scanned every vendor and ranked every record: commit c29840f's,
on this data; a date in a title is stored as "{week N}", N weeks from ANCHOR, the day they hold for) and the same list_vendors page as
the scan. The backends differ where PostgreSQL's lower() and collation differ from casefold and code point order.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, update

from market_mcp.auth import OrgContext
from market_mcp.db import Database
from market_mcp.db.tables import Application, Booking, Market, MarketDate, Order, Vendor
from market_mcp.schemas.common import long_date
from market_mcp.schemas.connector import SearchResult, SearchResults
from market_mcp.services import connector, vendors
from market_mcp.services.scope import matches, scoped
from tests.conftest import on_postgres
from tests.factories import Tenant

FIRST = ("Rosa", "José", "Zoë", "Nguyễn", "İlkay", "ÅSA", "Müller", "O'Brien", "Ana_Maria", "Rōsa", "Ōtaki", "Sam")
LAST = ("Nguyen", "Straße", "Grün", "Dubois", "Smith", "100%", "Ng", "Lee", "Côté", "ROSSI")
TRADES = ("Sourdough", "Straße Bakery", "Café Crème", "Honey & Co", "Ceramics", "Kombucha", "Gelato", '"Best" Pies')
SUBURBS = ("Riverside", "Brunswick", "Ōtaki", "Fitzroy", "STRASSE", "Order 12 Lane")
CATEGORIES = ("food", "craft", "Produce", "Café", "")
SPACES = (None, "12", "A4", "14A", "7", "B12", "Rosa")
STATUSES = ("pending", "payment_pending", "complete", "rejected", "archived")

# The day the answers hold for, on the data's calendar and the searching organisation's clock: which dates a query
# of digits ("7", "12") matches, and which are upcoming, depend on it (2027-01-01 matches "7").
ANCHOR = date(2026, 12, 3)


def on_the_anchor() -> datetime:
    return datetime(2026, 12, 3, 1, 0, tzinfo=UTC)  # noon in Melbourne


QUERIES = [
    *("r", "R", "ro", "rō", "ß", "ss", "%", "_", "7", "12", "a4", "#5", "İ"),  # shorter than a trigram: a scan
    *("ros", "rosa", "ROSA", "Rosa's", "rosa's sourdough", "rōsa", "rosa lee", "  honey  ", "honey & co"),
    *("josé", "JOSÉ", "jose", "zoë", "zoe", "nguyễn", "NGUYỄN", "nguyen", "straße", "STRASSE", "strasse", "ßa"),
    *("café", "CAFÉ CRÈME", "crème", "100%", "0%", "ana_maria", "a_m", "o'brien", "'br", '"best"', 'st" p'),
    *("ilkay", "i̇lkay", "İlkay", "åsa", "ÅSA", "asa", "grün", "côté", "ōtaki", "otaki", "ŌTAKI"),
    *("example.com", "@example", ".1@", "rosa.", "sam.smith", "food", "produce"),
    *("order 12", "Order 12 Lane", "order #3", "order 99999", "booking 9", "booking #2", "#14", "14a", "b12"),
    *("dough", "ough", "kombucha", "gelato", "ceramics", "bakery", "xyz", "qqq", "zzzz", "riverside", "market"),
]


async def _fill(db: Database, org_id: int, vendor_count: int, seed: int) -> list[int]:
    """Markets, dates, vendors and their records for one organisation; the vendors' ids."""
    rng = random.Random(seed)
    async with db.transaction(write=True) as session:
        markets = [
            Market(organization_id=org_id, name=name, slug=f"m{n}", region=region)
            for n, (name, region) in enumerate(
                [("Riverside Farmers", "Inner North"), ("Ōtaki Night Market", ""), ("Straße Markt", "Süd")]
            )
        ]
        session.add_all(markets)
        await session.flush()
        dates = [
            MarketDate(
                organization_id=org_id,
                market_id=m.id,  # type: ignore[arg-type]
                scheduled_at=ANCHOR + timedelta(weeks=week),
                capacity=40,
                status="closed" if week < 0 else "scheduled",
            )
            for m in markets
            for week in range(-6, 7)
        ]
        session.add_all(dates)
        people = [
            Vendor(
                organization_id=org_id,
                business_name=f"{rng.choice(FIRST)}'s {rng.choice(TRADES)}"
                if n % 2
                else f"{rng.choice(SUBURBS)} {rng.choice(TRADES)}",
                contact_name=f"{rng.choice(FIRST)} {rng.choice(LAST)}" if n % 7 else "",
                email=f"{rng.choice(('rosa', 'sam.smith', 'jose', 'zoe', 'ana_maria', 'nguyen'))}.{n}@Example.com",
                category=rng.choice(CATEGORIES),
            )
            for n in range(vendor_count)
        ]
        session.add_all(people)
        await session.flush()
        space = 0
        for v in people:
            chosen = rng.sample(markets, rng.randint(0, 2))
            for m in chosen:
                session.add(
                    Application(
                        organization_id=org_id,
                        vendor_id=v.id,  # type: ignore[arg-type]
                        market_id=m.id,  # type: ignore[arg-type]
                        status=rng.choice(("pending", "approved", "rejected", "waitlisted")),
                    )
                )
            days = [d for d in dates if d.market_id in {m.id for m in chosen}]
            rng.shuffle(days)
            for _ in range(rng.randint(0, 3)):
                mine, days = days[: rng.randint(1, 3)], days[3:]
                if not mine:
                    break
                order = Order(
                    organization_id=org_id,
                    vendor_id=v.id,  # type: ignore[arg-type]
                    market_id=mine[0].market_id,
                    status=rng.choice(STATUSES),
                    total_cents=2500 * len(mine),
                    amount_due_cents=2500 * len(mine),
                )
                session.add(order)
                await session.flush()
                for d in mine:
                    space += 1
                    session.add(
                        Booking(
                            organization_id=org_id,
                            order_id=order.id,
                            vendor_id=v.id,  # type: ignore[arg-type]
                            market_date_id=d.id,  # type: ignore[arg-type]
                            status=rng.choice(("pending", "confirmed", "cancelled", "rejected")),
                            space_number=f"{rng.choice(SPACES) or ''}{space}" if rng.random() < 0.7 else None,
                            amount_cents=2500,
                        )
                    )
        await session.flush()
        # Writes after the index was filled: renames (one touching only the email), and a deletion.
        renamed = rng.sample(people, 20)
        for n, v in enumerate(renamed):
            await session.execute(
                update(Vendor)
                .where(Vendor.id == v.id)
                .values(business_name=f"Renamed Rosa Straße {n}", contact_name=f"Zoë {n}")
            )
        await session.execute(update(Vendor).where(Vendor.id == people[0].id).values(email="new.rosa@example.com"))
        spare = Vendor(organization_id=org_id, business_name="Deleted Rosa's Honey", email="gone@example.com")
        session.add(spare)
        await session.flush()
        await session.execute(delete(Vendor).where(Vendor.id == spare.id))
    return [v.id for v in people]  # type: ignore[misc]


def _expected() -> dict[str, SearchResults]:
    """The stored answers, each query's, with this week's dates in their titles."""
    backend = "postgresql" if on_postgres() else "sqlite"
    stored = json.loads((Path(__file__).parent / f"search_expected_{backend}.json").read_text())
    days = {f"{{week {w}}}": long_date(ANCHOR + timedelta(weeks=w)) for w in range(-6, 7)}

    def title(text: str) -> str:
        for token, day in days.items():
            text = text.replace(token, day)
        return text

    def result(record: str, text: str) -> SearchResult:  # stored as [id, title]; the address is the id's
        return SearchResult(id=record, title=title(text), url="market-mcp://" + record.replace(":", "/"))

    return {query: SearchResults(results=[result(*r) for r in results]) for query, results in stored.items()}


async def test_search_and_list_vendors_answer_as_the_scan_did(alice: Tenant, bob: Tenant) -> None:
    await _fill(alice.db, alice.org_id, 240, seed=1)
    await _fill(bob.db, bob.org_id, 60, seed=2)
    queries = [*QUERIES, "Renamed Rosa Straße 3", "new.rosa@example.com", "Deleted Rosa"]
    expected = _expected()
    async with alice.db.transaction() as session:
        org = OrgContext.of(session, alice.identity(), clock=on_the_anchor)
        # Then some of alice's own vendors' names, stored after the queries (the first 15 as the store gave them
        # when the answers were captured: a plan's order, which is not the point here).
        stored = list(expected)
        asked = list(dict.fromkeys(queries))
        names = stored[len(asked) :]
        vendor_names = set((await session.execute(scoped(org, Vendor, Vendor.business_name))).scalars())
        assert stored[: len(asked)] == asked and names and set(names) <= vendor_names  # every query, each once
        for query in [*queries, *names]:
            assert await connector.search(org, query) == expected[query], query
            columns = (Vendor.business_name, Vendor.contact_name, Vendor.email, Vendor.category)
            scan = scoped(org, Vendor, Vendor.id).where(matches(query, *columns))
            found = (await session.execute(scan.order_by(func.lower(Vendor.business_name), Vendor.id))).all()
            page = await vendors.list_vendors(
                org, query=query, market_id=None, start_date=None, end_date=None, limit=500, offset=0
            )
            shown = len(page.items)  # a page keeps to its size budget: the first vendors, in name order
            assert ([v.id for v in page.items], page.total) == ([v.id for v in found[:shown]], len(found)), query
            assert shown == len(found) or shown >= 20, query


async def test_the_comparison_covers_every_kind_and_rank(alice: Tenant, bob: Tenant) -> None:
    """The generated data is rich enough to compare: the queries find each kind, at each rank, and nothing of
    the other organisation."""
    await _fill(alice.db, alice.org_id, 240, seed=1)
    bobs = await _fill(bob.db, bob.org_id, 60, seed=2)
    kinds: set[str] = set()
    async with alice.db.transaction() as session:
        org = OrgContext.of(session, alice.identity(), clock=on_the_anchor)
        for query in QUERIES:
            for hit in (await connector.search(org, query)).results:
                kind, _, number = hit.id.partition(":")
                kinds.add(kind)
                assert kind != "vendor" or int(number) not in bobs
        ranks = {
            rank
            for query in ("rosa", "12")
            for rank, _ in await connector._orders(org, await connector._matched_vendors(org, query))
        }
    assert kinds == {"market", "market_date", "vendor", "application", "order", "booking"}
    assert ranks == {0, 1, 2}
