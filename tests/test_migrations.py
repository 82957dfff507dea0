"""Migrations: upgrade creates and keeps the schema, matches the models, and can be undone.

Each test migrates its own empty database (the `fresh` fixture), not the `db` fixture's migrated copy.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from collections.abc import Callable

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, select
from sqlmodel import SQLModel

import market_mcp.db.tables  # noqa: F401  (every table on SQLModel.metadata)
from market_mcp.db import Database
from market_mcp.db.engine import BUSY_TIMEOUT_MS
from market_mcp.db.migrate import (
    MIGRATIONS,
    alembic_config,
    analyze,
    current_revision,
    head_revision,
    modelled,
    upgrade,
)
from market_mcp.db.tables import Market, Organization
from tests.conftest import make_tenant, on_postgres, sqlite_only

# SQLite cannot reflect indexes on an expression, so autogenerate skips (and warns about) these two;
# test_case_insensitive_email_indexes_exist checks them in sqlite_master instead.
EXPRESSION_INDEXES = {
    "ux_app_user_org_email",
    "ux_vendor_org_email",
    "ix_vendor_org_sort",
    "ix_booking_org_space",
    "ux_document_kind_org_name",
}


async def tables(db: Database) -> list[str]:
    async with db.engine.connect() as conn:
        return sorted(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


# On SQLite, the vendor text index (migration 0010) is an FTS5 table and the tables FTS5 keeps its index in.
TEXT_INDEX_TABLES = (
    [] if on_postgres() else [f"vendor_search{p}" for p in ("", "_config", "_content", "_data", "_docsize", "_idx")]
)
MODEL_TABLES = sorted([*SQLModel.metadata.tables, "alembic_version", *TEXT_INDEX_TABLES])


async def test_upgrading_an_empty_database_creates_the_schema(fresh: Database) -> None:
    assert await upgrade(fresh) == (None, head_revision())
    assert await tables(fresh) == MODEL_TABLES
    assert await current_revision(fresh) == head_revision()


async def test_upgrading_twice_is_safe_and_the_second_time_changes_nothing(fresh: Database) -> None:
    await upgrade(fresh)
    assert await upgrade(fresh) == (head_revision(), head_revision())
    assert await tables(fresh) == MODEL_TABLES


async def test_data_survives_an_upgrade(fresh: Database) -> None:
    await upgrade(fresh)
    async with fresh.transaction(write=True) as session:
        org = Organization(name="Riverside Markets", slug="riverside")
        session.add(org)
        await session.flush()
        session.add(Market(organization_id=org.id, name="Riverside Farmers", slug="farmers"))  # type: ignore[arg-type]
    await upgrade(fresh)
    async with fresh.transaction() as session:
        orgs = (await session.execute(select(Organization.slug, Organization.name))).all()
        markets = (await session.execute(select(Market.slug, Market.name, Market.capacity))).all()
    assert [tuple(o) for o in orgs] == [("riverside", "Riverside Markets")]
    assert [tuple(m) for m in markets] == [("farmers", "Riverside Farmers", 40)]


async def test_the_migrated_schema_matches_the_models(fresh: Database) -> None:
    await upgrade(fresh)

    def differences(sync: Connection) -> list[object]:
        context = MigrationContext.configure(
            sync, opts={"compare_type": True, "compare_server_default": True, "include_name": modelled}
        )
        return compare_metadata(context, SQLModel.metadata)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with fresh.engine.connect() as conn:
            found = await conn.run_sync(differences)
    assert found == []
    # The only thing left uncompared is what SQLite cannot reflect: the two expression indexes.
    unexplained = [str(w.message) for w in caught if not any(name in str(w.message) for name in EXPRESSION_INDEXES)]
    assert unexplained == []


async def test_case_insensitive_email_indexes_exist(fresh: Database) -> None:
    await upgrade(fresh)
    catalog = (
        "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
        if fresh.is_sqlite
        else "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
    )
    async with fresh.engine.connect() as conn:
        rows = (await conn.exec_driver_sql(catalog)).all()
    found = {  # PostgreSQL spells the column lower((email)::text)
        name: re.sub(r"\s+", " ", sql).replace("lower((email)::text)", "lower(email)")
        for name, sql in rows
        if name in EXPRESSION_INDEXES
    }
    assert sorted(found) == sorted(EXPRESSION_INDEXES)
    assert "CREATE UNIQUE INDEX" in found["ux_app_user_org_email"]
    assert "(organization_id, lower(email))" in found["ux_app_user_org_email"]
    assert "CREATE UNIQUE INDEX" in found["ux_vendor_org_email"]
    assert "(organization_id, lower(email))" in found["ux_vendor_org_email"]


def test_head_revision_is_the_newest_migration_file_and_alembics_head() -> None:
    files = sorted((MIGRATIONS / "versions").glob("[0-9]*.py"))
    assert files, "no migration files"
    newest = re.search(r'^revision: str = "([^"]+)"', files[-1].read_text(), re.MULTILINE)
    assert newest is not None
    assert head_revision() == newest.group(1)
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_the_migrations_form_one_line_of_history() -> None:
    # Every file revises the one before it: a second head would leave `upgrade head` ambiguous.
    revisions = []
    for path in sorted((MIGRATIONS / "versions").glob("[0-9]*.py")):
        text = path.read_text()
        revision = re.search(r'^revision: str = "([^"]+)"', text, re.MULTILINE)
        down = re.search(r"^down_revision: [^=]+= (None|\"([^\"]+)\")", text, re.MULTILINE)
        assert revision is not None and down is not None, path.name
        revisions.append((revision.group(1), down.group(2)))
    assert [down for _, down in revisions] == [None, *[rev for rev, _ in revisions[:-1]]]


@sqlite_only
async def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(fresh: Database) -> None:
    await upgrade(fresh)
    async with fresh.engine.connect() as conn:
        pragmas = {p: (await conn.exec_driver_sql(f"PRAGMA {p}")).scalar() for p in ("journal_mode", "foreign_keys")}
        busy = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1}
    assert busy == BUSY_TIMEOUT_MS
    assert BUSY_TIMEOUT_MS > 0


async def migrate(db: Database, move: Callable[[Config, str], None], revision: str) -> None:
    """Alembic's upgrade or downgrade to `revision`, on a connection of `db` (as migrate.upgrade runs it)."""

    def run(sync: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = sync
        move(config, revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(run)


async def test_downgrading_to_base_and_upgrading_to_head_again_works(fresh: Database) -> None:
    await upgrade(fresh)

    await migrate(fresh, command.downgrade, "base")
    assert await tables(fresh) == ["alembic_version"]
    assert await current_revision(fresh) is None

    await migrate(fresh, command.upgrade, "head")
    assert await tables(fresh) == MODEL_TABLES
    assert await current_revision(fresh) == head_revision()
    assert await upgrade(fresh) == (head_revision(), head_revision())


@sqlite_only
async def test_opening_a_current_store_skips_alembic_and_refreshes_stale_planner_statistics(fresh: Database) -> None:
    async def analysed() -> dict[str, int]:
        async with fresh.engine.connect() as conn:
            rows = (await conn.exec_driver_sql("SELECT tbl, stat FROM sqlite_stat1")).all()
        return {table: int(stat.split()[0]) for table, stat in rows}

    await upgrade(fresh)  # a migration ran: statistics are taken whatever the size
    alice = await make_tenant(fresh, "alice")
    assert not await analyze(fresh)  # a few rows more: the figures stand
    async with fresh.engine.begin() as conn:  # the audit log grows past a thousand entries
        await conn.exec_driver_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) "
            "INSERT INTO audit_entry (organization_id, token_id, token_name, tool, outcome, records, arguments, "
            f"created_at) SELECT {alice.org_id}, NULL, 't', 'get_vendor', 'ok', '[]', '{{}}', '2026-01-01' FROM n"
        )
    await upgrade(fresh)  # opening the store again notices, and analyses
    assert (await analysed())["audit_entry"] == 1500
    assert not await analyze(fresh)

    # A new process opening the (now current) store never imports Alembic: start-up is faster without it.
    probe = (
        "import sys, anyio\n"
        "from market_mcp.db import Database\n"
        "from market_mcp.db.migrate import upgrade\n"
        f"print(anyio.run(upgrade, Database({fresh.url.render_as_string(hide_password=False)!r})), "
        "'alembic' in sys.modules)\n"
    )
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert ran.stdout.split() == [f"('{head_revision()}',", f"'{head_revision()}')", "False"]


