"""Idempotency keys: a repeated write with the same key returns the first result and changes nothing."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select

from market_mcp.auth import OrgContext
from market_mcp.db.tables import IdempotencyRecord
from market_mcp.errors import Conflict


def request_hash(tool: str, arguments: dict[str, Any]) -> str:
    material = {"tool": tool, "arguments": {k: v for k, v in arguments.items() if k != "idempotency_key"}}
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


async def replay(org: OrgContext, key: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
    """The stored result of an earlier call with this key, or None if the key is new."""
    found = (
        await org.session.execute(
            select(IdempotencyRecord).where(
                IdempotencyRecord.organization_id == org.organization_id, IdempotencyRecord.key == key
            )
        )
    ).scalar_one_or_none()
    if found is None:
        return None
    if found.tool != tool or found.request_hash != request_hash(tool, arguments):
        raise Conflict(
            f"idempotency_key {key!r} was already used for a different call ({found.tool}); "
            "use a new key for a new request."
        )
    return found.response


def remember(org: OrgContext, key: str, tool: str, arguments: dict[str, Any], response: dict[str, Any]) -> None:
    org.session.add(
        IdempotencyRecord(
            organization_id=org.organization_id,
            key=key,
            tool=tool,
            request_hash=request_hash(tool, arguments),
            response=response,
        )
    )
