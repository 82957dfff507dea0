"""The site: a market's plan of stalls and features, its priced stall types and add-ons, who holds which stall."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from market_mcp.schemas.common import Money, Schema, Stripped, when_set
from market_mcp.schemas.text import OneLine

Attribute = Literal["power", "water", "covered", "corner", "food_safe"]
Facing = Literal["N", "E", "S", "W"]
FeatureKind = Literal["entrance", "exit", "toilet", "path", "power", "water", "info", "parking", "other"]
Metres = Annotated[float, Field(gt=0, le=500)]
Position = Annotated[float, Field(ge=0, le=5000)]
Code = Annotated[str, Stripped, Field(min_length=1, max_length=20), OneLine]
RowLabel = Annotated[str, Stripped, Field(min_length=1, max_length=10, pattern=r"^[A-Za-z0-9]+$")]
OptionName = Annotated[str, Stripped, Field(min_length=1, max_length=50), OneLine]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RowIn(_In):
    row: RowLabel = Field(description='Letter: its stalls are "A1".."A12".')
    stalls: int = Field(ge=1, le=200)
    width: Metres = 3
    depth: Metres = 3
    attributes: list[Attribute] = Field(default=[], description="Every stall in the row has these.")
    stall_type: OptionName | None = None
    facing: Facing | None = Field(None, description="Side customers come from; default: rows face in pairs.")
    x: Position | None = Field(None, description="Default: where it was, or below the plan.")
    y: Position | None = None
    first_number: int = Field(1, ge=0, le=9999)


class StallIn(_In):
    code: Code
    attributes: list[Attribute] | None = None
    stall_type: OptionName | None = None
    x: Position | None = None
    y: Position | None = None
    facing: Facing | None = None


class FeatureIn(_In):
    kind: FeatureKind
    label: Annotated[str, Stripped, Field(max_length=100), OneLine] = ""
    x: Position
    y: Position
    width: Metres = 2
    depth: Metres = 2


class StallTypeIn(_In):
    name: OptionName
    fee: Money


class AddOnIn(_In):
    name: OptionName = Field(description="Named after an attribute (power, water…): needs a stall with it.")
    fee: Money


class StallType(Schema):
    name: str
    fee_cents: int


class AddOn(Schema):
    name: str
    fee_cents: int


class StallOut(Schema):
    code: str
    row: str
    stall_type: str | None
    x: float
    y: float
    width: float
    depth: float
    facing: Facing
    attributes: list[str]


class FeatureOut(Schema):
    kind: str
    label: str
    x: float
    y: float
    width: float
    depth: float


class SitePlan(Schema):
    market_id: int
    market: str
    summary: str = Field(description="The plan in a sentence.")
    currency: str
    stall_types: list[StallType] = Field(description="Priced per date; the first is the default.")
    add_ons: list[AddOn]
    separate_categories: bool = Field(description="auto_assign_stalls keeps one category out of neighbouring stalls.")
    stalls: list[StallOut]
    features: list[FeatureOut]


class Move(Schema):
    booking_id: int
    vendor: str
    from_stall: str | None
    to_stall: str | None


class StallAssigned(Schema):
    booking_id: int
    market_date_id: int
    stall: str | None
    moves: list[Move] = Field(description="Every booking whose stall changed (two for a swap).")
    warnings: list[str] = Field(description="Rules the placement breaks: tell the organiser.")


class Placement(Schema):
    booking_id: int
    vendor: str
    stall: str
    why: str


class NotPlaced(Schema):
    booking_id: int
    vendor: str
    reason: str


class AutoAssigned(Schema):
    market_date_id: int
    dry_run: bool
    note: str
    placed: list[Placement] | None = when_set("Stalls given.")
    would_place: list[Placement] | None = when_set("Preview: the stalls it would give.")
    not_placed: list[NotPlaced]


class MapStall(Schema):
    code: str
    booking_id: int
    vendor_id: int
    vendor: str
    category: str
    unpaid: bool


class MapUnassigned(Schema):
    booking_id: int
    vendor_id: int
    vendor: str
    category: str
    unpaid: bool
    needs: list[str]


class MapCounts(Schema):
    stalls: int
    occupied: int
    empty: int
    unassigned: int
    unpaid: int


class MarketMap(Schema):
    market_date_id: int
    market_id: int
    market: str
    date: date
    summary: str
    stalls: list[MapStall] = Field(description="Occupied stalls.")
    empty_stalls: list[str]
    unassigned: list[MapUnassigned] = Field(description="Active bookings without a stall.")
    counts: MapCounts
    sheet_pdf: str = Field(description="Resource: the printable day sheet (map and roster with phones), A4 PDF.")
    svg: str | None = Field(None, description="The drawn map, for apps (not in the text).")
