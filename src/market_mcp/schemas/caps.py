"""Category caps: at most N vendors of a category at a market (and per date), and mix goals ("at least N produce")."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from market_mcp.schemas.common import Schema, Stripped
from market_mcp.schemas.market_dates import CategoryCount
from market_mcp.schemas.text import OneLine

CategoryName = Annotated[str, Stripped, Field(min_length=1, max_length=50), OneLine]  # any case
VendorCount = Annotated[int, Field(ge=0, le=10_000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CapIn(_In):
    category: CategoryName
    max_vendors: VendorCount


class MinimumIn(_In):
    category: CategoryName
    at_least: Annotated[int, Field(ge=1, le=10_000)]


class CategoryCap(Schema):
    category: str
    max_vendors: int


class CategoryMinimum(Schema):
    category: str
    at_least: int


class DateMix(Schema):
    market_date_id: int
    scheduled_at: date
    cap_overrides: list[CategoryCap] = Field(description="This date's caps, in place of the market's.")
    category_mix: list[CategoryCount]


class CategoryCaps(Schema):
    """What set_category_caps leaves: the market's caps and goals, the date's overrides, and the mix they make."""

    market_id: int
    market_name: str
    market_date_id: int | None = Field(description="The date whose caps were set (null: the market's).")
    caps: list[CategoryCap] = Field(description="The market's caps.")
    minimums: list[CategoryMinimum] = Field(description="The market's mix goals.")
    dates: list[DateMix] = Field(description="The mix on the next (up to 5) dates, or on the date set.")
    notes: list[str] = Field(description="What the caps do not change: vendors already over a cap, unknown categories.")
