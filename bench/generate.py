"""Benchmark data: two organisations at a market group's scale, written straight into a migrated SQLite file.

At scale 1 each organisation has 30 markets, 3,000 market dates (100 weekly dates per market, 80 past and
20 upcoming), 10,000 vendors, 300,000 bookings, ~100,000 orders, 20,000 credits with their ledger, 50,000
emails and 100,000 audit entries; every figure scales linearly (0.1 to 10). Both organisations are the same
size, so every query has to find its own organisation's rows among another's.

The schema comes from the project's own migrations (`market_mcp.db.migrate.upgrade`), the organisations and
their API tokens from `market_mcp.services.organizations`, like `market-mcp org create` and `token create`.
The rest is plain sqlite3: the indexes and the dashboard totals' triggers are dropped, every table is filled
with `executemany` in one transaction, the indexes are created again, which also checks every unique index
(one active booking per vendor and date, one per space) on the finished data, and the totals are rebuilt from
the rows (market_mcp.db.totals, as migration 0012 does) and their triggers created again; CHECK constraints
hold row by row as it is inserted.

Everything random comes from `random.Random` seeded with the seed, the organisation and the market, and every
date is relative to the day the file is built (markets trade on local dates, and the write benchmarks need
upcoming ones), so the same seed on the same day builds the same file.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
import warnings
from collections import defaultdict
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import anyio

from market_mcp.db import Database, totals
from market_mcp.db.functions import sqlite_casefold
from market_mcp.db.migrate import ANALYSIS_LIMIT, head_revision, upgrade
from market_mcp.services import organizations

DATA = Path(__file__).parent / "data"
SEED = 7
TIMEZONE = "Australia/Melbourne"
ORGANISATIONS = (("Harbour & Hills Markets", "harbour-hills"), ("Ranges Produce Collective", "ranges-produce"))

# Per organisation at scale 1 (dates per market and bookings per date stay fixed: a market's history
# grows by adding markets, which is how a market group grows).
MARKETS = 30
WEEKS_PAST, WEEKS_AHEAD = 80, 20
BOOKINGS_PER_DATE = 100
VENDORS = 10_000
CREDITS = 20_000
EMAILS = 50_000
AUDIT_ENTRIES = 100_000
WAITLIST_PER_FULL_DATE = 8
ORDER_SIZES = (1, 2, 3, 4, 5, 6)  # dates per order, in turn: ~3 once a run of dates is cut short
AUTO_NOTIFY_EVERY = 3  # every third market offers freed spaces to its waitlist; its upcoming dates are full

FIRST_NAMES = (
    "Rosa Aiko Ben Chloe Dev Ewa Farid Grace Hamish Ines Jack Kiri Liam Mei Nadia Oscar Priya Quinn Ravi Sofia "
    "Tom Uma Vince Wen Xavier Yasmin Zoe Ahmed Bianca Callum"
).split()
LAST_NAMES = (
    "Nguyen Smith Tanaka Rossi Okafor Kowalski Haddad Murphy Chen Silva Brown Patel Walker Kim Martin Jones "
    "Ahmadi Costa Lee Wilson"
).split()
TRADES = (
    ("Sourdough", "Bakery"),
    ("Orchard Fruit", "Produce"),
    ("Free Range Eggs", "Produce"),
    ("Artisan Cheese", "Dairy"),
    ("Cold Brew", "Coffee"),
    ("Dumplings", "Food"),
    ("Ceramics", "Craft"),
    ("Candles", "Craft"),
    ("Native Plants", "Plants"),
    ("Honey", "Pantry"),
    ("Hot Sauce", "Pantry"),
    ("Leather Goods", "Craft"),
    ("Gelato", "Food"),
    ("Wood-fired Pizza", "Food"),
    ("Microgreens", "Produce"),
    ("Kombucha", "Drinks"),
)
SUBURBS = (
    "Northcote Williamstown Footscray Eltham Brunswick Fitzroy Carlton Coburg Preston Richmond Kew Hawthorn "
    "Camberwell Sandringham Frankston Geelong Ballarat Bendigo Daylesford Castlemaine"
).split()
KINDS = ("Farmers", "Makers", "Night", "Twilight", "Produce", "Artisan")
# What every market asks applicants (set_application_questions), and how often the jury has scored one.
QUESTIONS = [
    {"key": "products", "text": "What will you sell?", "kind": "text", "choices": [], "required": True},
    {"key": "needs_power", "text": "Do you need power?", "kind": "yes_no", "choices": [], "required": True},
    {
        "key": "stall_size",
        "text": "Which stall size?",
        "kind": "choice",
        "choices": ["Single", "Double"],
        "required": False,
    },
]
SCORED_EVERY = 3
AUDIT_TOOLS = ("approve_order", "create_order", "cancel_booking", "record_order_payment", "update_vendor")
EMAIL_KINDS = ("order_approved", "booking_confirmed", "booking_cancelled", "payment_received", "order_reminder")


def size(scale: float, at_scale_one: int) -> int:
    return max(1, round(at_scale_one * scale))


def stamp(moment: datetime) -> str:
    """A UTC datetime as SQLAlchemy stores it in SQLite: naive, always with microseconds (compared as text)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def database_path(scale: float, seed: int = SEED) -> Path:
    return DATA / f"scale-{scale:g}-seed-{seed}.db"


