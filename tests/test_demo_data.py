"""The demo organisation's data keeps every invariant the tools rely on."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from market_mcp.db import Database
from market_mcp.db.migrate import upgrade
from market_mcp.db.tables import (
    Application,
    Booking,
    Credit,
    CreditTransaction,
    DocumentKind,
    Email,
    Market,
    MarketDate,
    Order,
    Organization,
    User,
    Vendor,
    VendorDocument,
    VendorNote,
    WaitlistEntry,
)
from market_mcp.demo import DEMO_SLUG, populate_demo

TABLES = {
    "markets": Market,
    "market_dates": MarketDate,
    "vendors": Vendor,
    "vendor_notes": VendorNote,
    "applications": Application,
    "orders": Order,
    "bookings": Booking,
    "waitlist_entries": WaitlistEntry,
    "credits": Credit,
    "credit_transactions": CreditTransaction,
    "emails": Email,
    "document_kinds": DocumentKind,
    "vendor_documents": VendorDocument,
}


async def _demo(tmp_path: Path) -> tuple[Database, int, dict[str, int]]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    await upgrade(db)
    async with db.transaction(write=True) as session:
        org = Organization(name="Demo Markets Co", slug=DEMO_SLUG)
        session.add(org)
        await session.flush()
        session.add(User(organization_id=org.id, email="admin@demo.example.com", role="admin"))  # type: ignore[arg-type]
        await session.flush()
        counts = await populate_demo(session, org.id)  # type: ignore[arg-type]
    return db, org.id, counts  # type: ignore[return-value]


async def test_demo_data_keeps_the_invariants(tmp_path: Path) -> None:
    db, org_id, counts = await _demo(tmp_path)
    now = datetime.now(UTC)
    today = datetime.now(ZoneInfo("Australia/Melbourne")).date()
    try:
        async with db.transaction() as session:

            async def all_of(model):  # type: ignore[no-untyped-def]
                return (await session.execute(select(model))).scalars().all()

            # Counts returned match the tables, and every row is the organisation's.
            for kind, model in TABLES.items():
                n = (await session.execute(select(func.count()).select_from(model))).scalar_one()
                mine = (
                    await session.execute(
                        select(func.count()).select_from(model).where(model.organization_id == org_id)
                    )
                ).scalar_one()
                assert counts[kind] == n == mine, kind
            assert set(counts) == set(TABLES)
            assert counts["markets"] == 4
            assert 40 <= counts["vendors"] <= 60

            markets = await all_of(Market)
            assert len({m.region for m in markets}) == 4 and len({m.market_type for m in markets}) == 4
            assert sum(m.waitlist_auto_notify for m in markets) == 1
            assert sum(m.status == "unpublished" for m in markets) == 1

            dates = {d.id: d for d in await all_of(MarketDate)}
            bookings = await all_of(Booking)
            orders = {o.id: o for o in await all_of(Order)}
            entries = await all_of(WaitlistEntry)

            # Dates: past ones closed (one cancelled for the storm), upcoming ones scheduled.
            for d in dates.values():
                assert d.starts_at.tzinfo is not None and d.starts_at < d.ends_at
                if d.scheduled_at < today:
                    assert d.status in ("closed", "cancelled")
                else:
                    assert d.status == "scheduled"
            cancelled = [d for d in dates.values() if d.status == "cancelled"]
            assert len(cancelled) == 1 and cancelled[0].cancel_reason == "Severe storm warning"

            # Never more confirmed bookings than capacity, nor confirmed plus open offers.
            confirmed = Counter(b.market_date_id for b in bookings if b.status == "confirmed")
            open_offers = Counter(
                e.market_date_id
                for e in entries
                if e.status == "notified" and e.offer_expires_at is not None and e.offer_expires_at > now
            )
            for date_id, d in dates.items():
                assert confirmed[date_id] + open_offers[date_id] <= d.capacity, d.scheduled_at

            # A space is held by at most one active booking on a date.
            spaces: dict[int, list[str]] = defaultdict(list)
            for b in bookings:
                if b.status in ("pending", "confirmed"):
                    assert b.space_number
                    spaces[b.market_date_id].append(b.space_number)
            for date_id, held in spaces.items():
                assert len(held) == len(set(held)), dates[date_id].scheduled_at
                assert len(held) <= dates[date_id].capacity

            # Bookings sit on their order's market; orders add up.
            by_order: dict[int, list[Booking]] = defaultdict(list)
            for b in bookings:
                by_order[b.order_id].append(b)  # type: ignore[index]
                assert dates[b.market_date_id].market_id == orders[b.order_id].market_id  # type: ignore[index]
                if dates[b.market_date_id].status == "cancelled":
                    assert b.status == "cancelled"
                if b.status == "cancelled":
                    assert b.cancelled_at is not None and b.cancel_reason
                if dates[b.market_date_id].status == "closed" and b.status == "confirmed":
                    assert b.attended is not None
            assert sum(b.attended is False for b in bookings) >= 1
            for o in orders.values():
                assert 1 <= len(by_order[o.id]) <= 4  # type: ignore[index]
                assert o.total_cents == sum(b.amount_cents for b in by_order[o.id])  # type: ignore[index]
                paid = o.paid_at is not None
                assert o.amount_due_cents == (0 if paid else o.total_cents - o.credit_applied_cents)
                if o.status == "pending":
                    assert all(b.status == "pending" for b in by_order[o.id])  # type: ignore[index]
            statuses = Counter(o.status for o in orders.values())
            assert statuses["pending"] and statuses["payment_pending"] and statuses["complete"]
            assert statuses["archived"] == 1
            assert all(o.previous_status for o in orders.values() if o.status == "archived")

            # Applications: one open or approved per vendor and market; pending ones from the last two days.
            apps = await all_of(Application)
            open_pairs = Counter(
                (a.vendor_id, a.market_id) for a in apps if a.status in ("pending", "waitlisted", "approved")
            )
            assert max(open_pairs.values()) == 1
            app_statuses = Counter(a.status for a in apps)
            assert app_statuses["pending"] >= 4 and app_statuses["waitlisted"] == 2 and app_statuses["rejected"] == 2
            assert any(a.status == "pending" and now - a.submitted_at <= timedelta(days=2) for a in apps)

            # A full upcoming date has vendors waiting; the waitlist is orderly.
            full_with_waiting = [
                d
                for d in dates.values()
                if d.scheduled_at >= today
                and d.status == "scheduled"
                and confirmed[d.id] + open_offers[d.id] == d.capacity
                and any(e.market_date_id == d.id and e.status == "waiting" for e in entries)
            ]
            assert full_with_waiting
            per_date: dict[int, list[WaitlistEntry]] = defaultdict(list)
            for e in entries:
                per_date[e.market_date_id].append(e)
            for on_date in per_date.values():
                assert sorted(e.position for e in on_date) == list(range(1, len(on_date) + 1))
                assert len({e.vendor_id for e in on_date}) == len(on_date)
            notified = [e for e in entries if e.status == "notified"]
            assert len(notified) == 1
            assert notified[0].offer_expires_at == notified[0].notified_at + timedelta(hours=48)  # type: ignore[operator]
            assert notified[0].offer_expires_at > now  # type: ignore[operator]

            # Credits: remaining is the sum of the ledger, and the ledger's running balance is right.
            credits = await all_of(Credit)
            ledger: dict[int, list[CreditTransaction]] = defaultdict(list)
            for tx in await all_of(CreditTransaction):
                ledger[tx.credit_id].append(tx)
            for c in credits:
                rows = sorted(ledger[c.id], key=lambda tx: tx.id)  # type: ignore[arg-type,return-value]
                assert rows[0].kind == "grant" and rows[0].amount_cents == c.amount_cents
                assert c.remaining_cents == sum(tx.amount_cents for tx in rows)
                running = 0
                for tx in rows:
                    running += tx.amount_cents
                    assert tx.balance_after_cents == running
            assert {c.source for c in credits} >= {"manual", "application", "cancellation", "weather"}
            assert any(c.expires_at is not None and c.expires_at < now for c in credits)
            uses = [tx for txs in ledger.values() for tx in txs if tx.kind == "use"]
            assert uses and all(tx.amount_cents < 0 and tx.order_id for tx in uses)
            applied: Counter[int] = Counter()
            for tx in uses:
                applied[tx.order_id] -= tx.amount_cents  # type: ignore[index]
            for o in orders.values():
                assert o.credit_applied_cents == applied[o.id]  # type: ignore[index]

            emails = await all_of(Email)
            assert all(e.status == "sent" and e.sent_at is not None for e in emails)
            assert all(e.to.endswith((".example.com", "@example.net", "@example.com")) for e in emails)
            notes = await all_of(VendorNote)
            assert notes and all(n.author == "Demo admin" for n in notes)
    finally:
        await db.dispose()


async def test_demo_data_is_deterministic(tmp_path: Path) -> None:
    first_db, _, first_counts = await _demo(tmp_path / "one")
    second_db, _, second_counts = await _demo(tmp_path / "two")
    try:
        assert first_counts == second_counts
        snapshots = []
        for db in (first_db, second_db):
            async with db.transaction() as session:
                rows = (
                    await session.execute(select(Booking.market_date_id, Booking.space_number, Booking.status))
                ).all()
                snapshots.append(sorted(map(tuple, rows)))
        assert snapshots[0] == snapshots[1]
    finally:
        await first_db.dispose()
        await second_db.dispose()
