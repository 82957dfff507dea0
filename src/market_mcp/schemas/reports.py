from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from market_mcp.schemas.common import Schema

ExportKind = Literal["payments", "orders", "bookings"]


class Figures(Schema):
    """Orders billed in the period, as the ledgers stand today (services.reports defines each figure):
    billed − paid − credited − written_off = outstanding."""

    billed_cents: int
    paid_cents: int
    refunded_cents: int
    credited_cents: int
    written_off_cents: int
    outstanding_cents: int


class MarketFigures(Figures):
    market_id: int
    market_name: str


class MonthFigures(Figures):
    month: str = Field(description="YYYY-MM of the day billed; 'earlier' for older orders.")


class Aged(Schema):
    """Outstanding by days past due: current (not yet past due), 1–30, 31–60, over 60."""

    current_cents: int
    days_1_30_cents: int
    days_31_60_cents: int
    over_60_cents: int


class Debtor(Aged):
    vendor_id: int
    business_name: str
    outstanding_cents: int
    orders: int = Field(description="Orders with something outstanding.")


class MethodFigures(Schema):
    method: str
    received_cents: int
    refunded_cents: int


class Received(Schema):
    """Money that moved in the period, by the day received (as list_payments with the same range)."""

    received_cents: int
    refunded_cents: int = Field(description="Given back, by a method or as credit.")
    moved_to_credit_cents: int = Field(description="Paid beyond what orders charge, moved to vendors' credit.")
    by_method: list[MethodFigures]


class MoneyReport(Schema):
    summary: str
    period: str
    currency: str
    market_id: int | None
    totals: Figures
    aged: Aged
    by_market: list[MarketFigures]
    by_month: list[MonthFigures]
    received: Received
    debtors: list[Debtor] = Field(description="The vendors owing most, largest first.")
    debtors_total: int = Field(description="Every vendor with something outstanding.")


class ExportOut(Schema):
    kind: ExportKind
    rows: int
    total_rows: int
    capped: bool
    uri: str = Field(description="Read it again (current data) with resources/read.")
    summary: str
    from_date: date | None
    to_date: date | None
    market_id: int | None
