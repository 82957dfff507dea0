from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from market_mcp.schemas.common import Row


class AuditEntryOut(Row):
    COMPACT = ("id", "created_at", "tool", "token_name", "outcome", "records", "record_count")

    id: int
    created_at: datetime
    tool: str
    token_name: str = Field(description="The name of the token that made the call.")
    outcome: str = Field(description='"ok", or the code the call was refused with (e.g. "409").')
    records: list[str] = Field(description='Records the call changed, as "kind:id" (the first 20).')
    record_count: int = Field(description="How many records it changed.")
    arguments: dict[str, Any] = Field(description="The call's arguments, without contact details.")
