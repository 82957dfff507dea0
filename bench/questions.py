"""What the benchmark asks: each read question as our tool call and as the peer's hand-written SQL, and the
fresh targets each write needs (a pending order to approve, a booking to cancel, a year to schedule).

The peer (`mcp-server-sqlite`'s read_query) takes one SELECT per call, so each question is one statement that
returns what our tool returns: the page with its total, a vendor with their history as JSON arrays, the
dashboard's every figure. The SQL is written as a careful person would (pagination before per-row counts,
the indexes the schema has), so the peer is as fast as raw SQL gets.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.generate import TIMEZONE, WAITLIST_PER_FULL_DATE, stamp

SEARCH_WORDS = ("sourdough", "ceramics", "rosa", "honey", "kombucha", "nguyen", "gelato", "candles")
PAGES = 4  # list questions walk the first pages, so no single page is all cache


@dataclass(frozen=True)
class Question:
    """One read figure: our tool and arguments, and the same question as SQL for the peer (call i)."""

    figure: str
    tool: str
    kind: str  # "single" (single record or filtered list: target 1.5x) or "aggregate" (target 3x)
    arguments: Callable[[int], dict[str, Any]]
    sql: Callable[[int], str]


@dataclass
class Store:
    """The organisation being measured, as the questions and write targets need it."""

    path: Path
    organization_id: int
    today: date
    now: str
    market_ids: list[int]
    vendor_ids: list[int]

    @classmethod
    def open(cls, path: Path, organization_id: int) -> Store:
        con = sqlite3.connect(path)
        try:
            markets = [
                r[0]
                for r in con.execute("SELECT id FROM market WHERE organization_id = ? ORDER BY id", (organization_id,))
            ]
            vendors = [
                r[0]
                for r in con.execute("SELECT id FROM vendor WHERE organization_id = ? ORDER BY id", (organization_id,))
            ]
        finally:
            con.close()
        step = max(1, len(vendors) // 997)  # spread over the whole table, in a fixed order
        return cls(
            path=path,
            organization_id=organization_id,
            today=datetime.now(ZoneInfo(TIMEZONE)).date(),
            now=stamp(datetime.now(UTC)),
            market_ids=markets,
            vendor_ids=vendors[::step],
        )

    def rows(self, sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
        con = sqlite3.connect(self.path)
        try:
            return con.execute(sql, parameters).fetchall()
        finally:
            con.close()

    # ------------------------------------------------------------ the read questions

    def questions(self) -> list[Question]:
        org, today, now = self.organization_id, self.today.isoformat(), self.now
        market = lambda i: self.market_ids[i % len(self.market_ids)]  # noqa: E731
        vendor = lambda i: self.vendor_ids[i % len(self.vendor_ids)]  # noqa: E731
        word = lambda i: SEARCH_WORDS[i % len(SEARCH_WORDS)]  # noqa: E731
        page = lambda i: 50 * (i % PAGES)  # noqa: E731
        live_credit = f"deleted_at IS NULL AND remaining_cents > 0 AND (expires_at IS NULL OR expires_at > '{now}')"
        open_offer = f"status = 'notified' AND offer_expires_at > '{now}'"
        vendor_counts = f"""
            (SELECT count(*) FROM booking b WHERE b.vendor_id = v.id AND b.organization_id = {org}
               AND b.status = 'confirmed') AS total_bookings,
            (SELECT max(d.scheduled_at) FROM booking b JOIN market_date d ON d.id = b.market_date_id
              WHERE b.vendor_id = v.id AND b.organization_id = {org} AND b.attended = 1) AS last_attended,
            (SELECT coalesce(sum(c.remaining_cents), 0) FROM credit c WHERE c.vendor_id = v.id
               AND c.organization_id = {org} AND {live_credit}) AS credit_balance_cents"""
        date_counts = f"""
            (SELECT count(*) FROM booking b WHERE b.market_date_id = d.id AND b.status = 'confirmed') AS confirmed_count,
            (SELECT count(*) FROM booking b WHERE b.market_date_id = d.id AND b.status = 'pending') AS pending_count,
            (SELECT count(*) FROM waitlist_entry w WHERE w.market_date_id = d.id AND {open_offer}) AS open_offers,
            (SELECT count(*) FROM waitlist_entry w WHERE w.market_date_id = d.id
               AND (w.status = 'waiting' OR ({open_offer}))) AS waitlist_count"""
        return [
            Question(
                "list_bookings (market, confirmed, upcoming: 50 rows)",
                "list_bookings",
                "single",
                lambda i: {"market_id": market(i), "status": "confirmed", "date_filter": "upcoming", "limit": 50},
                lambda i: (
                    f"""
                    SELECT b.id, b.status, b.order_id, b.vendor_id, v.business_name, m.id AS market_id,
                           m.name AS market_name, b.market_date_id, d.scheduled_at, b.space_number, b.amount_cents,
                           b.attended, b.cancelled_at, b.cancel_reason, b.created_at, count(*) OVER () AS total
                      FROM booking b JOIN vendor v ON v.id = b.vendor_id
                      JOIN market_date d ON d.id = b.market_date_id JOIN market m ON m.id = d.market_id
                     WHERE b.organization_id = {org} AND d.market_id = {market(i)} AND b.status = 'confirmed'
                       AND d.scheduled_at >= '{today}'
                     ORDER BY d.scheduled_at, b.id LIMIT 50"""
                ),
            ),
            Question(
                "get_vendor (with history)",
                "get_vendor",
                "single",
                lambda i: {"vendor_id": vendor(i)},
                lambda i: (
                    f"""
                    SELECT v.*, {vendor_counts},
                      (SELECT count(*) FROM vendor_note n WHERE n.vendor_id = v.id) AS notes_count,
                      (SELECT json_group_array(json_object('id', a.id, 'market_id', a.market_id, 'market_name', m.name,
                              'status', a.status, 'submitted_at', a.submitted_at, 'decided_at', a.decided_at))
                         FROM (SELECT * FROM application WHERE vendor_id = v.id
                                ORDER BY submitted_at DESC, id DESC LIMIT 10) a JOIN market m ON m.id = a.market_id)
                        AS applications,
                      (SELECT json_group_array(json_object('id', o.id, 'market_id', o.market_id, 'status', o.status,
                              'total_cents', o.total_cents, 'credit_applied_cents', o.credit_applied_cents,
                              'amount_due_cents', o.amount_due_cents, 'created_at', o.created_at))
                         FROM (SELECT * FROM vendor_order WHERE vendor_id = v.id ORDER BY id DESC LIMIT 10) o)
                        AS orders,
                      (SELECT json_group_array(json_object('id', x.id, 'market_date_id', x.market_date_id,
                              'market_name', x.name, 'scheduled_at', x.scheduled_at, 'status', x.status,
                              'space_number', x.space_number, 'amount_cents', x.amount_cents, 'attended', x.attended))
                         FROM (SELECT b.*, d.scheduled_at, m.name FROM booking b
                                 JOIN market_date d ON d.id = b.market_date_id JOIN market m ON m.id = d.market_id
                                WHERE b.vendor_id = v.id ORDER BY d.scheduled_at DESC, b.id DESC LIMIT 10) x)
                        AS bookings,
                      (SELECT json_group_array(json_object('id', c.id, 'amount_cents', c.amount_cents,
                              'remaining_cents', c.remaining_cents, 'source', c.source, 'expires_at', c.expires_at,
                              'notes', c.notes))
                         FROM (SELECT * FROM credit WHERE vendor_id = v.id AND deleted_at IS NULL
                                ORDER BY id DESC LIMIT 10) c) AS credits
                      FROM vendor v WHERE v.organization_id = {org} AND v.id = {vendor(i)}"""
                ),
            ),
            Question(
                "list_vendors (by name, with counts and balances)",
                "list_vendors",
                "aggregate",
                lambda i: {"limit": 50, "offset": page(i)},
                lambda i: (
                    f"""
                    SELECT v.*, {vendor_counts},
                           (SELECT count(*) FROM vendor WHERE organization_id = {org}) AS total
                      FROM (SELECT * FROM vendor WHERE organization_id = {org}
                             ORDER BY lower(business_name), id LIMIT 50 OFFSET {page(i)}) v
                     ORDER BY lower(v.business_name), v.id"""
                ),
            ),
            Question(
                "list_market_dates (upcoming, with counts)",
                "list_market_dates",
                "aggregate",
                lambda i: {"date_filter": "upcoming", "limit": 50, "offset": page(i)},
                lambda i: (
                    f"""
                    SELECT d.*, m.name AS market_name, {date_counts},
                           (SELECT count(*) FROM market_date WHERE organization_id = {org}
                               AND scheduled_at >= '{today}') AS total
                      FROM (SELECT * FROM market_date WHERE organization_id = {org} AND scheduled_at >= '{today}'
                             ORDER BY scheduled_at, market_id, id LIMIT 50 OFFSET {page(i)}) d
                      JOIN market m ON m.id = d.market_id
                     ORDER BY d.scheduled_at, d.market_id, d.id"""
                ),
            ),
            Question(
                "get_dashboard", "get_dashboard", "aggregate", lambda i: {}, lambda i: self._dashboard_sql(date_counts)
            ),
            Question(
                "search (a word, every kind of record)",
                "search",
                "single",
                lambda i: {"query": word(i)},
                lambda i: self._search_sql(word(i)),
            ),
        ]

    def _dashboard_sql(self, date_counts: str) -> str:
        org, today, now = self.organization_id, self.today, self.now
        month_start = stamp(datetime.combine(today.replace(day=1), datetime.min.time(), tzinfo=ZoneInfo(TIMEZONE)))
        soon = (today + timedelta(days=7)).isoformat()
        return f"""
            SELECT
              (SELECT count(*) FROM application WHERE organization_id = {org} AND status = 'pending') AS pending_applications,
              (SELECT count(*) FROM vendor_order WHERE organization_id = {org} AND status = 'pending') AS pending_orders,
              (SELECT count(*) FROM vendor_order WHERE organization_id = {org} AND status = 'payment_pending') AS unpaid_orders,
              (SELECT coalesce(sum(amount_due_cents), 0) FROM vendor_order
                WHERE organization_id = {org} AND status = 'payment_pending') AS money_owed_cents,
              (SELECT coalesce(sum(total_cents - credit_applied_cents), 0) FROM vendor_order
                WHERE organization_id = {org} AND paid_at >= '{month_start}') AS money_taken_this_month_cents,
              (SELECT count(*) FROM market_date WHERE organization_id = {org} AND status = 'scheduled'
                  AND scheduled_at >= '{today}') AS upcoming_market_dates,
              (SELECT count(*) FROM vendor WHERE organization_id = {org}) AS total_vendors,
              (SELECT count(*) FROM waitlist_entry WHERE organization_id = {org} AND status = 'notified'
                  AND offer_expires_at > '{now}') AS open_waitlist_offers,
              (SELECT count(*) FROM email WHERE organization_id = {org} AND status = 'queued') AS emails_queued,
              (SELECT count(*) FROM email WHERE organization_id = {org} AND status = 'failed') AS emails_failed,
              (SELECT count(*) FROM market_date WHERE organization_id = {org} AND status = 'scheduled'
                  AND scheduled_at < '{today}') AS dates_to_close_out,
              (SELECT json_object('id', d.id, 'market_name', m.name, 'scheduled_at', d.scheduled_at,
                      'capacity', d.capacity, 'confirmed_count', d.confirmed_count, 'waitlist_count', d.waitlist_count)
                 FROM (SELECT d.*, {date_counts} FROM market_date d WHERE d.organization_id = {org}
                          AND d.status = 'scheduled' AND d.scheduled_at >= '{today}'
                        ORDER BY d.scheduled_at, d.id LIMIT 1) d JOIN market m ON m.id = d.market_id) AS next_market_date,
              (SELECT count(DISTINCT o.id) FROM vendor_order o JOIN booking b ON b.order_id = o.id
                 JOIN market_date d ON d.id = b.market_date_id
                WHERE o.organization_id = {org} AND o.status = 'payment_pending' AND b.status = 'confirmed'
                  AND d.scheduled_at BETWEEN '{today}' AND '{soon}') AS unpaid_soon"""

    def _search_sql(self, word: str) -> str:
        org, like = self.organization_id, f"'%{word}%'"  # SQLite's LIKE ignores ASCII case
        rank = lambda *columns: (  # noqa: E731
            "CASE WHEN "
            + " OR ".join(f"lower({c}) = '{word}'" for c in columns)
            + " THEN 0 WHEN "
            + " OR ".join(f"{c} LIKE '{word}%'" for c in columns)
            + " THEN 1 ELSE 2 END"
        )
        who = f"(v.business_name LIKE {like} OR v.contact_name LIKE {like} OR v.email LIKE {like})"
        return f"""
            SELECT * FROM (SELECT 'market' AS kind, id, name AS title, {rank("name", "slug")} AS r FROM market
                            WHERE organization_id = {org} AND (name LIKE {like} OR slug LIKE {like} OR region LIKE {like})
                            ORDER BY r, lower(name), id LIMIT 10)
            UNION ALL
            SELECT * FROM (SELECT 'market_date', d.id, m.name || ' on ' || d.scheduled_at, {rank("m.name")} AS r
                             FROM market_date d JOIN market m ON m.id = d.market_id
                            WHERE d.organization_id = {org} AND (m.name LIKE {like} OR d.scheduled_at LIKE {like})
                            ORDER BY r, d.scheduled_at DESC, d.id LIMIT 10)
            UNION ALL
            SELECT * FROM (SELECT 'vendor', v.id, v.business_name, {rank("v.business_name", "v.contact_name", "v.email")} AS r
                             FROM vendor v WHERE v.organization_id = {org} AND {who}
                            ORDER BY r, lower(v.business_name), v.id LIMIT 10)
            UNION ALL
            SELECT * FROM (SELECT 'application', a.id, v.business_name || ' to ' || m.name, {rank("v.business_name")} AS r
                             FROM application a JOIN vendor v ON v.id = a.vendor_id JOIN market m ON m.id = a.market_id
                            WHERE a.organization_id = {org} AND {who}
                            ORDER BY r, a.submitted_at DESC, a.id DESC LIMIT 10)
            UNION ALL
            SELECT * FROM (SELECT 'order', o.id, v.business_name || ' at ' || m.name, {rank("v.business_name")} AS r
                             FROM vendor_order o JOIN vendor v ON v.id = o.vendor_id JOIN market m ON m.id = o.market_id
                            WHERE o.organization_id = {org} AND {who}
                            ORDER BY r, o.status = 'archived', o.id DESC LIMIT 10)
            UNION ALL
            SELECT * FROM (SELECT 'booking', b.id, v.business_name || ' on ' || d.scheduled_at,
                                  {rank("v.business_name", "v.contact_name")} AS r
                             FROM booking b JOIN vendor v ON v.id = b.vendor_id
                             JOIN market_date d ON d.id = b.market_date_id
                            WHERE b.organization_id = {org}
                              AND (v.business_name LIKE {like} OR v.contact_name LIKE {like} OR b.space_number LIKE {like})
                            ORDER BY r, d.scheduled_at < '{self.today}', d.scheduled_at DESC, b.id LIMIT 10)"""

    # ------------------------------------------------------------ fresh targets for the writes

    def pending_orders(self) -> Iterator[int]:
        """Orders to approve: pending, on upcoming dates with room (every pending order the generator made)."""
        rows = self.rows(
            "SELECT id FROM vendor_order WHERE organization_id = ? AND status = 'pending' ORDER BY id",
            self.organization_id,
        )
        return iter([r[0] for r in rows])

    def waitlisted_bookings(self) -> Iterator[int]:
        """Confirmed bookings on full upcoming dates of auto-notify markets, as many per date as it has waiting
        vendors, so each cancellation offers the freed space to the next one."""
        rows = self.rows(
            """SELECT b.id, b.market_date_id FROM booking b JOIN market_date d ON d.id = b.market_date_id
                 JOIN market m ON m.id = d.market_id
                WHERE b.organization_id = ? AND m.waitlist_auto_notify = 1 AND b.status = 'confirmed'
                  AND d.status = 'scheduled' AND d.scheduled_at > ? ORDER BY d.scheduled_at, d.id, b.id""",
            self.organization_id,
            self.today.isoformat(),
        )
        taken: dict[int, int] = defaultdict(int)
        chosen = []
        for booking_id, date_id in rows:
            if taken[date_id] < WAITLIST_PER_FULL_DATE:
                taken[date_id] += 1
                chosen.append(booking_id)
        return iter(chosen)

    def bulk_batches(self, size: int) -> Iterator[list[int]]:
        """Batches of confirmed bookings on upcoming dates of markets without auto-notify."""
        rows = self.rows(
            """SELECT b.id FROM booking b JOIN market_date d ON d.id = b.market_date_id
                 JOIN market m ON m.id = d.market_id
                WHERE b.organization_id = ? AND m.waitlist_auto_notify = 0 AND b.status = 'confirmed'
                  AND d.status = 'scheduled' AND d.scheduled_at > ? ORDER BY b.id""",
            self.organization_id,
            self.today.isoformat(),
        )
        ids = [r[0] for r in rows]
        return iter([ids[n : n + size] for n in range(0, len(ids) - size + 1, size)])

    def years_to_schedule(self) -> Iterator[dict[str, Any]]:
        """bulk_create_market_dates arguments: a year of one weekday, on a (market, year) no call has used."""
        n = 0
        while True:
            start = self.today + timedelta(days=400 + 366 * (n // len(self.market_ids)))
            yield {
                "market_id": self.market_ids[n % len(self.market_ids)],
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(days=364)).isoformat(),
                "day_of_week": 6,
                "start_time": "08:00",
                "end_time": "13:00",
            }
            n += 1