async def old_organisation(db: Database, slug: str) -> int:
    """An organisation in a store at an older revision: its columns then, not the model's now (0014 added some)."""
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql(
            "INSERT INTO organization (name, slug, status, currency, timezone, created_at) "
            f"VALUES ('{slug.title()} Markets', '{slug}', 'active', 'AUD', 'Australia/Melbourne', '2026-11-01 09:00:00')"
        )
        return int((await conn.exec_driver_sql(f"SELECT id FROM organization WHERE slug = '{slug}'")).scalar_one())


async def old_vendor(db: Database, org: int, business_name: str, email: str) -> None:
    """A vendor row as every revision since the first has it (later columns have defaults): raw SQL, since the
    model grows columns an old revision's table does not have."""
    name = business_name.replace("'", "''")
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql(
            "INSERT INTO vendor (organization_id, business_name, contact_name, email, phone, category, trusted, "
            f"created_at, updated_at) VALUES ({org}, '{name}', '', '{email}', '', '', false, '2026-11-01 09:00:00', "
            "'2026-11-01 09:00:00')"
        )


async def old_market(db: Database, org: int, name: str, slug: str) -> None:
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql(
            "INSERT INTO market (organization_id, name, slug, region, market_type, status, booking_enabled, "
            "waitlist_auto_notify, default_fee_cents, capacity, location, description, reference, metadata, "
            f"created_at, updated_at) VALUES ({org}, '{name}', '{slug}', '', '', 'published', true, false, "
            "0, 40, '', '', '', '{}', '2026-11-01 09:00:00', '2026-11-01 09:00:00')"
        )


