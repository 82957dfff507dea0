"""The one choke point for organisation scoping.

Every read of a tenant-owned table goes through `scoped` (a select already filtered to
the caller's organisation) or `get_or_404` (one record by id). Another organisation's
record and a record that never existed are the same thing: 404 with the same words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Row, Select, and_, bindparam, func, or_, select
from sqlmodel import SQLModel

from market_mcp.auth import OrgContext
from market_mcp.db.functions import folded_like, vendor_text_candidates
from market_mcp.db.tables import Vendor
from market_mcp.errors import NotFound

M = TypeVar("M", bound=SQLModel)

_LABELS = {
    "market_date": "Market date",
    "vendor_order": "Order",
    "waitlist_entry": "Waitlist entry",
    "vendor_note": "Vendor note",
}


def label(model: type[SQLModel]) -> str:
    table = model.__tablename__  # type: ignore[attr-defined]
    return _LABELS.get(table, table.replace("_", " ").capitalize())


def scoped(org: OrgContext, model: type[M], *columns: Any) -> Select[Any]:
    """SELECT model (or the given columns) FROM model WHERE it belongs to the caller's organisation."""
    stmt = select(*columns) if columns else select(model)
    return stmt.where(model.organization_id == org.organization_id)  # type: ignore[attr-defined]


ORG = bindparam("org")  # a prepared read's organisation: `scoped_by_parameter` compares every row with it


def scoped_by_parameter(model: type[M], *columns: Any) -> Select[Any]:
    """`scoped`, for a statement built once: the organisation is the bind parameter `org` of each call."""
    return select(*columns).where(model.organization_id == ORG)  # type: ignore[attr-defined]


def columns_of(model: type[SQLModel], *left_out: str) -> list[Any]:
    """A table's columns, as a Core select lists them (rows as tuples, not ORM objects)."""
    return [column for column in model.__table__.c if column.key not in ("organization_id", *left_out)]  # type: ignore[attr-defined]


class Prepared:
    """A read built once: its statement, made on first use with bind parameters for what varies from call to
    call (the organisation is `org`), runs on the call's transaction as Core rows: no statement is built and
    no ORM object made per call, and the compiled SQL is reused from SQLAlchemy's cache."""

    __slots__ = ("_build", "_statement")

    def __init__(self, build: Callable[[], Select[Any]]) -> None:
        self._build = build
        self._statement: Select[Any] | None = None

    async def rows(self, org: OrgContext, **parameters: Any) -> Sequence[Row[Any]]:
        if self._statement is None:
            self._statement = self._build()
        return await read_rows(org, self._statement, {"org": org.organization_id, **parameters})


async def read_rows(org: OrgContext, stmt: Select[Any], parameters: dict[str, Any] | None = None) -> Sequence[Row[Any]]:
    """A select of columns run as Core on the call's connection: rows as tuples, no ORM objects made. Changes
    the call has made through the ORM and not yet flushed are flushed first, as the ORM's own reads do."""
    session = org.session
    if session.new or session.dirty or session.deleted:
        await session.flush()
    connection = await session.connection()
    return (await connection.execute(stmt, parameters)).all()


async def get_or_404(org: OrgContext, model: type[M], record_id: int, *, for_update: bool = False) -> M:
    stmt = scoped(org, model).where(model.id == record_id)  # type: ignore[attr-defined]
    if for_update:
        stmt = stmt.with_for_update()
    found = (await org.session.execute(stmt)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"{label(model)} {record_id} not found.")
    return found


async def count(org: OrgContext, stmt: Select[Any]) -> int:
    """Rows a (scoped) select would return, without fetching them."""
    total = await org.session.execute(select(func.count()).select_from(stmt.order_by(None).subquery()))
    return int(total.scalar_one())


def like_pattern(query: str) -> str:
    """A LIKE pattern that matches `query` literally anywhere (% and _ are escaped with \\), case-folded."""
    return "%" + re.sub(r"([\\%_])", r"\\\1", query.strip().casefold()) + "%"


def matches(query: str, *columns: Any) -> Any:
    """Any of the columns contains `query`, ignoring case (Unicode-aware on every backend)."""
    pattern = like_pattern(query)
    return or_(*(folded_like(column, pattern) for column in columns))


def vendors_matching(org: OrgContext, query: str, *columns: Any) -> Select[Any]:
    """The ids of the organisation's vendors with `query` in their name, contact or email (or in `columns`):
    records are then found by vendor_id through its indexes, not by matching every record's vendor."""
    columns = columns or (Vendor.business_name, Vendor.contact_name, Vendor.email)
    return scoped(org, Vendor, Vendor.id).where(vendor_matches(query, *columns))


def vendor_matches(query: str, *columns: Any) -> Any:
    """`matches` on the vendor's own text columns, through the vendor text index (migration 0010): the index
    narrows the vendors to those that may match, `matches` decides, so the answer is `matches`' exactly."""
    candidates = vendor_text_candidates(Vendor.id, query.strip().casefold(), tuple(c.key for c in columns))
    return and_(candidates, matches(query, *columns))
