"""Idempotency keys: a repeated write with the same key returns the first result and changes nothing."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select, text

from market_mcp.auth import OrgContext
from market_mcp.db.tables import IdempotencyRecord
from market_mcp.errors import Conflict


def request_hash(tool: str, arguments: dict[str, Any]) -> str:
    material = {"tool": tool, "arguments": {k: v for k, v in arguments.items() if k != "idempotency_key"}}
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


async def replay(org: OrgContext, key: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
    """The stored result of an earlier call with this key, or None if the key is new.

    Retries of one call often arrive together (a client that timed out, then retried twice). On PostgreSQL
    each would see no record and run, and all but one would fail on the key's unique index with a 409 that
    leaves the caller not knowing whether it happened. So the key is locked first, for the transaction: a
    retry waits for the first call to commit, then reads its result (READ COMMITTED: each statement sees what
    committed before it). On SQLite a write transaction already holds the database's write lock.
    """
    if org.session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        digest = hashlib.sha256(f"{org.organization_id}:{key}".encode()).digest()
        await org.session.execute(
            text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": int.from_bytes(digest[:8], "big", signed=True)}
        )
    found = await _record(org, key)
    if found is None:
        return None
    if found.tool != tool or found.request_hash != request_hash(tool, arguments):
        raise Conflict(
            f"idempotency_key {key!r} was already used for a different call ({found.tool}); "
            "use a new key for a new request."
        )
    return found.response


async def _record(org: OrgContext, key: str) -> IdempotencyRecord | None:
    stmt = select(IdempotencyRecord).where(
        IdempotencyRecord.organization_id == org.organization_id, IdempotencyRecord.key == key
    )
    return (await org.session.execute(stmt)).scalar_one_or_none()


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


async def amend(org: OrgContext, key: str, response: dict[str, Any] | None) -> None:
    """What a call with this key finished as after its transaction (a payment link made then); None: it failed
    after all, so the key is forgotten and a retry with it runs again."""
    found = await _record(org, key)
    if found is None:
        return
    if response is None:
        await org.session.delete(found)
    else:
        found.response = response
        org.session.add(found)