async def test_the_vendor_text_index_takes_in_the_vendors_already_there(fresh: Database) -> None:
    await migrate(fresh, command.upgrade, "0009")
    org = await old_organisation(fresh, "alice")
    await old_vendor(fresh, org, "Straße Bakery", "Rosa@Example.com")
    await upgrade(fresh)
    async with fresh.engine.connect() as conn:
        if fresh.is_sqlite:  # the vendor's text, case-folded, under its id
            found = (await conn.exec_driver_sql("SELECT rowid, business_name, email FROM vendor_search")).all()
            assert [tuple(row) for row in found] == [(1, "strasse bakery", "rosa@example.com")]
        else:
            names = "SELECT indexname FROM pg_indexes WHERE tablename = 'vendor' AND indexname LIKE '%trgm'"
            found = (await conn.exec_driver_sql(names)).scalars().all()
            assert sorted(found) == [  # one per column (0010), and one over all four joined (0011)
                f"ix_vendor_{c}_trgm" for c in ("business_name", "category", "contact_name", "email", "text")
            ]


async def test_orders_paid_before_the_payments_ledger_get_one_payment_each_with_totals_unchanged(
    fresh: Database,
) -> None:
    await migrate(fresh, command.upgrade, "0012")
    org = await old_organisation(fresh, "alice")
    columns = (
        "organization_id, vendor_id, market_id, status, total_cents, credit_applied_cents, amount_due_cents, "
        "paid_at, payment_method, payment_reference, created_at, updated_at"
    )
    await old_vendor(fresh, org, "Rosa's Bakery", "rosa@example.com")
    await old_market(fresh, org, "Riverside", "riverside")
    async with fresh.engine.begin() as conn:
        run = conn.exec_driver_sql
        for values in (
            "'complete', 9000, 1000, 0, '2026-11-20 23:30:00', 'bank_transfer', 'EFT-1'",  # paid $80 after credit
            "'payment_pending', 9000, 0, 4500, '2026-11-21 01:00:00', 'card', 'CH-2'",  # paid, then a date restored
            "'payment_pending', 4500, 0, 4500, NULL, NULL, NULL",  # never paid
            "'complete', 4500, 4500, 0, NULL, NULL, NULL",  # paid wholly by credit
        ):
            await run(
                f"INSERT INTO vendor_order ({columns}) VALUES ({org}, 1, 1, {values}, "
                "'2026-11-01 09:00:00', '2026-11-01 09:00:00')"
            )
    await upgrade(fresh)
    async with fresh.engine.connect() as conn:
        orders = (
            await conn.exec_driver_sql(
                "SELECT id, total_cents, credit_applied_cents, amount_due_cents, amount_paid_cents, amount_refunded_cents "
                "FROM vendor_order ORDER BY id"
            )
        ).all()
        payments = (
            await conn.exec_driver_sql(
                "SELECT order_id, vendor_id, kind, amount_cents, method, reference, received_on FROM payment ORDER BY id"
            )
        ).all()
    assert [tuple(o) for o in orders] == [
        (1, 9000, 1000, 0, 8000, 0),
        (2, 9000, 0, 4500, 4500, 0),
        (3, 4500, 0, 4500, 0, 0),
        (4, 4500, 4500, 0, 0, 0),
    ]
    assert [(*p[:6], str(p[6])) for p in payments] == [
        (1, 1, "payment", 8000, "bank_transfer", "EFT-1", "2026-11-21"),  # 10:30 on the 21st in Melbourne
        (2, 1, "payment", 4500, "card", "CH-2", "2026-11-21"),
    ]


