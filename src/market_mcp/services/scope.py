"""The one choke point for organisation scoping.

Every read of a tenant-owned table goes through `scoped` (a select already filtered to
the caller's organisation) or `get_or_404` (one record by id). Another organisation's
record and a record that never existed are the same thing: 404 with the same words.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from sqlalchemy import Select, and_, func, or_, select
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
