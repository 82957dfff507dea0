"""Date ranges as a person asks for them: from_date and to_date, both inclusive, on the organisation's calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from market_mcp.auth import OrgContext
from market_mcp.errors import Invalid


def _checked(from_date: date | None, to_date: date | None, names: tuple[str, str]) -> None:
    if from_date is not None and to_date is not None and from_date > to_date:
        raise Invalid(f"{names[0]} {from_date} is after {names[1]} {to_date}; swap them, or give only one.")


def on_days(
    column: Any, from_date: date | None, to_date: date | None, *, names: tuple[str, str] = ("from_date", "to_date")
) -> list[Any]:
    """Filters keeping a local calendar-day column (a market date's scheduled_at) within the range."""
    _checked(from_date, to_date, names)
    return [
        *([column >= from_date] if from_date is not None else []),
        *([column <= to_date] if to_date is not None else []),
    ]


def start_of(org: OrgContext, day: date) -> datetime:
    """The UTC moment a local calendar day begins."""
    return datetime.combine(day, time(0), tzinfo=org.tz).astimezone(UTC)


def at_moments(
    org: OrgContext,
    column: Any,
    from_date: date | None,
    to_date: date | None,
    *,
    names: tuple[str, str] = ("from_date", "to_date"),
) -> list[Any]:
    """Filters keeping a UTC timestamp column (created_at, paid_at) within the local days of the range."""
    _checked(from_date, to_date, names)
    return [
        *([column >= start_of(org, from_date)] if from_date is not None else []),
        *([column < start_of(org, to_date + timedelta(days=1))] if to_date is not None else []),
    ]