async def test_orders_approved_and_payments_received_before_invoices_are_numbered_in_the_order_they_happened(
    fresh: Database,
) -> None:
    await migrate(fresh, command.upgrade, "0015")  # the one before invoices
    orgs = [await old_organisation(fresh, slug) for slug in ("alice", "bob")]
    for org in orgs:
        await old_vendor(fresh, org, "Rosa's Bakery", f"rosa{org}@example.com")
        await old_market(fresh, org, "Riverside", "riverside")
    async with fresh.engine.begin() as conn:
        run = conn.exec_driver_sql
        columns = "organization_id, vendor_id, market_id, status, total_cents, credit_applied_cents, amount_due_cents, approved_at, created_at, updated_at"
        for org, vendor, approved_at in (
            (orgs[0], 1, "'2026-11-03 09:00:00'"),  # approved second
            (orgs[0], 1, "NULL"),  # still pending
            (orgs[1], 2, "'2026-11-01 09:00:00'"),
            (orgs[0], 1, "'2026-11-02 09:00:00'"),  # approved first
        ):
            await run(
                f"INSERT INTO vendor_order ({columns}) VALUES ({org}, {vendor}, {vendor}, 'complete', 4500, 0, 0, {approved_at}, '2026-11-01', '2026-11-01')"
            )
        for order, kind in ((1, "payment"), (4, "payment"), (1, "refund"), (3, "payment")):
            org = orgs[1] if order == 3 else orgs[0]
            await run(
                f"INSERT INTO payment (organization_id, order_id, vendor_id, kind, amount_cents, method, received_on, created_at) VALUES ({org}, {order}, {1 if org == orgs[0] else 2}, '{kind}', 4500, 'cash', '2026-11-04', '2026-11-04')"
            )
    await upgrade(fresh)
    async with fresh.engine.connect() as conn:
        invoices = (await conn.exec_driver_sql("SELECT id, invoice_number FROM vendor_order ORDER BY id")).all()
        receipts = (await conn.exec_driver_sql("SELECT id, receipt_number FROM payment ORDER BY id")).all()
        counters = (
            await conn.exec_driver_sql("SELECT invoices_issued, receipts_issued FROM organization ORDER BY id")
        ).all()
    assert [tuple(row) for row in invoices] == [(1, 2), (2, None), (3, 1), (4, 1)]
    assert [tuple(row) for row in receipts] == [(1, 1), (2, 2), (3, None), (4, 1)]
    assert [tuple(row) for row in counters] == [(2, 2), (1, 1)]
