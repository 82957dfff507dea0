"""Running totals for the dashboard, kept by database triggers (migration 0012).

Each figure that would otherwise read every row of its kind is a sum over `org_total` rows: (organisation,
figure name, bucket) -> value. The bucket is '' for a plain total, a local day 'YYYY-MM-DD' for money taken (the
payments ledger's day received) and for scheduled market dates, and 'DAY PREVIOUS-DAY' for unpaid orders'
trading days (see below). Triggers on the counted tables add each row's change in the same statement
that writes it, so every writer (the ORM, set-based UPDATEs, raw sqlite3) keeps them right by construction.

"Unpaid orders with a market in the next 7 days" counts distinct orders, which no per-day sum gives. For every
payment_pending order, `unpaid_link` holds one row per distinct day it still trades (an active booking), with
the order's previous such day (NULL for its first). An order trades in [a, b] exactly when one of its days d
lies in [a, b] with no earlier day of its in [a, b]: its previous day is NULL or before a. So the figure is the
number of links with a <= day <= b and (prev_day IS NULL OR prev_day < a), which org_total keeps per
(day, prev_day) bucket: a read of at most a few rows per day of the window, whatever the history. A change to
an order's status or to one of its bookings rebuilds that order's links (a handful of rows).

SQLite: one row per key (writers are serialised anyway). PostgreSQL: a key may have several rows: a trigger
adds to a row of the key that no other transaction holds (FOR UPDATE SKIP LOCKED) or inserts a new one, so
concurrent writers of one organisation never wait on each other for a total (no hot row, no new deadlock);
the rows per key stay at most the number of writers that were ever concurrent, and readers sum them.
Rebuilding an order's unpaid links locks the order row (two rebuilds of one order at once would each keep
their own links): every tool that changes an order's bookings locks the booking, then the order, or the order
already, so the lock adds no new order of locking; confirming a pending booking changes no link and takes none.
Money taken: payments received less refunds paid out (a refund or excess moved to the vendor's credit is money
still held), by the day received.

Triggers are named org_total_* (bench/generate.py drops them for its bulk load and calls `rebuild`).
"""

from __future__ import annotations

from dataclasses import dataclass

ACTIVE = "('pending', 'confirmed')"
PREFIX = "org_total_"


@dataclass(frozen=True)
class Figure:
    table: str
    name: str
    when: str  # condition on the row, {r} for its alias
    value: str
    bucket: str = "''"  # '', the day of a date column ("day:received_on"), or "link"


FIGURES = (
    Figure("application", "pending_applications", "{r}.status = 'pending'", "1"),
    Figure("vendor_order", "pending_orders", "{r}.status = 'pending'", "1"),
    Figure("vendor_order", "unpaid_orders", "{r}.status = 'payment_pending'", "1"),
    Figure("vendor_order", "money_owed_cents", "{r}.status = 'payment_pending'", "{r}.amount_due_cents"),
    Figure(
        "payment",
        "money_taken_cents",
        "({r}.kind = 'payment' OR ({r}.kind = 'refund' AND {r}.method <> 'credit'))",
        "CASE WHEN {r}.kind = 'payment' THEN {r}.amount_cents ELSE -{r}.amount_cents END",
        "day:received_on",
    ),
    Figure("vendor", "vendors", "TRUE", "1"),
    Figure("market_date", "scheduled_dates", "{r}.status = 'scheduled'", "1"),
    Figure("market_date", "scheduled_dates_by_day", "{r}.status = 'scheduled'", "1", "day:scheduled_at"),
    Figure("unpaid_link", "unpaid_soon", "TRUE", "1", "link"),
)
TABLES = tuple(dict.fromkeys(f.table for f in FIGURES))


COLUMNS = {  # what the figures of each table read: the updates that fire its trigger
    "application": "organization_id, status",
    "vendor_order": "organization_id, status, amount_due_cents",
    "vendor": "organization_id",
    "market_date": "organization_id, status, scheduled_at",
    "payment": "organization_id, kind, amount_cents, method, received_on",
}
# The tables migration 0012 counted, before the payments ledger (0013) took money taken over from orders.
BEFORE_LEDGER = ("application", "vendor_order", "vendor", "market_date", "unpaid_link")