@dataclass
class Ids:
    """The next id of each table: ids are given explicitly, so rows can point at rows inserted later."""

    next: dict[str, int] = field(default_factory=lambda: defaultdict(lambda: 1))

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


@dataclass
class Rows:
    """Rows waiting to be inserted, per table, flushed with executemany in big batches."""

    con: sqlite3.Connection
    pending: dict[str, list[tuple]] = field(default_factory=lambda: defaultdict(list))
    columns: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, table: str, columns: str, row: tuple) -> None:
        self.columns[table] = columns
        self.pending[table].append(row)
        if len(self.pending[table]) >= 50_000:
            self.flush(table)

    def flush(self, table: str | None = None) -> None:
        for name in [table] if table else list(self.pending):
            rows = self.pending.pop(name, [])
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                self.con.executemany(f'INSERT INTO "{name}" ({self.columns[name]}) VALUES ({marks})', rows)
                self.counts[name] += len(rows)


BOOKING = (
    "id, organization_id, order_id, vendor_id, market_date_id, status, space_number, amount_cents, attended, "
    "cancelled_at, cancel_reason, cancel_settlement, created_at, updated_at"
)
ORDER = (
    "id, organization_id, vendor_id, market_id, status, previous_status, total_cents, credit_applied_cents, "
    "amount_due_cents, paid_at, payment_method, payment_reference, approved_at, archived_at, created_at, updated_at, "
    "payment_due_on"
)
DUE_DAYS = 7  # every market's payment terms: due a week after approval
CREDIT = "id, organization_id, vendor_id, amount_cents, remaining_cents, expires_at, notes, source, created_at"
LEDGER = (
    "id, organization_id, credit_id, kind, amount_cents, balance_after_cents, order_id, booking_id, note, created_at"
)