def _bucket(f: Figure, r: str, pg: bool) -> str:
    if f.bucket == "link":
        if pg:
            return f"to_char({r}.day, 'YYYY-MM-DD') || ' ' || coalesce(to_char({r}.prev_day, 'YYYY-MM-DD'), '')"
        return f"{r}.day || ' ' || coalesce({r}.prev_day, '')"
    if ":" not in f.bucket:
        return f.bucket
    column = f.bucket.removeprefix("day:")  # a local date column
    return f"to_char({r}.{column}, 'YYYY-MM-DD')" if pg else f"{r}.{column}"


def _refresh(ids: str, *, pg: bool) -> list[str]:
    """Rebuild the unpaid links of the orders whose ids `ids` (one value or a subquery) gives."""
    return [
        f"DELETE FROM unpaid_link WHERE order_id IN ({ids})",
        "INSERT INTO unpaid_link (organization_id, order_id, day, prev_day) "
        "SELECT organization_id, order_id, day, LAG(day) OVER (PARTITION BY order_id ORDER BY day) FROM ("
        "SELECT DISTINCT o.organization_id AS organization_id, o.id AS order_id, md.scheduled_at AS day "
        "FROM vendor_order o JOIN booking b ON b.order_id = o.id JOIN market_date md ON md.id = b.market_date_id "
        f"WHERE o.id IN ({ids}) AND o.status = 'payment_pending' AND b.status IN {ACTIVE}) AS trading",
    ]


def _moved(old: str, new: str, differ: str) -> str:
    """An update of a booking that changes its order's trading days: it turns active or inactive, or moves to
    another order or date. (Confirming a pending booking changes none: no rebuild, no lock on its order.)"""
    return (
        f"({old}.status IN {ACTIVE}) <> ({new}.status IN {ACTIVE}) OR {old}.order_id {differ} {new}.order_id "
        f"OR {old}.market_date_id {differ} {new}.market_date_id"
    )


def rebuild(*, pg: bool, tables: tuple[str, ...] = TABLES) -> list[str]:
    """Every link and total (of the figures of `tables`) again from the rows: the migrations' backfill, and the
    bench's after its bulk load."""
    out = ["DELETE FROM org_total", "DELETE FROM unpaid_link"]
    out.append(_refresh("SELECT id FROM vendor_order WHERE status = 'payment_pending'", pg=pg)[1])
    for f in (f for f in FIGURES if f.table in tables):
        bucket = _bucket(f, "r", pg)
        out.append(
            f"INSERT INTO org_total (organization_id, name, bucket, value) SELECT r.organization_id, '{f.name}', "
            f"{bucket}, SUM({f.value.format(r='r')}) FROM {f.table} r WHERE {f.when.format(r='r')} "
            "GROUP BY 1, 3"
        )
    return out


# SQLite ------------------------------------------------------------------------------------------------


def _sqlite_add(f: Figure, r: str, sign: str) -> list[str]:
    when, bucket, org = f.when.format(r=r), _bucket(f, r, False), f"{r}.organization_id"
    key = f"organization_id = {org} AND name = '{f.name}' AND bucket = {bucket}"
    return [
        f"INSERT INTO org_total (organization_id, name, bucket, value) SELECT {org}, '{f.name}', {bucket}, 0 "
        f"WHERE {when} AND NOT EXISTS (SELECT 1 FROM org_total WHERE {key})",
        f"UPDATE org_total SET value = value {sign} ({f.value.format(r=r)}) WHERE {when} AND {key}",
    ]


def sqlite_triggers(tables: tuple[str, ...] = TABLES) -> list[str]:
    out = []
    for table in (t for t in TABLES if t in tables):
        figs = [f for f in FIGURES if f.table == table]
        ins = [s for f in figs for s in _sqlite_add(f, "new", "+")]
        dele = [s for f in figs for s in _sqlite_add(f, "old", "-")]
        out.append(f"CREATE TRIGGER {PREFIX}{table}_insert AFTER INSERT ON {table} BEGIN {'; '.join(ins)}; END")
        out.append(f"CREATE TRIGGER {PREFIX}{table}_delete AFTER DELETE ON {table} BEGIN {'; '.join(dele)}; END")
        if table != "unpaid_link":
            out.append(
                f"CREATE TRIGGER {PREFIX}{table}_update AFTER UPDATE OF {COLUMNS[table]} ON {table} "
                f"BEGIN {'; '.join(dele + ins)}; END"
            )

    def body(*statements: list[str]) -> str:
        return "; ".join(s for group in statements for s in group) + ";"

    out += [
        f"CREATE TRIGGER {PREFIX}link_booking_insert AFTER INSERT ON booking WHEN new.order_id IS NOT NULL "
        f"BEGIN {body(_refresh('new.order_id', pg=False))} END",
        f"CREATE TRIGGER {PREFIX}link_booking_update AFTER UPDATE OF status, order_id, market_date_id ON booking "
        f"WHEN {_moved('old', 'new', 'IS NOT')} BEGIN {body(_refresh('old.order_id, new.order_id', pg=False))} END",
        f"CREATE TRIGGER {PREFIX}link_booking_delete AFTER DELETE ON booking WHEN old.order_id IS NOT NULL "
        f"BEGIN {body(_refresh('old.order_id', pg=False))} END",
        f"CREATE TRIGGER {PREFIX}link_order_insert AFTER INSERT ON vendor_order WHEN new.status = 'payment_pending' "
        f"BEGIN {body(_refresh('new.id', pg=False))} END",
        f"CREATE TRIGGER {PREFIX}link_order_update AFTER UPDATE OF status ON vendor_order "
        "WHEN (old.status = 'payment_pending') <> (new.status = 'payment_pending') "
        f"BEGIN {body(_refresh('new.id', pg=False))} END",
        f"CREATE TRIGGER {PREFIX}link_order_delete AFTER DELETE ON vendor_order "
        "BEGIN DELETE FROM unpaid_link WHERE order_id = old.id; END",
        f"CREATE TRIGGER {PREFIX}link_market_date_update AFTER UPDATE OF scheduled_at ON market_date "
        f"WHEN old.scheduled_at IS NOT new.scheduled_at BEGIN {body(_refresh('SELECT order_id FROM booking WHERE market_date_id = new.id', pg=False))} END",
    ]
    return out


def sqlite_drop_triggers() -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {statement.split()[2]}" for statement in sqlite_triggers()]


# PostgreSQL --------------------------------------------------------------------------------------------

PG_ADD = """
CREATE FUNCTION org_total_add(org bigint, figure text, key text, delta bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    target bigint;
BEGIN
    IF delta IS NULL OR delta = 0 THEN
        RETURN;
    END IF;
    SELECT id INTO target FROM org_total
    WHERE organization_id = org AND name = figure AND bucket = key
    LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF FOUND THEN
        UPDATE org_total SET value = value + delta WHERE id = target;
    ELSE
        INSERT INTO org_total (organization_id, name, bucket, value) VALUES (org, figure, key, delta);
    END IF;
END $$
"""

_PG_REFRESH_BODY = "; ".join(_refresh("target", pg=True))
PG_REFRESH = f"""
CREATE FUNCTION org_total_refresh_links(target bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF target IS NULL THEN
        RETURN;
    END IF;
    -- One rebuild of an order's links at a time (the writers that change its bookings hold it already).
    PERFORM 1 FROM vendor_order WHERE id = target FOR UPDATE;
    {_PG_REFRESH_BODY};
END $$
"""


def _pg_adds(f: Figure, r: str, sign: str) -> str:
    return (
        f"IF {f.when.format(r=r)} THEN PERFORM org_total_add({r}.organization_id, '{f.name}', "
        f"{_bucket(f, r, True)}, {sign}({f.value.format(r=r)})); END IF;"
    )