@dataclass
class Organisation:
    """One organisation's plan: who trades where, filled market by market (each market's rows are local to it)."""

    rows: Rows
    ids: Ids
    organization_id: int
    token_id: int
    first_market_id: int
    scale: float
    seed: int
    now: datetime
    today: date
    vendor_ids: list[int] = field(default_factory=list)
    vendor_names: list[str] = field(default_factory=list)

    def local(self, day: date, hour: int) -> datetime:
        return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(TIMEZONE))

    def build(self) -> None:
        rng = random.Random(f"{self.seed}:{self.organization_id}")
        markets = size(self.scale, MARKETS)
        self.vendors(rng, size(self.scale, VENDORS))
        self.documents()
        pools = self.applications(rng, markets)
        credits_per_market = size(self.scale, CREDITS) // markets
        for m in range(markets):
            self.market(random.Random(f"{self.seed}:{self.organization_id}:{m}"), m, pools[m], credits_per_market)
        self.emails(rng, size(self.scale, EMAILS))
        self.audit(rng, size(self.scale, AUDIT_ENTRIES))

    def vendors(self, rng: random.Random, count: int) -> None:
        for n in range(count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            trade, category = rng.choice(TRADES)
            business = f"{first}'s {trade}" if n % 2 else f"{rng.choice(SUBURBS)} {trade}"
            joined = self.now - timedelta(days=rng.uniform(30, 900))
            vendor_id = self.ids.take("vendor")
            self.vendor_ids.append(vendor_id)
            self.vendor_names.append(f"{first} {last}")
            self.rows.add(
                "vendor",
                "id, organization_id, business_name, contact_name, email, phone, category, trusted, "
                "created_at, updated_at",
                (
                    vendor_id,
                    self.organization_id,
                    business,
                    f"{first} {last}",
                    f"{first.lower()}.{last.lower()}.{vendor_id}@example.com",
                    f"04{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}",
                    category,
                    int(rng.random() < 0.1),
                    stamp(joined),
                    stamp(joined),
                ),
            )
            if n % 10 == 0:
                self.rows.add(
                    "vendor_note",
                    "id, organization_id, vendor_id, note, author, created_at",
                    (
                        self.ids.take("vendor_note"),
                        self.organization_id,
                        vendor_id,
                        "Prefers a corner space; brings their own gazebo weights.",
                        "bench admin",
                        stamp(joined + timedelta(days=3)),
                    ),
                )

    def documents(self) -> None:
        """Two document kinds (insurance for everyone, a food licence for food categories) and each vendor's:
        most current, one in nine missing, one in thirteen expired, one in seven within its reminder window."""
        kinds = []
        for name, everyone, categories in (
            ("Public liability insurance", 1, []),
            ("Food licence", 0, ["Bakery", "Dairy", "Coffee", "Food"]),
        ):
            kinds.append(self.ids.take("document_kind"))
            self.rows.add(
                "document_kind",
                "id, organization_id, name, required_for_all, required_for_categories, required_for_market_ids, "
                "remind_days_before, created_at",
                (kinds[-1], self.organization_id, name, everyone, json.dumps(categories), "[]", 30, stamp(self.now)),
            )
        for n, vendor_id in enumerate(self.vendor_ids):
            for k, kind_id in enumerate(kinds):
                if (n + k) % 9 == 4:
                    continue
                if n % 13 == 5:
                    expires = self.today - timedelta(days=10 + n % 20)
                elif n % 7 == 2:
                    expires = self.today + timedelta(days=5 + n % 20)
                else:
                    expires = self.today + timedelta(days=60 + n % 300)
                self.rows.add(
                    "vendor_document",
                    "id, organization_id, vendor_id, kind_id, is_current, number, issuer, expires_on, created_at",
                    (
                        self.ids.take("vendor_document"),
                        self.organization_id,
                        vendor_id,
                        kind_id,
                        1,
                        f"P{vendor_id:07d}-{k}",
                        "Harbour Mutual" if k == 0 else "City Council",
                        expires.isoformat(),
                        stamp(self.now - timedelta(days=30)),
                    ),
                )

    def applications(self, rng: random.Random, markets: int) -> list[list[int]]:
        """Each vendor is approved at one to three markets (and some wait on another): the market's pool."""
        pools: list[list[int]] = [[] for _ in range(markets)]
        answering = random.Random(f"{self.seed}:{self.organization_id}:answers")  # the other rows stay as they were
        columns = (
            "id, organization_id, vendor_id, market_id, status, vendor_message, decision_message, "
            "starter_credit_cents, submitted_at, decided_at"
        )
        for vendor_id in self.vendor_ids:
            wanted = 1 + (rng.random() < 0.5) + (rng.random() < 0.25)
            chosen = rng.sample(range(markets), min(wanted + 1, markets))
            submitted = self.now - timedelta(days=rng.uniform(20, 800))
            for n, m in enumerate(chosen):
                approved = n < wanted or markets == 1
                if approved:
                    pools[m].append(vendor_id)
                elif rng.random() > 0.05:
                    continue
                application_id = self.ids.take("application")
                self.answers(answering, application_id, vendor_id, submitted)
                self.rows.add(
                    "application",
                    columns,
                    (
                        application_id,
                        self.organization_id,
                        vendor_id,
                        m + self.first_market_id,
                        "approved" if approved else "pending",
                        "We'd love a stall: everything we sell we make ourselves.",
                        "Welcome aboard!" if approved else "",
                        0,
                        stamp(submitted),
                        stamp(submitted + timedelta(days=4)) if approved else None,
                    ),
                )
        assert all(len(pool) >= BOOKINGS_PER_DATE for pool in pools), "too few vendors for the markets"
        return pools

    def answers(self, rng: random.Random, application_id: int, vendor_id: int, submitted: datetime) -> None:
        """The application's answers to QUESTIONS (what they sell, power, sometimes a stall size), and every
        SCORED_EVERY-th application a jury score."""
        trade = TRADES[vendor_id % len(TRADES)][0]
        given = [f"{trade}, made by us", rng.choice(("yes", "no", "no")), rng.choice(("Single", "Double", None))]
        for position, (question, value) in enumerate(zip(QUESTIONS, given, strict=True)):
            if value is None:
                continue
            self.rows.add(
                "application_answer",
                "id, organization_id, application_id, position, key, question, kind, value, folded",
                (
                    self.ids.take("application_answer"),
                    self.organization_id,
                    application_id,
                    position,
                    question["key"],
                    question["text"],
                    question["kind"],
                    value,
                    value.casefold(),
                ),
            )
        if application_id % SCORED_EVERY == 0:
            self.rows.add(
                "application_score",
                "id, organization_id, application_id, author, score, note, scored_at",
                (
                    self.ids.take("application_score"),
                    self.organization_id,
                    application_id,
                    "bench jury",
                    rng.randint(0, 10),
                    rng.choice(("", "Strong range.", "Seen at Eltham: busy stall.")),
                    stamp(submitted + timedelta(days=2)),
                ),
            )

    def market(self, rng: random.Random, m: int, pool: list[int], credits_budget: int) -> None:
        """One market: its dates, who trades on each, their orders, bookings, credits and waitlists."""
        market_id = m + self.first_market_id
        auto_notify = m % AUTO_NOTIFY_EVERY == 0
        fee = 4000 + 500 * (m % 10)
        capacity = BOOKINGS_PER_DATE + 10
        created = self.now - timedelta(weeks=WEEKS_PAST + 10)
        name = f"{SUBURBS[m % len(SUBURBS)]} {KINDS[m % len(KINDS)]} Market" + (f" {m // 20 + 1}" if m >= 20 else "")
        self.rows.add(
            "market",
            "id, organization_id, name, slug, region, market_type, status, booking_enabled, waitlist_auto_notify, "
            "default_fee_cents, capacity, location, description, reference, metadata, created_at, updated_at, "
            "payment_due_days, application_questions",
            (
                market_id,
                self.organization_id,
                name,
                f"market-{m + 1}",
                SUBURBS[m % len(SUBURBS)],
                KINDS[m % len(KINDS)],
                "published",
                1,
                int(auto_notify),
                fee,
                capacity,
                f"{SUBURBS[m % len(SUBURBS)]} town square",
                "A weekly market of local growers and makers.",
                f"M{m + 1:03d}",
                "{}",
                stamp(created),
                stamp(created),
                DUE_DAYS,
                json.dumps(QUESTIONS),
            ),
        )
        # Its site plan: rows A to F of 20 3x3 m stalls, facing in pairs across 4 m aisles, power on row A.
        for r, row in enumerate("ABCDEF"):
            for k in range(20):
                self.rows.add(
                    "stall",
                    "id, organization_id, market_id, code, row_label, x, y, width, depth, facing, attributes",
                    (
                        self.ids.take("stall"),
                        self.organization_id,
                        market_id,
                        f"{row}{k + 1}",
                        row,
                        3.0 * k,
                        7.0 * r,
                        3.0,
                        3.0,
                        "SN"[r % 2],
                        '["power"]' if row == "A" else "[]",
                    ),
                )
        # Weekly dates on the market's weekday: 80 weeks back, 20 ahead.
        offset = (m % 7 - self.today.weekday()) % 7
        first = self.today + timedelta(days=offset) - timedelta(weeks=WEEKS_PAST)
        days = [first + timedelta(weeks=w) for w in range(WEEKS_PAST + WEEKS_AHEAD)]
        date_ids = [self.ids.take("market_date") for _ in days]
        traders = [rng.sample(pool, BOOKINGS_PER_DATE) for _ in days]
        space = {(d, v): f"{'ABCDEF'[k // 20]}{k % 20 + 1}" for d, vs in enumerate(traders) for k, v in enumerate(vs)}

        # A vendor's dates at this market, past and upcoming apart, in orders of 1 to 5 dates.
        by_vendor: dict[int, list[int]] = defaultdict(list)
        for d, vendors in enumerate(traders):
            for v in vendors:
                by_vendor[v].append(d)
        orders: list[tuple[int, list[int], str]] = []  # (vendor, date indexes, status)
        turn = 0
        for v in sorted(by_vendor):
            for part in (
                [d for d in by_vendor[v] if days[d] < self.today],
                [d for d in by_vendor[v] if days[d] >= self.today],
            ):
                while part:
                    chunk, part = (
                        part[: ORDER_SIZES[turn % len(ORDER_SIZES)]],
                        part[ORDER_SIZES[turn % len(ORDER_SIZES)] :],
                    )
                    turn += 1
                    r = rng.random()
                    if days[chunk[0]] >= self.today:
                        if not auto_notify and r < 0.15:
                            status = "pending"
                        else:
                            status = "payment_pending" if r < 0.35 else "complete"
                    else:
                        status = "rejected" if r < 0.01 else "archived" if r < 0.03 else "complete"
                    orders.append((v, chunk, status))

        confirmed_on = [0] * len(days)
        credited: list[tuple[int, int, int, datetime]] = []  # (vendor, booking id, cents, cancelled at)
        paid_orders: dict[int, list[list]] = defaultdict(list)  # vendor -> [order row] (mutable: credit applied)
        for v, chunk, status in orders:
            order_id = self.ids.take("vendor_order")
            created_at = self.local(days[chunk[0]], 9) - timedelta(days=rng.uniform(10, 40))
            created_at = min(created_at, self.now - timedelta(hours=rng.uniform(2, 60)))
            approved_at = None if status == "pending" else created_at + timedelta(hours=rng.uniform(1, 30))
            total = 0
            for d in chunk:
                booking_id = self.ids.take("booking")
                booking_status = {"pending": "pending", "rejected": "rejected"}.get(status, "confirmed")
                cancelled_at = reason = settlement = None
                if booking_status == "confirmed" and rng.random() < 0.06:
                    booking_status = "cancelled"
                    cancelled_at = min(self.local(days[d], 9) - timedelta(days=rng.uniform(1, 9)), self.now)
                    reason = "Can't make it this week."
                    if status == "payment_pending":
                        settlement = "release"  # the unpaid order stops charging for it
                    elif rng.random() < 0.6:
                        settlement = "credit"
                        credited.append((v, booking_id, fee, cancelled_at))
                if settlement != "release":
                    total += fee
                attended = None
                if booking_status == "confirmed":
                    confirmed_on[d] += 1
                    if days[d] < self.today:
                        attended = int(rng.random() < 0.95)
                self.rows.add(
                    "booking",
                    BOOKING,
                    (
                        booking_id,
                        self.organization_id,
                        order_id,
                        v,
                        date_ids[d],
                        booking_status,
                        space[(d, v)],
                        fee,
                        attended,
                        stamp(cancelled_at) if cancelled_at else None,
                        reason,
                        settlement,
                        stamp(created_at),
                        stamp(cancelled_at or approved_at or created_at),
                    ),
                )
            if status == "payment_pending" and total == 0:
                status = "complete"  # every booking released: nothing is owed
            paid = status in ("complete", "archived")
            row = [
                order_id,
                self.organization_id,
                v,
                market_id,
                "archived" if status == "archived" else status,
                "complete" if status == "archived" else None,
                total,
                0,
                total if status in ("pending", "payment_pending") else 0,
                stamp(approved_at + timedelta(hours=5)) if paid else None,
                "card" if paid else None,
                f"CH-{order_id:07d}" if paid else None,
                stamp(approved_at) if approved_at else None,
                stamp(approved_at + timedelta(days=60)) if status == "archived" else None,
                stamp(created_at),
                stamp(approved_at or created_at),
                str(approved_at.date() + timedelta(days=DUE_DAYS)) if status == "payment_pending" else None,
            ]
            if paid and total > 0:
                paid_orders[v].append(row)
            else:
                self.rows.add("vendor_order", ORDER, tuple(row))

        self.market_dates(market_id, days, date_ids, confirmed_on, auto_notify, capacity)
        self.season(market_id, [d for d in days if d >= self.today], pool[0])
        if auto_notify:
            self.waitlists(rng, pool, days, date_ids, traders)
        self.credits(rng, pool, credited, paid_orders, credits_budget)
        for rows in paid_orders.values():
            for row in rows:
                self.rows.add("vendor_order", ORDER, tuple(row))

    def season(self, market_id: int, upcoming: list[date], regular: int) -> None:
        """The upcoming dates are a season, with one regular standing booked in it (list_seasons reads them)."""
        if not upcoming:
            return
        season_id, made = self.ids.take("season"), stamp(self.local(self.today, 9) - timedelta(days=30))
        self.rows.add(
            "season",
            "id, organization_id, market_id, name, starts_on, ends_on, created_at, updated_at",
            (season_id, self.organization_id, market_id, f"Season {upcoming[0]:%Y}", upcoming[0].isoformat(),
             upcoming[-1].isoformat(), made, made),
        )  # fmt: skip
        self.rows.add(
            "standing_booking",
            "id, organization_id, vendor_id, market_id, season_id, every_weeks, first_on, status, created_at",
            (self.ids.take("standing_booking"), self.organization_id, regular, market_id, season_id, 1,
             upcoming[0].isoformat(), "active", made),
        )  # fmt: skip

    def market_dates(
        self, market_id: int, days: list[date], date_ids: list[int], confirmed_on: list[int], full: bool, capacity: int
    ) -> None:
        """Past dates are closed (the last one of some markets still waits to be closed out); an auto-notify
        market's upcoming dates are exactly full, so a cancellation there frees a space for its waitlist."""
        for d, (day, date_id) in enumerate(zip(days, date_ids, strict=True)):
            upcoming = day >= self.today
            close_later = market_id % 10 == 1 and d == WEEKS_PAST - 1
            closed_at = None if upcoming or close_later else stamp(self.local(day, 15) + timedelta(hours=3))
            starts = self.local(day, 8)
            self.rows.add(
                "market_date",
                "id, organization_id, market_id, scheduled_at, starts_at, ends_at, capacity, status, closed_at, "
                "created_at, updated_at",
                (
                    date_id,
                    self.organization_id,
                    market_id,
                    day.isoformat(),
                    stamp(starts),
                    stamp(starts + timedelta(hours=5)),
                    confirmed_on[d] if upcoming and full else capacity,
                    "closed" if closed_at else "scheduled",
                    closed_at,
                    stamp(starts - timedelta(days=120)),
                    closed_at or stamp(starts - timedelta(days=120)),
                ),
            )

    def waitlists(
        self, rng: random.Random, pool: list[int], days: list[date], date_ids: list[int], traders: list[list[int]]
    ) -> None:
        for d, day in enumerate(days):
            if day < self.today:
                continue
            booked = set(traders[d])
            waiting = rng.sample([v for v in pool if v not in booked], WAITLIST_PER_FULL_DATE)
            for position, v in enumerate(waiting, start=1):
                joined = stamp(self.now - timedelta(days=rng.uniform(1, 20)))
                self.rows.add(
                    "waitlist_entry",
                    "id, organization_id, market_date_id, vendor_id, status, position, created_at, updated_at",
                    (
                        self.ids.take("waitlist_entry"),
                        self.organization_id,
                        date_ids[d],
                        v,
                        "waiting",
                        position,
                        joined,
                        joined,
                    ),
                )

    def credits(
        self,
        rng: random.Random,
        pool: list[int],
        credited: list[tuple[int, int, int, datetime]],
        paid_orders: dict[int, list[list]],
        budget: int,
    ) -> None:
        """Credits for credited cancellations, then manual, application and weather ones up to the budget.

        A credit's ledger is its grant, a use on one of the vendor's paid orders (raising that order's
        credit_applied, never past its total), and an expiry that zeroes what an expired credit had left,
        so remaining always equals the sum of the ledger.
        """
        assert len(credited) <= budget, "more credited cancellations than credits"
        grants = [(v, booking, cents, at, "cancellation") for v, booking, cents, at in credited]
        for _ in range(budget - len(grants)):
            source = rng.choice(("manual", "application", "weather"))
            at = self.now - timedelta(days=rng.uniform(1, 560))
            grants.append((rng.choice(pool), None, rng.choice((1000, 2000, 2500, 5000)), at, source))
        for v, booking_id, cents, at, source in grants:
            credit_id = self.ids.take("credit")
            expires = at + timedelta(days=365) if rng.random() < 0.7 else None
            remaining = cents
            ledger = [("grant", cents, None, booking_id, "granted", at)]
            orders = paid_orders.get(v)
            if orders and rng.random() < 0.5:
                order = orders[-1]
                use = min(remaining, order[6] - order[7])  # total − credit applied
                if use > 0:
                    order[7] += use
                    remaining -= use
                    ledger.append(("use", -use, order[0], None, f"Applied to order {order[0]}", at + timedelta(days=2)))
            if expires is not None and expires <= self.now and remaining > 0:
                ledger.append(("expire", -remaining, None, None, "expired", expires))
                remaining = 0
            self.rows.add(
                "credit",
                CREDIT,
                (
                    credit_id,
                    self.organization_id,
                    v,
                    cents,
                    remaining,
                    stamp(expires) if expires else None,
                    "Credit for a future market",
                    source,
                    stamp(at),
                ),
            )
            balance = 0
            for kind, amount, order_id, booking, note, when in ledger:
                balance += amount
                self.rows.add(
                    "credit_transaction",
                    LEDGER,
                    (
                        self.ids.take("credit_transaction"),
                        self.organization_id,
                        credit_id,
                        kind,
                        amount,
                        balance,
                        order_id,
                        booking,
                        note,
                        stamp(when),
                    ),
                )
            assert balance == remaining

    def emails(self, rng: random.Random, count: int) -> None:
        columns = (
            'id, organization_id, vendor_id, "to", subject, body, kind, record_type, record_id, status, attempts, '
            "sent_at, error, created_at"
        )
        for _ in range(count):
            n = rng.randrange(len(self.vendor_ids))
            at = self.now - timedelta(days=rng.uniform(0, 600))
            failed = rng.random() < 0.002
            self.rows.add(
                "email",
                columns,
                (
                    self.ids.take("email"),
                    self.organization_id,
                    self.vendor_ids[n],
                    f"vendor{self.vendor_ids[n]}@example.com",
                    "Your booking at the market",
                    f"Hi {self.vendor_names[n].split()[0]},\n\nThanks for trading with us.\n\nThe market team",
                    rng.choice(EMAIL_KINDS),
                    "order",
                    None,
                    "failed" if failed else "sent",
                    3 if failed else 1,
                    None if failed else stamp(at + timedelta(seconds=30)),
                    "550 mailbox unavailable" if failed else None,
                    stamp(at),
                ),
            )

    def audit(self, rng: random.Random, count: int) -> None:
        columns = "id, organization_id, token_id, token_name, tool, outcome, records, arguments, created_at"
        for _ in range(count):
            tool = rng.choice(AUDIT_TOOLS)
            record = rng.randrange(1, 100_000)
            at = self.now - timedelta(days=rng.uniform(0, 600))
            self.rows.add(
                "audit_entry",
                columns,
                (
                    self.ids.take("audit_entry"),
                    self.organization_id,
                    self.token_id,
                    "bench token",
                    tool,
                    "ok" if rng.random() < 0.97 else "409",
                    json.dumps([f"booking:{record}"]),
                    json.dumps({"booking_id": record}),
                    stamp(at),
                ),
            )


async def _organisations(url: str) -> list[dict[str, object]]:
    """Migrate the empty file and create the organisations and their tokens as the CLI does."""
    warnings.filterwarnings("ignore", message="Skipped unsupported reflection")  # Alembic on expression indexes
    db = Database(url)
    try:
        await upgrade(db)
        made = []
        for name, slug in ORGANISATIONS:
            async with db.transaction(write=True) as session:
                org, _ = await organizations.create_organization(session, name=name, slug=slug, timezone=TIMEZONE)
                token, raw = await organizations.create_token(session, slug=slug, name="bench token")
            made.append({"organization_id": org.id, "slug": slug, "token_id": token.id, "token": raw})
        return made
    finally:
        await db.dispose()


def analyse(con: sqlite3.Connection) -> None:
    """Planner statistics as a served store has them: `serve` refreshes stale ones when it opens the store, but the
    in-process servers the bench builds never run that step (without them, SQLite's plans read every booking)."""
    con.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
    con.execute("ANALYZE")


def analysed(path: Path) -> bool:
    """Whether the file has planner statistics of its bookings (files built before the generator ran ANALYZE,
    or a copy, may not)."""
    with closing(sqlite3.connect(path)) as con:
        try:
            return (
                con.execute("SELECT 1 FROM sqlite_stat1 WHERE tbl = 'booking' AND stat NOT LIKE '0 %'").fetchone()
                is not None
            )
        except sqlite3.OperationalError:  # no sqlite_stat1: never analysed
            return False


def generate(scale: float, seed: int = SEED, path: Path | None = None) -> Path:
    """Build the file (replacing any old one) and its manifest (tokens, counts, seed) beside it."""
    path = path or database_path(scale, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in (path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))):
        old.unlink(missing_ok=True)
    started = time.perf_counter()
    made = anyio.run(_organisations, f"sqlite+aiosqlite:///{path}")

    con = sqlite3.connect(path, isolation_level=None)
    con.create_function("casefold", 1, sqlite_casefold, deterministic=True)  # the vendor text index's triggers
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-500000")
    indexes = con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND tbl_name NOT IN ('organization', 'app_user', 'api_token')"
    ).fetchall()
    con.execute("BEGIN")
    for name, _ in indexes:
        con.execute(f'DROP INDEX "{name}"')
    for statement in totals.sqlite_drop_triggers():  # the dashboard's totals: rebuilt once at the end instead
        con.execute(statement)
    rows = Rows(con)
    ids = Ids()
    now = datetime.now(UTC).replace(microsecond=0)
    today = datetime.now(ZoneInfo(TIMEZONE)).date()
    for org in made:
        first_market_id = ids.next["market"]
        ids.next["market"] += size(scale, MARKETS)
        Organisation(
            rows,
            ids,
            org["organization_id"],
            org["token_id"],
            first_market_id,
            scale,
            seed,
            now,
            today,  # type: ignore[arg-type]
        ).build()
    rows.flush()
    # Each paid order's payment, on the payments ledger, as record_order_payment writes it (migration 0013).
    paid = "paid_at IS NOT NULL AND total_cents - credit_applied_cents - amount_due_cents > 0"
    con.execute(f"UPDATE vendor_order SET amount_paid_cents = total_cents - credit_applied_cents WHERE {paid}")
    con.execute(
        "INSERT INTO payment (organization_id, order_id, vendor_id, kind, amount_cents, method, reference, "
        "received_on, created_at) SELECT organization_id, id, vendor_id, 'payment', amount_paid_cents, "
        f"payment_method, payment_reference, date(paid_at), paid_at FROM vendor_order WHERE {paid} ORDER BY id"
    )
    for _, sql in indexes:
        con.execute(sql)
    for statement in totals.rebuild(pg=False) + totals.sqlite_triggers():
        con.execute(statement)
    con.execute("COMMIT")
    analyse(con)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    seconds = time.perf_counter() - started
    manifest = {
        "scale": scale,
        "seed": seed,
        "built_on": today.isoformat(),
        "schema": head_revision(),
        "seconds": round(seconds, 1),
        "organisations": made,
        "rows_per_table": dict(rows.counts),
    }
    manifest_path(path).write_text(json.dumps(manifest, indent=2))
    return path


def manifest_path(path: Path) -> Path:
    return path.with_suffix(".json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 300,000 bookings per organisation")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    path = generate(args.scale, args.seed)
    manifest = json.loads(manifest_path(path).read_text())
    counts = ", ".join(f"{n:,} {table}" for table, n in sorted(manifest["rows_per_table"].items()))
    sys.stderr.write(f"Built {path} in {manifest['seconds']} s: {counts}.\n")


if __name__ == "__main__":
    main()