def postgres_up(tables: tuple[str, ...] = TABLES) -> list[str]:
    out = [PG_ADD, PG_REFRESH]
    for table in (t for t in TABLES if t in tables):
        figs = [f for f in FIGURES if f.table == table]
        old = " ".join(_pg_adds(f, "OLD", "-") for f in figs)
        new = " ".join(_pg_adds(f, "NEW", "+") for f in figs)
        out.append(
            f"CREATE FUNCTION {PREFIX}{table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP <> 'INSERT' THEN {old} END IF; IF TG_OP <> 'DELETE' THEN {new} END IF; RETURN NULL; END $$"
        )
        events = "INSERT OR DELETE" if table == "unpaid_link" else f"INSERT OR DELETE OR UPDATE OF {COLUMNS[table]}"
        out.append(
            f"CREATE TRIGGER {PREFIX}{table} AFTER {events} ON {table} FOR EACH ROW EXECUTE FUNCTION {PREFIX}{table}()"
        )
    out += [
        f"CREATE FUNCTION {PREFIX}link_booking() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP <> 'INSERT' THEN PERFORM org_total_refresh_links(OLD.order_id); END IF; "
        "IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.order_id IS DISTINCT FROM OLD.order_id) THEN "
        "PERFORM org_total_refresh_links(NEW.order_id); END IF; RETURN NULL; END $$",
        f"CREATE TRIGGER {PREFIX}link_booking AFTER INSERT OR DELETE ON booking "
        f"FOR EACH ROW EXECUTE FUNCTION {PREFIX}link_booking()",
        f"CREATE TRIGGER {PREFIX}link_booking_update AFTER UPDATE OF status, order_id, market_date_id ON booking "
        f"FOR EACH ROW WHEN ({_moved('OLD', 'NEW', 'IS DISTINCT FROM')}) EXECUTE FUNCTION {PREFIX}link_booking()",
        f"CREATE FUNCTION {PREFIX}link_order() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP = 'DELETE' THEN DELETE FROM unpaid_link WHERE order_id = OLD.id; "
        "ELSIF TG_OP = 'INSERT' OR (OLD.status = 'payment_pending') <> (NEW.status = 'payment_pending') THEN "
        "PERFORM org_total_refresh_links(NEW.id); END IF; RETURN NULL; END $$",
        f"CREATE TRIGGER {PREFIX}link_order AFTER INSERT OR DELETE OR UPDATE OF status ON vendor_order "
        f"FOR EACH ROW EXECUTE FUNCTION {PREFIX}link_order()",
        f"CREATE FUNCTION {PREFIX}link_market_date() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "PERFORM org_total_refresh_links(order_id) FROM (SELECT DISTINCT order_id FROM booking "
        "WHERE market_date_id = NEW.id AND order_id IS NOT NULL) AS orders; RETURN NULL; END $$",
        f"CREATE TRIGGER {PREFIX}link_market_date AFTER UPDATE OF scheduled_at ON market_date "
        f"FOR EACH ROW WHEN (OLD.scheduled_at IS DISTINCT FROM NEW.scheduled_at) EXECUTE FUNCTION {PREFIX}link_market_date()",
    ]
    return out


def postgres_down(tables: tuple[str, ...] = TABLES) -> list[str]:
    counted = [t for t in TABLES if t in tables]
    out = [f"DROP TRIGGER {PREFIX}{table} ON {table}" for table in counted]
    out += [f"DROP FUNCTION {PREFIX}{table}()" for table in counted]
    out.append(f"DROP TRIGGER {PREFIX}link_booking_update ON booking")
    for name, table in (
        ("link_booking", "booking"),
        ("link_order", "vendor_order"),
        ("link_market_date", "market_date"),
    ):
        out += [f"DROP TRIGGER {PREFIX}{name} ON {table}", f"DROP FUNCTION {PREFIX}{name}()"]
    return out + [
        "DROP FUNCTION org_total_refresh_links(bigint)",
        "DROP FUNCTION org_total_add(bigint, text, text, bigint)",
    ]
